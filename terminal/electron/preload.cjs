// @ts-check
'use strict';
// A sandboxed preload is a CommonJS script run without Node's module loader, hence plain
// JavaScript, type-checked through terminal/electron/tsconfig.json. It gives the page two
// things and nothing else: which shell it runs in, and a way to close the counter (kiosk mode
// has no window controls).

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the sandbox's require is the only loader here
const { contextBridge, ipcRenderer } = require('electron');

const VERSION_SWITCH = '--showroom-shell-version=';
const version =
  process.argv.find((arg) => arg.startsWith(VERSION_SWITCH))?.slice(VERSION_SWITCH.length) ?? '';

contextBridge.exposeInMainWorld(
  'showroomLoyalty',
  Object.freeze({
    shell: 'electron',
    version,
    /** Closes the counter; the main process accepts it only from the core's own page. */
    quit: () => {
      ipcRenderer.send('shell:quit');
    },
  }),
);

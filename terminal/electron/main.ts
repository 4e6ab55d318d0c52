import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  app,
  BrowserWindow,
  Menu,
  ipcMain,
  session,
  type MenuItemConstructorOptions,
  type WebContents,
} from 'electron';
import pkg from '../../package.json' with { type: 'json' };
import { CoreSupervisor, type CoreDown } from './core-process.ts';
import { serveArguments, type CoreReady } from './counter-contract.ts';
import {
  CONFIG_FILE,
  PRODUCT_NAME,
  ShellConfigError,
  autostartCommand,
  autostartDesktopEntry,
  isAllowedNavigation,
  isAllowedPermission,
  linuxAutostartPath,
  pageUrl,
  parseConfigFile,
  parseShellArgs,
  renderStatusPage,
  resolveSettings,
  type ShellSettings,
} from './shell-logic.ts';

/*
 * The Electron main process: one window on the core's local UI, nothing more.
 *
 * Electron runs this file as TypeScript, as Node ≥ 22.18 runs the rest of the project: the
 * Node inside Electron (24 since Electron 40) strips types by default. The core is not imported
 * here. It runs as a child process of Electron's own binary in Node mode (ELECTRON_RUN_AS_NODE),
 * exactly like `node terminal/main.ts serve`, so the core needs no Electron build of its own,
 * its native modules (Node-API: better-sqlite3, serialport) load the same way as under Node, and
 * a crash in them leaves the window up to say so. This needs Electron's RunAsNode fuse, which is
 * on unless someone turns it off.
 */

const APP_ROOT = path.resolve(import.meta.dirname, '..', '..');
const CORE_ENTRY = path.join(APP_ROOT, 'terminal', 'main.ts');
const PRELOAD = path.join(import.meta.dirname, 'preload.cjs');
const USER_DATA = path.join(app.getPath('appData'), PRODUCT_NAME);
const LOG_ROTATE_BYTES = 5 * 1024 * 1024;

// The same folder in development and installed, and before the single-instance lock uses it.
app.setName(PRODUCT_NAME);
app.setPath('userData', USER_DATA);

if (app.requestSingleInstanceLock()) {
  runShell();
} else {
  // Another counter window is open on this account; it is brought forward instead.
  app.quit();
}

function runShell(): void {
  const log = openLog(path.join(USER_DATA, 'logs'));
  let settings: ShellSettings | undefined;
  let configProblem: string | undefined;
  try {
    settings = loadSettings();
  } catch (error) {
    if (!(error instanceof ShellConfigError)) throw error;
    configProblem = error.message;
    log('shell:config', configProblem);
  }

  let window: BrowserWindow | undefined;
  let core: CoreReady | undefined;
  let supervisor: CoreSupervisor | undefined;
  let isStopping = false;
  let isCoreStopped = false;

  const show = (url: string): void => {
    window?.loadURL(url).catch((error: unknown) => {
      // A newer page replacing this one aborts its load; that is not worth a line.
      if ((error as { code?: string }).code !== 'ERR_ABORTED') {
        log('shell:load', `could not open the page: ${(error as Error).message}`);
      }
    });
  };
  const showStatus = (title: string, message: string, details?: string[]): void => {
    show(pageUrl(renderStatusPage({ title, message, ...(details ? { details } : {}) })));
  };

  app.on('second-instance', () => {
    if (!window) return;
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
  });

  app.on('web-contents-created', (_event, contents) => {
    guardContents(contents, () => core?.origin, log);
  });

  app.on('window-all-closed', () => {
    app.quit();
  });

  app.on('before-quit', (event) => {
    if (isCoreStopped || !supervisor) return;
    event.preventDefault();
    if (isStopping) return;
    isStopping = true;
    log('shell:quit', 'stopping the core');
    void supervisor.stop().finally(() => {
      isCoreStopped = true;
      app.quit();
    });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      app.quit();
    });
  }

  ipcMain.on('shell:quit', (event) => {
    if (isAllowedNavigation(event.senderFrame?.url ?? '', core?.origin)) app.quit();
  });

  app
    .whenReady()
    .then(() => {
      const ses = session.defaultSession;
      ses.setPermissionRequestHandler((_contents, permission, callback, details) => {
        callback(isAllowedPermission(permission, details.requestingUrl, core?.origin));
      });
      ses.setPermissionCheckHandler((_contents, permission, requestingOrigin) =>
        isAllowedPermission(permission, requestingOrigin, core?.origin),
      );

      const devTools = settings ? settings.devTools || !app.isPackaged : !app.isPackaged;
      Menu.setApplicationMenu(settings?.kiosk ? null : Menu.buildFromTemplate(menu(devTools)));
      window = createWindow(settings, devTools);
      window.on('closed', () => {
        window = undefined;
      });
      window.webContents.on('render-process-gone', (_event, details) => {
        log('shell:renderer', `the page stopped (${details.reason}); opening it again`);
        if (core) show(core.uiUrl);
      });

      if (!settings) {
        showStatus('The counter cannot start', 'A setting needs fixing first:', [
          configProblem ?? '',
        ]);
        return;
      }
      showStatus('Starting the counter…', 'Opening the member cache and the link to central.');
      try {
        applyAutostart(settings.autostart, log);
      } catch (error) {
        log('shell:autostart', `could not change autostart: ${(error as Error).message}`);
      }

      supervisor = startCore(settings, log);
      supervisor.on('ready', (ready) => {
        core = ready;
        log('shell:core-ready', `core serving at ${ready.url}`);
        show(ready.uiUrl);
      });
      supervisor.on('down', (down: CoreDown) => {
        core = undefined;
        log('shell:core-down', `${down.reason}; restarting in ${down.retryInMs} ms`);
        showStatus(
          'The counter has stopped working',
          `Its engine stopped (${down.reason}). It starts again by itself in ${Math.ceil(down.retryInMs / 1000)} s. If this keeps happening, call your IT support and show them the lines below.`,
          down.output,
        );
      });
      supervisor.start();
    })
    .catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      log('shell:fatal', message);
      if (window) showStatus('The counter cannot start', message);
      else app.exit(1);
    });
}

function loadSettings(): ShellSettings {
  // Packaged, argv is [exe, ...]; through `electron main.ts` it is [electron, main.ts, ...].
  const argv = process.argv.slice(process.defaultApp ? 2 : 1);
  const configPath = path.join(USER_DATA, CONFIG_FILE);
  let text: string | undefined;
  try {
    text = fs.readFileSync(configPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return resolveSettings({
    args: parseShellArgs(argv),
    env: process.env,
    file: parseConfigFile(text, configPath),
    userDataDir: USER_DATA,
  });
}

function createWindow(settings: ShellSettings | undefined, devTools: boolean): BrowserWindow {
  const win = new BrowserWindow({
    title: PRODUCT_NAME,
    width: 1280,
    height: 800,
    minWidth: 800,
    minHeight: 600,
    show: false,
    backgroundColor: '#ffffff',
    autoHideMenuBar: true,
    kiosk: settings?.kiosk ?? false,
    fullscreen: settings?.fullscreen ?? false,
    webPreferences: {
      preload: PRELOAD,
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true,
      webviewTag: false,
      spellcheck: false,
      devTools,
      additionalArguments: [`--showroom-shell-version=${pkg.version}`],
    },
  });
  win.once('ready-to-show', () => {
    win.show();
  });
  return win;
}

/** Every page, frame and popup attempt goes through here: only the core's origin opens. */
function guardContents(
  contents: WebContents,
  coreOrigin: () => string | undefined,
  log: Log,
): void {
  contents.setWindowOpenHandler(({ url }) => {
    log('shell:blocked', `window.open refused: ${new URL(url).origin}`);
    return { action: 'deny' };
  });
  contents.on('will-frame-navigate', (event) => {
    if (isAllowedNavigation(event.url, coreOrigin())) return;
    event.preventDefault();
    log('shell:blocked', `navigation refused: ${safeOrigin(event.url)}`);
  });
  contents.on('will-redirect', (event) => {
    if (isAllowedNavigation(event.url, coreOrigin())) return;
    event.preventDefault();
    log('shell:blocked', `redirect refused: ${safeOrigin(event.url)}`);
  });
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
  });
}

/** Where a refused URL pointed, without its path or query (which may carry data). */
function safeOrigin(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.origin === 'null' ? parsed.protocol : parsed.origin;
  } catch {
    return '(not a URL)';
  }
}

/** A small menu (hidden until Alt): reload, full screen, zoom, quit. None in kiosk mode. */
function menu(devTools: boolean): MenuItemConstructorOptions[] {
  const items: MenuItemConstructorOptions[] = [
    { role: 'reload' },
    { role: 'togglefullscreen' },
    { type: 'separator' },
    { role: 'resetZoom' },
    { role: 'zoomIn' },
    { role: 'zoomOut' },
  ];
  if (devTools) items.push({ type: 'separator' }, { role: 'toggleDevTools' });
  items.push({ type: 'separator' }, { role: 'quit' });
  return [{ label: 'Counter', submenu: items }];
}

function startCore(settings: ShellSettings, log: Log): CoreSupervisor {
  fs.mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  const supervisor = new CoreSupervisor({
    command: {
      command: process.execPath,
      args: [CORE_ENTRY, ...serveArguments(settings.core)],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', TERMINAL_DATA_DIR: settings.dataDir },
      cwd: settings.dataDir,
    },
  });
  supervisor.on('output', (_stream, line) => {
    log.raw(line);
  });
  return supervisor;
}

/** Windows and macOS keep a login item; a Linux desktop reads ~/.config/autostart. */
function applyAutostart(isEnabled: boolean, log: Log): void {
  if (!app.isPackaged) {
    log('shell:autostart', 'autostart is applied only to an installed counter');
    return;
  }
  if (process.platform !== 'linux') {
    app.setLoginItemSettings({ openAtLogin: isEnabled });
    return;
  }
  const file = linuxAutostartPath(process.env, os.homedir());
  if (!isEnabled) {
    fs.rmSync(file, { force: true });
    return;
  }
  const entry = autostartDesktopEntry([autostartCommand(process.execPath, process.env)]);
  let current: string | undefined;
  try {
    current = fs.readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === entry) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, entry);
  log('shell:autostart', `wrote ${file}`);
}

interface Log {
  (event: string, message: string): void;
  /** A line the core wrote (already a JSON log line, or plain text). */
  raw(line: string): void;
}

/** The shell's and the core's lines in one file, `counter.log`, and the one before it. */
function openLog(dir: string): Log {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'counter.log');
  let size = 0;
  try {
    size = fs.statSync(file).size;
  } catch {
    // No log yet.
  }
  let stream = fs.createWriteStream(file, { flags: 'a' });
  stream.on('error', () => undefined);
  const write = (line: string): void => {
    if (size > LOG_ROTATE_BYTES) {
      stream.end();
      try {
        fs.renameSync(file, `${file}.1`);
      } catch {
        // Keep writing to the same file rather than lose lines.
      }
      stream = fs.createWriteStream(file, { flags: 'a' });
      stream.on('error', () => undefined);
      size = 0;
    }
    size += Buffer.byteLength(line) + 1;
    stream.write(`${line}\n`);
  };
  const log = (event: string, message: string): void => {
    write(JSON.stringify({ time: new Date().toISOString(), event, msg: message }));
  };
  log.raw = write;
  return log;
}

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ShellConfigError,
  autostartCommand,
  autostartDesktopEntry,
  escapeHtml,
  isAllowedNavigation,
  isAllowedPermission,
  linuxAutostartPath,
  pageUrl,
  parseConfigFile,
  parseShellArgs,
  quoteDesktopExecArg,
  renderStatusPage,
  resolveSettings,
  restartDelayMs,
} from './shell-logic.ts';

const USER_DATA = path.resolve('/home/cashier/.config/Showroom Loyalty Counter');
const CORE = 'http://127.0.0.1:7420';

describe('parseShellArgs', () => {
  it('reads the shell switches and ignores Chromium switches and positionals', () => {
    expect(
      parseShellArgs([
        '--no-sandbox',
        '--kiosk',
        '--data-dir',
        '/srv/counter',
        '--enable-features=Foo',
        'stray.txt',
      ]),
    ).toEqual({ kiosk: true, dataDir: '/srv/counter' });
    expect(parseShellArgs(['--fullscreen', '--dev-tools'])).toEqual({
      fullscreen: true,
      devTools: true,
    });
    expect(parseShellArgs([])).toEqual({});
  });
});

describe('parseConfigFile', () => {
  it('treats a missing or empty file as no settings', () => {
    expect(parseConfigFile(undefined, 'counter.json')).toEqual({});
    expect(parseConfigFile('  \n', 'counter.json')).toEqual({});
  });

  it('reads known keys', () => {
    const text = JSON.stringify({
      autostart: true,
      kiosk: true,
      printer: 'tcp://10.0.0.5:9100',
      printerWidth: 32,
      scanners: ['serial:COM3'],
    });
    expect(parseConfigFile(text, 'counter.json')).toEqual({
      autostart: true,
      kiosk: true,
      printer: 'tcp://10.0.0.5:9100',
      printerWidth: 32,
      scanners: ['serial:COM3'],
    });
  });

  it('refuses a misspelt key, a wrong type and broken JSON, naming the file and key', () => {
    expect(() => parseConfigFile('{"autoStart": true}', '/c/counter.json')).toThrow(
      ShellConfigError,
    );
    expect(() => parseConfigFile('{"autoStart": true}', '/c/counter.json')).toThrow(
      /\/c\/counter\.json[\s\S]*autoStart/,
    );
    expect(() => parseConfigFile('{"port": "7420"}', 'counter.json')).toThrow(/port/);
    expect(() => parseConfigFile('{"printerWidth": 40}', 'counter.json')).toThrow(/printerWidth/);
    expect(() => parseConfigFile('{kiosk: true}', 'counter.json')).toThrow(/not valid JSON/);
  });
});

describe('resolveSettings', () => {
  it('defaults to a window, no autostart, and a data folder inside user data', () => {
    expect(resolveSettings({ args: {}, env: {}, file: {}, userDataDir: USER_DATA })).toEqual({
      autostart: false,
      kiosk: false,
      fullscreen: false,
      devTools: false,
      dataDir: path.join(USER_DATA, 'terminal'),
      core: {},
    });
  });

  it('prefers the command line, then the environment, then the file', () => {
    const file = {
      autostart: false,
      kiosk: false,
      dataDir: '/from/file',
      port: 7500,
      printer: 'tcp://printer:9100',
      printerType: 'star' as const,
    };
    const fromEnv = resolveSettings({
      args: {},
      env: { SHOWROOM_AUTOSTART: 'yes', SHOWROOM_KIOSK: '1', TERMINAL_DATA_DIR: '/from/env' },
      file,
      userDataDir: USER_DATA,
    });
    expect(fromEnv).toMatchObject({
      autostart: true,
      kiosk: true,
      dataDir: path.resolve('/from/env'),
      core: { port: 7500, printer: 'tcp://printer:9100', printerType: 'star' },
    });
    const fromArgs = resolveSettings({
      args: { kiosk: true, dataDir: '/from/args' },
      env: { SHOWROOM_KIOSK: '0', TERMINAL_DATA_DIR: '/from/env' },
      file,
      userDataDir: USER_DATA,
    });
    expect(fromArgs).toMatchObject({ kiosk: true, dataDir: path.resolve('/from/args') });
    const fromFile = resolveSettings({
      args: {},
      env: { SHOWROOM_AUTOSTART: '', TERMINAL_DATA_DIR: ' ' },
      file: { autostart: true, dataDir: 'cache' },
      userDataDir: USER_DATA,
    });
    expect(fromFile).toMatchObject({ autostart: true, dataDir: path.join(USER_DATA, 'cache') });
  });

  it('refuses an environment flag it cannot read', () => {
    expect(() =>
      resolveSettings({
        args: {},
        env: { SHOWROOM_AUTOSTART: 'sometimes' },
        file: {},
        userDataDir: USER_DATA,
      }),
    ).toThrow(/SHOWROOM_AUTOSTART="sometimes"/);
  });
});

describe('restartDelayMs', () => {
  it('doubles from one second and stops at thirty', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 50].map(restartDelayMs)).toEqual([
      0, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
  });
});

describe('isAllowedNavigation', () => {
  it("allows only the core's own origin", () => {
    expect(isAllowedNavigation(`${CORE}/`, CORE)).toBe(true);
    expect(isAllowedNavigation(`${CORE}/members?q=1#token=abc`, CORE)).toBe(true);
    expect(isAllowedNavigation('http://127.0.0.1:7421/', CORE)).toBe(false);
    expect(isAllowedNavigation('http://localhost:7420/', CORE)).toBe(false);
    expect(isAllowedNavigation('https://127.0.0.1:7420/', CORE)).toBe(false);
    expect(isAllowedNavigation('https://evil.example/', CORE)).toBe(false);
    expect(isAllowedNavigation('file:///etc/passwd', CORE)).toBe(false);
    expect(isAllowedNavigation('javascript:alert(1)', CORE)).toBe(false);
    expect(isAllowedNavigation('not a url', CORE)).toBe(false);
    expect(isAllowedNavigation('http://127.0.0.1:7420@evil.example/', CORE)).toBe(false);
  });

  it('allows nothing while the core is not serving', () => {
    expect(isAllowedNavigation(`${CORE}/`, undefined)).toBe(false);
  });
});

describe('isAllowedPermission', () => {
  it('grants clipboard writes and full screen to the core, and nothing else', () => {
    expect(isAllowedPermission('clipboard-sanitized-write', `${CORE}/`, CORE)).toBe(true);
    expect(isAllowedPermission('fullscreen', CORE, CORE)).toBe(true);
    expect(isAllowedPermission('media', `${CORE}/`, CORE)).toBe(false);
    expect(isAllowedPermission('geolocation', `${CORE}/`, CORE)).toBe(false);
    expect(isAllowedPermission('clipboard-sanitized-write', 'https://evil.example/', CORE)).toBe(
      false,
    );
    expect(isAllowedPermission('fullscreen', `${CORE}/`, undefined)).toBe(false);
  });
});

describe('Linux autostart', () => {
  it('lives in the XDG config folder', () => {
    expect(linuxAutostartPath({}, '/home/cashier')).toBe(
      path.join('/home/cashier', '.config', 'autostart', 'showroom-loyalty-counter.desktop'),
    );
    expect(linuxAutostartPath({ XDG_CONFIG_HOME: '/cfg' }, '/home/cashier')).toBe(
      path.join('/cfg', 'autostart', 'showroom-loyalty-counter.desktop'),
    );
  });

  it('starts an AppImage through its image file', () => {
    expect(autostartCommand('/tmp/.mount_x/counter', { APPIMAGE: '/opt/Counter.AppImage' })).toBe(
      '/opt/Counter.AppImage',
    );
    expect(autostartCommand('/opt/Counter/counter', {})).toBe('/opt/Counter/counter');
  });

  it('quotes Exec arguments as the Desktop Entry Specification says', () => {
    expect(quoteDesktopExecArg('/usr/bin/counter')).toBe('/usr/bin/counter');
    expect(quoteDesktopExecArg('/opt/Showroom Loyalty Counter/counter')).toBe(
      '"/opt/Showroom Loyalty Counter/counter"',
    );
    // Inside quotes: \$ for a dollar, then string escaping doubles the backslash.
    expect(quoteDesktopExecArg('/opt/a$b')).toBe('"/opt/a\\\\$b"');
    expect(quoteDesktopExecArg('/opt/a\\b')).toBe('"/opt/a\\\\\\\\b"');
    expect(quoteDesktopExecArg('/opt/a"b')).toBe('"/opt/a\\\\"b"');
    expect(quoteDesktopExecArg('/opt/100%')).toBe('/opt/100%%');
    expect(quoteDesktopExecArg('')).toBe('""');
  });

  it('writes a desktop entry that starts the counter', () => {
    const entry = autostartDesktopEntry(['/opt/Showroom Loyalty Counter/counter']);
    expect(entry.split('\n')).toEqual([
      '[Desktop Entry]',
      'Type=Application',
      'Name=Showroom Loyalty Counter',
      'Comment=Loyalty points at the counter',
      'Exec="/opt/Showroom Loyalty Counter/counter"',
      'Terminal=false',
      'X-GNOME-Autostart-enabled=true',
      '',
    ]);
  });
});

describe('status page', () => {
  it('escapes what the core wrote and carries no script', () => {
    const html = renderStatusPage({
      title: 'The counter has stopped working',
      message: 'Its engine stopped (exit code 1).',
      details: ['<script>alert("x")</script>', "Error: can't open cache & co"],
    });
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('can&#39;t open cache &amp; co');
    expect(html).toContain("default-src 'none'");
    expect(escapeHtml('a<b>&"\'')).toBe('a&lt;b&gt;&amp;&quot;&#39;');
  });

  it('becomes a data URL that decodes back to the page', () => {
    const html = renderStatusPage({ title: 'Starting…', message: '100% ready?' });
    const url = pageUrl(html);
    expect(url.startsWith('data:text/html;charset=utf-8,')).toBe(true);
    expect(decodeURIComponent(url.slice('data:text/html;charset=utf-8,'.length))).toBe(html);
    expect(html).not.toContain('<pre>');
  });
});

describe('installer/counter/counter.example.json', () => {
  it('is a config file the shell accepts', () => {
    const file = path.resolve(import.meta.dirname, '../../installer/counter/counter.example.json');
    const config = parseConfigFile(fs.readFileSync(file, 'utf8'), file);
    expect(config.autostart).toBe(true);
    expect(config.scanners?.length).toBeGreaterThan(0);
  });
});

import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { ServeOptions } from './counter-contract.ts';

/**
 * The Electron shell's decisions as plain functions (no Electron import), so that they are
 * tested under Node: settings, which URLs the window may open, restart pauses, the Linux
 * autostart entry and the page shown while the core is not serving.
 */

export const PRODUCT_NAME = 'Showroom Loyalty Counter';
export const CONFIG_FILE = 'counter.json';
export const AUTOSTART_FILE = 'showroom-loyalty-counter.desktop';

/** `counter.json` in the shell's user-data folder; every key optional, unknown keys refused. */
export const ShellConfigFile = z.strictObject({
  /** Start the counter when this user signs in to the machine. */
  autostart: z.boolean().optional(),
  /** Full screen without window controls or menu; leave with the UI's quit or Alt+F4. */
  kiosk: z.boolean().optional(),
  fullscreen: z.boolean().optional(),
  /** The core's data folder (cache and credentials); default `<user data>/terminal`. */
  dataDir: z.string().min(1).optional(),
  /** The counter's local port (the core's default 7420; 0 for any free port). */
  port: z.int().min(0).max(65535).optional(),
  /** `tcp://host:9100`, a device path, or `serial:/dev/ttyUSB0?baud=9600`. */
  printer: z.string().min(1).optional(),
  printerType: z.enum(['epson', 'star']).optional(),
  /** Characters per line: 48 on 80 mm paper, 32 on 58 mm. */
  printerWidth: z.union([z.literal(48), z.literal(32)]).optional(),
  /** `serial:/dev/ttyUSB0?baud=9600` (`serial:COM3` on Windows), `hid`, or `hid:VID:PID`. */
  scanners: z.array(z.string().min(1)).optional(),
  devTools: z.boolean().optional(),
});
export type ShellConfigFile = z.infer<typeof ShellConfigFile>;

/** What the shell runs with, after command line, environment and config file are merged. */
export interface ShellSettings {
  autostart: boolean;
  kiosk: boolean;
  fullscreen: boolean;
  devTools: boolean;
  dataDir: string;
  core: ServeOptions;
}

/** A setting that cannot be used; its message names the file or variable and the value. */
export class ShellConfigError extends Error {}

export interface ShellArgs {
  kiosk?: boolean;
  fullscreen?: boolean;
  devTools?: boolean;
  dataDir?: string;
}

/**
 * Reads the shell's own switches. Anything else (Chromium switches, a file passed by the
 * desktop) is ignored rather than refused, because the shell cannot control all of its argv.
 */
export function parseShellArgs(argv: readonly string[]): ShellArgs {
  const { values } = parseArgs({
    args: [...argv],
    strict: false,
    allowPositionals: true,
    options: {
      kiosk: { type: 'boolean' },
      fullscreen: { type: 'boolean' },
      'dev-tools': { type: 'boolean' },
      'data-dir': { type: 'string' },
    },
  });
  const args: ShellArgs = {};
  if (values.kiosk === true) args.kiosk = true;
  if (values.fullscreen === true) args.fullscreen = true;
  if (values['dev-tools'] === true) args.devTools = true;
  if (typeof values['data-dir'] === 'string' && values['data-dir'] !== '') {
    args.dataDir = values['data-dir'];
  }
  return args;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['0', 'false', 'no', 'off']);

function envFlag(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (TRUE_WORDS.has(raw)) return true;
  if (FALSE_WORDS.has(raw)) return false;
  throw new ShellConfigError(`${name}=${JSON.stringify(env[name])}: use 1 or 0.`);
}

/** Parses `counter.json`; `undefined` text means the file does not exist. */
export function parseConfigFile(text: string | undefined, file: string): ShellConfigFile {
  if (text === undefined || text.trim() === '') return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ShellConfigError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = ShellConfigFile.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `  ${issue.path.join('.') || '(file)'}: ${issue.message}`,
    );
    throw new ShellConfigError(
      `${file} has settings the counter cannot use:\n${problems.join('\n')}`,
    );
  }
  return parsed.data;
}

/**
 * Merges the sources, strongest first: command line, environment (`SHOWROOM_AUTOSTART`,
 * `SHOWROOM_KIOSK`, `TERMINAL_DATA_DIR`), `counter.json`, defaults.
 */
export function resolveSettings(input: {
  args: ShellArgs;
  env: NodeJS.ProcessEnv;
  file: ShellConfigFile;
  userDataDir: string;
}): ShellSettings {
  const { args, env, file } = input;
  const dataDir = args.dataDir ?? nonEmpty(env.TERMINAL_DATA_DIR) ?? file.dataDir;
  const core: ServeOptions = {};
  if (file.port !== undefined) core.port = file.port;
  if (file.printer !== undefined) core.printer = file.printer;
  if (file.printerType !== undefined) core.printerType = file.printerType;
  if (file.printerWidth !== undefined) core.printerWidth = file.printerWidth;
  if (file.scanners !== undefined) core.scanners = file.scanners;
  return {
    autostart: envFlag(env, 'SHOWROOM_AUTOSTART') ?? file.autostart ?? false,
    kiosk: args.kiosk ?? envFlag(env, 'SHOWROOM_KIOSK') ?? file.kiosk ?? false,
    fullscreen: args.fullscreen ?? file.fullscreen ?? false,
    devTools: args.devTools ?? file.devTools ?? false,
    dataDir: path.resolve(input.userDataDir, dataDir ?? 'terminal'),
    core,
  };
}

/** Pause before starting the core again after its `failures`-th failure in a row: 1 s … 30 s. */
export function restartDelayMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(30_000, 1000 * 2 ** Math.min(failures - 1, 5));
}

/** The window may only show the core's own origin; everything else is refused. */
export function isAllowedNavigation(url: string, coreOrigin: string | undefined): boolean {
  if (coreOrigin === undefined) return false;
  try {
    const target = new URL(url);
    return target.protocol === 'http:' && target.origin === coreOrigin;
  } catch {
    return false;
  }
}

const ALLOWED_PERMISSIONS = new Set(['clipboard-sanitized-write', 'fullscreen']);

/** Web permissions the UI may have: copying text and going full screen, from the core only. */
export function isAllowedPermission(
  permission: string,
  requestingUrl: string,
  coreOrigin: string | undefined,
): boolean {
  return ALLOWED_PERMISSIONS.has(permission) && isAllowedNavigation(requestingUrl, coreOrigin);
}

/** Where a freedesktop session looks for programs to start at sign-in. */
export function linuxAutostartPath(env: NodeJS.ProcessEnv, homeDir: string): string {
  const configHome = nonEmpty(env.XDG_CONFIG_HOME) ?? path.join(homeDir, '.config');
  return path.join(configHome, 'autostart', AUTOSTART_FILE);
}

/**
 * The program to start at sign-in: an AppImage must be started through its image file
 * (`$APPIMAGE`), since `execPath` lies in a mount that is gone after it quits.
 */
export function autostartCommand(execPath: string, env: NodeJS.ProcessEnv): string {
  return nonEmpty(env.APPIMAGE) ?? execPath;
}

/**
 * One argument of a desktop entry's `Exec` key: quoted when needed, with the escapes of the
 * Desktop Entry Specification (inside quotes `"`, `` ` ``, `$` and `\` take a backslash; then the
 * whole value is a string, whose backslashes double again; `%` is written `%%`).
 */
export function quoteDesktopExecArg(arg: string): string {
  const percent = arg.replaceAll('%', '%%');
  if (!/[\s"'\\><~|&;$*?#()`]/.test(percent) && percent !== '') return percent;
  const quoted = `"${percent.replace(/["`$\\]/g, (c) => `\\${c}`)}"`;
  return quoted.replaceAll('\\', '\\\\');
}

/** The XDG autostart entry that starts the counter at sign-in. */
export function autostartDesktopEntry(command: readonly string[]): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    `Name=${PRODUCT_NAME}`,
    'Comment=Loyalty points at the counter',
    `Exec=${command.map(quoteDesktopExecArg).join(' ')}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/**
 * A plain page for the window while the core is starting or down: no script, no remote
 * resources (its own CSP says so), and the last lines of the core's output for whoever helps.
 */
export function renderStatusPage(page: {
  title: string;
  message: string;
  details?: readonly string[];
}): string {
  const details =
    page.details && page.details.length > 0
      ? `<pre>${escapeHtml(page.details.join('\n'))}</pre>`
      : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(page.title)}</title>
<style>
body { font: 18px/1.5 system-ui, sans-serif; margin: 3rem; color: #1b1b1b; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
pre { font-size: 13px; background: #f4f4f4; padding: 1rem; overflow: auto; max-height: 50vh; white-space: pre-wrap; }
</style>
</head>
<body>
<h1>${escapeHtml(page.title)}</h1>
<p>${escapeHtml(page.message)}</p>
${details}
</body>
</html>
`;
}

/** A `data:` URL of a page, for `loadURL`. */
export function pageUrl(html: string): string {
  return `data:text/html;charset=utf-8,${encodeURIComponent(html)}`;
}

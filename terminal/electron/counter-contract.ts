import { z } from 'zod';

/**
 * Where the Electron shell meets the terminal core. The shell does not load the core into its
 * own process: it runs the core's command line as a child process, with Electron's own Node
 * (`ELECTRON_RUN_AS_NODE=1`), exactly as a developer runs it headless:
 *
 *     node terminal/main.ts serve [--port N] [--printer ADDR] [--printer-type epson|star]
 *                                 [--printer-width 48|32] [--scanner SPEC]...
 *
 * with `TERMINAL_DATA_DIR` set (the core also reads COUNTER_PORT, PRINTER, SCANNERS, … from the
 * environment it inherits). What `serve` promises the shell:
 *
 * 1. Once its local server accepts requests it writes one line to stdout, a JSON object with
 *    `"event":"counter:ready"`, `url` (`http://127.0.0.1:PORT/`) and `uiUrl` (`url` plus
 *    `#token=…`). Other fields are ignored. Every other stdout or stderr line is a log line.
 * 2. It stops cleanly (server closed, SQLite cache closed) on SIGTERM or SIGINT, and should
 *    also when its stdin ends: Windows has no SIGTERM, so there the shell closes the core's
 *    stdin and, after a grace period, ends the process.
 * 3. An exit the shell did not ask for, whatever its code, is a failure: the shell shows the
 *    last lines of output, where the core says why (not paired, port in use, …), and starts it
 *    again after a pause.
 */

/** What the shell may pass to `serve`; absent means the core's own default. */
export interface ServeOptions {
  port?: number;
  printer?: string;
  printerType?: 'epson' | 'star';
  printerWidth?: 48 | 32;
  scanners?: string[];
}

export const READY_EVENT = 'counter:ready';

const ReadyLine = z.object({
  event: z.literal(READY_EVENT),
  url: z.string(),
  uiUrl: z.string(),
});

/** The core's announced addresses, checked to be a loopback HTTP origin. */
export interface CoreReady {
  url: string;
  uiUrl: string;
  origin: string;
}

export type ReadyLineResult =
  { kind: 'ready'; ready: CoreReady } | { kind: 'refused'; reason: string } | { kind: 'other' };

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Reads one line of the core's stdout. A ready line whose addresses are not on this machine or
 * disagree with each other is refused: the window only ever opens the core's own loopback origin.
 */
export function parseReadyLine(line: string): ReadyLineResult {
  if (!line.includes(READY_EVENT)) return { kind: 'other' };
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch {
    return { kind: 'other' };
  }
  const parsed = ReadyLine.safeParse(json);
  if (!parsed.success) return { kind: 'other' };
  let url: URL;
  let uiUrl: URL;
  try {
    url = new URL(parsed.data.url);
    uiUrl = new URL(parsed.data.uiUrl);
  } catch {
    return { kind: 'refused', reason: 'the core announced an address that is not a URL' };
  }
  if (url.protocol !== 'http:' || !LOOPBACK_HOSTS.has(url.hostname)) {
    return {
      kind: 'refused',
      reason: `the core announced ${url.origin}, which is not a loopback http address`,
    };
  }
  if (uiUrl.origin !== url.origin) {
    return { kind: 'refused', reason: 'the core announced a UI address on another origin' };
  }
  return {
    kind: 'ready',
    ready: { url: url.href, uiUrl: uiUrl.href, origin: url.origin },
  };
}

/** The arguments of `terminal/main.ts` that start the counter with these options. */
export function serveArguments(options: ServeOptions): string[] {
  // The shell closes the core's stdin to stop it (all a Windows process can be sent).
  const args = ['serve', '--stop-on-stdin-end'];
  if (options.port !== undefined) args.push('--port', String(options.port));
  if (options.printer !== undefined) args.push('--printer', options.printer);
  if (options.printerType !== undefined) args.push('--printer-type', options.printerType);
  if (options.printerWidth !== undefined)
    args.push('--printer-width', String(options.printerWidth));
  for (const scanner of options.scanners ?? []) args.push('--scanner', scanner);
  return args;
}

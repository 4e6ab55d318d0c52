import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { TerminalCore, type TerminalCoreOptions } from '../core.ts';
import { createCounterApp } from './app.ts';
import { Counter } from './counter.ts';
import { CounterDevices, type DeviceConfig } from './devices.ts';
import { StaffSessions } from './sessions.ts';

export const LOCAL_TOKEN_FILE = 'local-token';

/** The default port of the counter's local server; 0 picks a free one. */
export const DEFAULT_COUNTER_PORT = 7420;

/**
 * The terminal's local token: made once, kept beside its credentials with owner-only access.
 * Whoever can read it may use the counter's API (the UI, the billing software on this machine).
 */
export function loadOrCreateLocalToken(dataDir: string): string {
  const file = path.join(dataDir, LOCAL_TOKEN_FILE);
  if (fs.existsSync(file)) {
    const token = fs.readFileSync(file, 'utf8').trim();
    if (/^[\w-]{32,}$/.test(token)) return token;
    throw new Error(`${file} does not hold a local token; delete it to make a new one.`);
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  fs.writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
  return token;
}

export interface StartCounterOptions extends DeviceConfig {
  dataDir: string;
  /** Default 7420; 0 for any free port. */
  port?: number;
  /** Only loopback: the API is for this machine. */
  host?: '127.0.0.1';
  core?: TerminalCoreOptions['sync'];
  log?: (error: unknown) => void;
  uiDir?: string;
}

/** A running counter: its core, its devices and its local server. */
export interface CounterServerHandle {
  /** http://127.0.0.1:PORT/ */
  url: string;
  /** The UI's address with the token in the fragment (never sent to the server or logged). */
  uiUrl: string;
  port: number;
  token: string;
  core: TerminalCore;
  counter: Counter;
  close(): Promise<void>;
}

/** Starts a paired terminal's core, devices and local server on 127.0.0.1. */
export async function startCounter(options: StartCounterOptions): Promise<CounterServerHandle> {
  const token = loadOrCreateLocalToken(options.dataDir);
  const core = new TerminalCore({
    dataDir: options.dataDir,
    ...(options.core ? { sync: options.core } : {}),
  });
  const devices = new CounterDevices(options);
  const counter = new Counter(core, devices);
  const sessions = new StaffSessions();
  // A PIN changed or a staff member removed at central ends their session here.
  core.on('rules', () => {
    const allowed = new Set(core.staff().map((s) => `${s.id}:${s.role}`));
    sessions.retain((s) => allowed.has(`${s.id}:${s.role}`));
  });
  let port = 0;
  const app = createCounterApp({
    counter,
    token,
    port: () => port,
    sessions,
    ...(options.uiDir ? { uiDir: options.uiDir } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  const host = options.host ?? '127.0.0.1';
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(options.port ?? DEFAULT_COUNTER_PORT, host);
    s.once('listening', () => {
      resolve(s);
    });
    s.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `Port ${options.port ?? DEFAULT_COUNTER_PORT} is in use: another counter is running here, or set COUNTER_PORT.`,
            )
          : error,
      );
    });
  });
  port = (server.address() as AddressInfo).port;
  core.start();
  const url = `http://127.0.0.1:${port}/`;
  return {
    url,
    uiUrl: `${url}#token=${token}`,
    port,
    token,
    core,
    counter,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      await devices.close();
      await core.stop();
    },
  };
}

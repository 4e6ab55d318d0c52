import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { freePort } from '../../bench/support.ts';
import { openDb, type Db } from '../../central/db/connect.ts';
import { STATE_COLUMNS, toState } from '../../central/db/sync-store.ts';
import type { MemberState } from '../../shared/protocol/sync.ts';
import type { TerminalCore } from '../../terminal/core.ts';

/** The repository root, where `node central/main.ts` runs. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Every child this module started and that may still run; `killAllChildren` ends them. */
const children = new Set<ChildProcess>();

/** SIGKILLs every child started here that is still running (for afterAll, even after a failure). */
export async function killAllChildren(): Promise<void> {
  await Promise.all([...children].map((child) => killChild(child)));
  children.clear();
}

/** SIGKILLs one child and waits until it has exited (at most 5 s). */
export async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  child.kill('SIGKILL');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
}

/** The environment for a child: PATH and HOME, nothing of the test runner's own settings. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...env,
  };
}

/** The last `limit` characters of a stream, for error messages. */
function tail(limit = 8_000): { add(chunk: string): void; text(): string } {
  let text = '';
  return {
    add(chunk) {
      text = (text + chunk).slice(-limit);
    },
    text: () => text,
  };
}

/** Central as its own OS process on a port chosen by the test, so a restart comes back at the same URL. */
export interface CentralProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** What the process printed so far (stdout and stderr, last few KB). */
  output(): string;
  /** SIGKILL: no shutdown, no flush; connections drop as in a power cut. */
  kill(): Promise<void>;
}

/**
 * Starts `node central/main.ts serve` on 127.0.0.1:`port` and resolves when it listens.
 * `env` must carry DATABASE_URL (or DATA_DIR) and DEMO_SEED as the test wants them. A port
 * still taken (a socket of the killed process lingering, or another program's connection
 * that happened to get it) is tried again for up to 3 s.
 */
export async function spawnCentral(
  port: number,
  env: Record<string, string>,
  startTimeoutMs = 30_000,
): Promise<CentralProcess> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await spawnCentralOnce(port, env, startTimeoutMs);
    } catch (error) {
      if (!(error as Error).message.includes('EADDRINUSE') || attempt >= 10) throw error;
      await sleep(300);
    }
  }
}

/** Starts central on a port no one listens on now: a free port, another if that one is taken. */
export async function spawnCentralOnFreePort(env: Record<string, string>): Promise<CentralProcess> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await spawnCentralOnce(await freePort(), env);
    } catch (error) {
      if (!(error as Error).message.includes('EADDRINUSE') || attempt >= 3) throw error;
    }
  }
}

async function spawnCentralOnce(
  port: number,
  env: Record<string, string>,
  startTimeoutMs = 30_000,
): Promise<CentralProcess> {
  const dataDir = env.DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sl-central-'));
  const child = spawn(process.execPath, ['central/main.ts', 'serve'], {
    cwd: ROOT,
    env: childEnv({
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      LOG_REQUESTS: 'false',
      ...env,
      DATA_DIR: dataDir,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => {
    if (!env.DATA_DIR) fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const out = tail();
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    out.add(d);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`central did not start within ${startTimeoutMs} ms:\n${out.text()}`));
    }, startTimeoutMs);
    const onData = (d: string) => {
      out.add(d);
      if (out.text().includes('is running at')) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`central exited (${code ?? signal ?? '?'}) while starting:\n${out.text()}`));
    };
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
  child.stdout.removeAllListeners('data');
  child.stdout.on('data', (d: string) => {
    out.add(d);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    output: () => out.text(),
    kill: () => killChild(child),
  };
}

/** Runs `node central/main.ts ...args` to its end (e.g. `verify`), bounded in time. */
export function runCentralCli(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['central/main.ts', ...args], {
    cwd: ROOT,
    env: childEnv({ LOG_LEVEL: 'warn', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`central ${args.join(' ')} ran over ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A child that speaks in lines on stdout (test/support/terminal-driver.ts). */
export interface LineChild {
  child: ChildProcess;
  /** Complete lines printed so far, in order. */
  lines: string[];
  stderr(): string;
  /** Resolves with the first line (from `from` on) that matches, or fails after `timeoutMs`. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number, from?: number): Promise<string>;
  /** Resolves once the process has exited and its stdout is read to the end. */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): Promise<void>;
}

/** Starts `node <script> ...args` in the repository and collects its stdout line by line. */
export function spawnLineChild(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): LineChild {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: ROOT,
    env: childEnv(env),
    // stdin stays open: the child exits when it reads end-of-file (the test process died).
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  const lines: string[] = [];
  const err = tail();
  let partial = '';
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of waiters) w();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err.add(d);
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      children.delete(child);
      for (const w of waiters) w();
      resolve({ code, signal });
    });
  });
  const waitForLine: LineChild['waitForLine'] = (match, timeoutMs, from = 0) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = lines.slice(from).find(match);
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          done();
          reject(
            new Error(
              `${script} exited (${child.exitCode ?? child.signalCode ?? '?'}) before the line:\n${err.text()}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no such line from ${script} within ${timeoutMs} ms:\n${err.text()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return {
    child,
    lines,
    stderr: () => err.text(),
    waitForLine,
    closed,
    kill: () => killChild(child),
  };
}

/** Signs in over HTTP and returns the bearer token. */
export async function login(url: string, username: string, password: string): Promise<string> {
  const response = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (response.status !== 200)
    throw new Error(`login ${username}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}

/** The demo chain's admin (central/demo/seed.ts). */
export const DEMO_ADMIN = { username: 'admin', password: 'demo-admin-2026' } as const;

/** A direct connection to a central database, beside the central processes. */
export function openCentralDb(databaseUrl: string): Db {
  return openDb({ databaseUrl, dataDir: os.tmpdir(), poolMax: 4 });
}

/** Every member's replicated state in central's database, in id order. */
export async function dbStates(knex: Knex): Promise<MemberState[]> {
  const rows: Parameters<typeof toState>[0][] = await knex('members')
    .orderBy('id')
    .select(STATE_COLUMNS);
  return rows.map(toState);
}

/** Central's newest change number, read from its database. */
export async function dbHead(knex: Knex): Promise<number> {
  const row: { head: number } | undefined = await knex('change_seq').where('id', 1).first('head');
  return row?.head ?? 0;
}

/**
 * Waits until the terminal's cache equals central's members, its cursor equals central's head
 * and its outbox holds nothing queued; the error says how far it got.
 */
export async function waitConvergedDb(
  core: TerminalCore,
  knex: Knex,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const [want, head] = await Promise.all([dbStates(knex), dbHead(knex)]);
    const have = core.store.allMembers();
    const counts = core.store.outboxCounts();
    last = `link ${core.status().link}, cursor ${core.store.cursor} head ${head}, ${have.length}/${want.length} members, ${counts.queued} queued, ${counts.refused} refused`;
    if (
      counts.queued === 0 &&
      core.store.cursor === head &&
      JSON.stringify(have) === JSON.stringify(want)
    )
      return;
    if (Date.now() > deadline)
      throw new Error(
        `terminal ${core.credentials.terminalId} did not converge within ${timeoutMs} ms: ${last}`,
      );
    await sleep(50);
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

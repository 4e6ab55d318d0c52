import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export const execFileAsync = promisify(execFile);
export const ROOT = path.resolve(import.meta.dirname, '..');
export { createPgDatabase } from '../test/support/postgres.ts';

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => {
        resolve(port);
      });
    });
    server.on('error', reject);
  });
}

/** An environment for a child process, without the variables given as undefined. */
export function withoutUndefined(env: Record<string, string | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) kept[name] = value;
  return kept;
}

/**
 * Central as its own OS process, as in production. A variable given as undefined is removed from
 * the environment it inherits (DATABASE_URL: undefined runs it on SQLite in its data folder).
 */
export async function startCentralProcess(env: Record<string, string | undefined>): Promise<{
  url: string;
  child: ChildProcess;
  dataDir: string;
  stop(): Promise<void>;
}> {
  const port = await freePort();
  const dataDir = env.DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sl-bench-'));
  const defaults = { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  const child = spawn(process.execPath, ['central/main.ts', 'serve'], {
    cwd: ROOT,
    env: withoutUndefined({ ...process.env, ...defaults, ...env, DATA_DIR: dataDir }),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      reject(new Error(`central did not start: ${out}`));
    }, 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('is running at')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`central exited with ${code}: ${out}`));
    });
  });
  child.stdout.resume();
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    dataDir,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** Percentile of sorted numbers (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? NaN;
}

export function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

export const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

export { randomUUID };

/** CPU time used so far by groups of processes: see cpuTimes. */
export interface CpuTimes {
  atMs: number;
  /** Each group's processes and the CPU each had used, in ms. */
  groups: Record<string, Map<number, number>>;
}

/**
 * CPU time used so far by groups of processes, read from Linux's /proc (utime + stime of each
 * process, in clock ticks of 10 ms). A group is a list of pids, or a process name (`comm`) whose
 * every process counts, e.g. `postgres` for the server and all its backends. Undefined where
 * there is no /proc.
 */
export function cpuTimes(
  groups: Record<string, readonly number[] | { comm: string }>,
): CpuTimes | undefined {
  if (!fs.existsSync('/proc/self/stat')) return undefined;
  const cpuMs = (pid: number): number | undefined => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The fields after the command's closing parenthesis: utime is the 12th, stime the 13th.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(rest[11]) + Number(rest[12])) * 10;
    } catch {
      return undefined; // ended
    }
  };
  const named = (comm: string) =>
    fs
      .readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number)
      .filter((pid) => {
        try {
          return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm;
        } catch {
          return false;
        }
      });
  const read: CpuTimes['groups'] = {};
  for (const [name, group] of Object.entries(groups)) {
    const used = new Map<number, number>();
    for (const pid of 'comm' in group ? named(group.comm) : group) {
      const ms = cpuMs(pid);
      if (ms !== undefined) used.set(pid, ms);
    }
    read[name] = used;
  }
  return { atMs: performance.now(), groups: read };
}

/**
 * Each group's CPU between two readings of cpuTimes, in ms and in percent of one core. A process
 * started between them counts whole; one that ended before the second reading is missing.
 */
export function cpuShares(
  from: CpuTimes | undefined,
  to: CpuTimes | undefined,
): { ms: Record<string, number>; pct: Record<string, number> } | undefined {
  if (!from || !to) return undefined;
  const wallMs = to.atMs - from.atMs;
  const ms: Record<string, number> = {};
  const pct: Record<string, number> = {};
  for (const [name, used] of Object.entries(to.groups)) {
    ms[name] = 0;
    for (const [pid, now] of used) ms[name] += now - (from.groups[name]?.get(pid) ?? 0);
    pct[name] = Math.round((100 * ms[name]) / wallMs);
  }
  return { ms, pct };
}

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SerialPort } from 'serialport';

/** A virtual serial line made by socat: what is written to `pathB` is read on `pathA`. */
export type SerialPair = { pathA: string; pathB: string; stop(): Promise<void> };

/** Whether socat can be run here. */
export function hasSocat(): boolean {
  return spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
}

/** Starts socat with two linked ptys at `dir/ttyA` and `dir/ttyB`; resolves once both exist. */
export async function startSerialPair(dir: string): Promise<SerialPair> {
  const pathA = path.join(dir, 'ttyA');
  const pathB = path.join(dir, 'ttyB');
  const child = spawn(
    'socat',
    ['-d', '-d', `pty,raw,echo=0,link=${pathA}`, `pty,raw,echo=0,link=${pathB}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  // socat logs this once both ptys are open and their links made.
  const ready = await waitUntil(() => log.includes('starting data transfer loop'), 10_000);
  if (!ready || !fs.existsSync(pathA) || !fs.existsSync(pathB)) {
    await stopChild(child);
    throw new Error(`socat did not make the serial pair in 10 s:\n${log}`);
  }
  return {
    pathA,
    pathB,
    async stop() {
      await stopChild(child);
      // socat removes its links on SIGTERM; wait so that the next pair can make them again.
      await waitUntil(() => !fs.existsSync(pathA) && !fs.existsSync(pathB), 5_000);
      fs.rmSync(pathA, { force: true });
      fs.rmSync(pathB, { force: true });
    },
  };
}

/** Opens the writing end of a pair, as the scanner's side of the cable. */
export async function openWriter(pathB: string): Promise<SerialPort> {
  const port = new SerialPort({ path: pathB, baudRate: 9600, autoOpen: false });
  // The writer dies with its pair; that is expected, not a test failure.
  port.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    port.open((error) => {
      if (error) reject(error);
      else resolve();
    });
  });
  return port;
}

/** Writes bytes and waits until they have left for the pty. */
export async function writeBytes(port: SerialPort, data: string | Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    port.write(data, (error) => {
      if (error) reject(error);
      else resolve();
    });
  });
  await new Promise<void>((resolve, reject) => {
    port.drain((error) => {
      if (error) reject(error);
      else resolve();
    });
  });
}

/** Closes a writer if it is still open. */
export async function closeWriter(port: SerialPort): Promise<void> {
  if (!port.isOpen) return;
  await new Promise<void>((resolve) => {
    port.close(() => {
      resolve();
    });
  });
}

/** Polls `condition` every 10 ms until it holds or `timeoutMs` passes; says which. */
export async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

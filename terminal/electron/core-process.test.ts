import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CoreSupervisor, type CoreDown, type CoreSupervisorOptions } from './core-process.ts';

// Each "core" here is a real Node process playing one behaviour of `terminal/main.ts serve`.
const READY = `console.log(JSON.stringify({ event: 'counter:ready', url: 'http://127.0.0.1:7420/', uiUrl: 'http://127.0.0.1:7420/#token=t' }));`;
const KEEP_ALIVE = 'setInterval(() => {}, 1000);';
const CLEAN_STOP = `process.on('SIGTERM', () => { console.error('stopping cleanly'); process.exit(0); });`;
/** Fails on its first run (like a cache it cannot open), serves on the next. */
const FAIL_ONCE = `
const fs = require('node:fs');
const file = process.env.RUNS_FILE;
const runs = (fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) : 0) + 1;
fs.writeFileSync(file, String(runs));
if (runs === 1) { console.error('Error: cannot open cache.sqlite'); process.exit(3); }
${CLEAN_STOP} ${READY} ${KEEP_ALIVE}`;

let dir: string;
let supervisor: CoreSupervisor | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'core-process-'));
});

afterEach(async () => {
  await supervisor?.stop();
  supervisor = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

function supervise(
  script: string,
  options: Partial<Omit<CoreSupervisorOptions, 'command'>> = {},
  command = process.execPath,
): CoreSupervisor {
  supervisor = new CoreSupervisor({
    command: {
      command,
      args: ['-e', script],
      env: { ...process.env, RUNS_FILE: path.join(dir, 'runs') },
      cwd: dir,
    },
    restartDelayMs: () => 50,
    ...options,
  });
  return supervisor;
}

function collectDowns(s: CoreSupervisor): CoreDown[] {
  const downs: CoreDown[] = [];
  s.on('down', (down) => downs.push(down));
  return downs;
}

describe('CoreSupervisor', () => {
  it('reports the announced UI and stops the core with SIGTERM', async () => {
    const s = supervise(
      `console.log('{"level":30,"msg":"starting"}'); ${CLEAN_STOP} ${READY} ${KEEP_ALIVE}`,
    );
    const lines: string[] = [];
    s.on('output', (_stream, line) => lines.push(line));
    const downs = collectDowns(s);
    s.start();
    const [ready] = await once(s, 'ready');
    expect(ready).toEqual({
      url: 'http://127.0.0.1:7420/',
      uiUrl: 'http://127.0.0.1:7420/#token=t',
      origin: 'http://127.0.0.1:7420',
    });
    expect(s.isRunning).toBe(true);
    await s.stop();
    expect(s.isRunning).toBe(false);
    expect(lines).toContain('{"level":30,"msg":"starting"}');
    expect(lines).toContain('stopping cleanly');
    // The token opens the counter's API: it reaches the window, never the log or the screen.
    expect(lines.join('\n')).not.toContain('token=t');
    expect(lines).toContain(
      '{"event":"counter:ready","url":"http://127.0.0.1:7420/","uiUrl":"http://127.0.0.1:7420/#token=…"}',
    );
    expect(downs).toEqual([]);
  });

  it('shows why the core failed and starts it again', async () => {
    const s = supervise(FAIL_ONCE);
    const down = once(s, 'down');
    s.start();
    const [first] = (await down) as [CoreDown];
    expect(first.reason).toBe('the core exited with code 3');
    expect(first.output).toContain('Error: cannot open cache.sqlite');
    expect(first.retryInMs).toBe(50);
    await once(s, 'ready');
    expect(fs.readFileSync(path.join(dir, 'runs'), 'utf8')).toBe('2');
  });

  it('waits longer after each failure in a row, and afresh after a core that served', async () => {
    const failing = supervise(`console.error('no'); process.exit(1);`, {
      restartDelayMs: (failures) => failures * 10,
    });
    const downs = collectDowns(failing);
    failing.start();
    await expect.poll(() => downs.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    await failing.stop();
    expect(downs.slice(0, 3).map((d) => d.retryInMs)).toEqual([10, 20, 30]);

    const served = supervise(`${READY} setTimeout(() => process.exit(1), 20);`, {
      restartDelayMs: (failures) => failures * 10,
      healthyAfterMs: 0,
    });
    const servedDowns = collectDowns(served);
    served.start();
    await expect.poll(() => servedDowns.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await served.stop();
    expect(servedDowns.slice(0, 2).map((d) => d.retryInMs)).toEqual([10, 10]);
  });

  it('gives up on a core that does not announce itself in time', async () => {
    const s = supervise(KEEP_ALIVE, { startTimeoutMs: 300 });
    s.start();
    const [down] = (await once(s, 'down')) as [CoreDown];
    expect(down.reason).toBe('the core did not start within 0.3 s');
    await s.stop();
  });

  it('refuses a core that announces an address off this machine', async () => {
    const s = supervise(
      `console.log(JSON.stringify({ event: 'counter:ready', url: 'http://10.0.0.9:7420/', uiUrl: 'http://10.0.0.9:7420/#t' })); ${KEEP_ALIVE}`,
    );
    let wasReady = false;
    s.on('ready', () => {
      wasReady = true;
    });
    s.start();
    const [down] = (await once(s, 'down')) as [CoreDown];
    expect(down.reason).toContain('not a loopback http address');
    expect(wasReady).toBe(false);
    await s.stop();
  });

  it('stops a core that ignores SIGTERM by closing its stdin, as on Windows', async () => {
    const s = supervise(
      `process.on('SIGTERM', () => {}); process.stdin.on('end', () => { console.error('stdin closed'); process.exit(0); }); process.stdin.resume(); ${READY}`,
      { stopGraceMs: 10_000 },
    );
    const lines: string[] = [];
    s.on('output', (_stream, line) => lines.push(line));
    s.start();
    await once(s, 'ready');
    const started = Date.now();
    await s.stop();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(lines).toContain('stdin closed');
  });

  it('kills a core that does not stop within the grace period, and does not restart it', async () => {
    const s = supervise(`process.on('SIGTERM', () => {}); ${READY} ${KEEP_ALIVE}`, {
      stopGraceMs: 300,
    });
    const downs = collectDowns(s);
    s.start();
    await once(s, 'ready');
    await s.stop();
    expect(s.isRunning).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(s.isRunning).toBe(false);
    expect(downs).toEqual([]);
  });

  it('reports a core program that cannot be started', async () => {
    const s = supervise(READY, {}, path.join(dir, 'no-such-node'));
    s.start();
    const [down] = (await once(s, 'down')) as [CoreDown];
    expect(down.reason).toContain('the core could not be started');
    expect(down.reason).toContain('ENOENT');
    await s.stop();
  });
});

/**
 * `npm start`: the whole demo on one machine. Central on its embedded database with the demo
 * chain, and one paired counter per demo showroom, each with its screens and POS API on
 * 127.0.0.1. Slips go to a file per counter (a stand-in printer). Ctrl+C stops everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DEMO_LOGINS } from '../central/demo/seed.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEMO_DIR = path.resolve(process.env.DEMO_DIR ?? path.join(ROOT, 'data/demo'));
const CENTRAL_PORT = Number(process.env.PORT ?? 8080);
const FIRST_COUNTER_PORT = Number(process.env.COUNTER_PORT ?? 7421);
const ADMIN = DEMO_LOGINS[0];

const children = new Set<ChildProcess>();

function start(script: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Resolves with the first stdout line that matches; echoes lines when `echo` is set. */
function waitForLine(
  child: ChildProcess,
  match: (line: string) => boolean,
  echo: boolean,
): Promise<string> {
  return new Promise((resolve, reject) => {
    if (!child.stdout) {
      reject(new Error('no stdout'));
      return;
    }
    const lines = createInterface({ input: child.stdout });
    let found = false;
    lines.on('line', (line) => {
      if (echo) console.log(line);
      if (!found && match(line)) {
        found = true;
        resolve(line);
      }
    });
    child.once('exit', (code) => {
      if (!found) reject(new Error(`${child.spawnargs.join(' ')} exited (${code ?? '?'})`));
    });
  });
}

async function api(url: string, token: string | null, method: string, body?: unknown) {
  const response = await fetch(url, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const parsed = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${method} ${url}: ${JSON.stringify(parsed)}`);
  return parsed;
}

async function run(code: string, args: string[], env: Record<string, string>): Promise<void> {
  const child = start('terminal/main.ts', args, env);
  child.stdout?.resume();
  const exit = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (exit !== 0) throw new Error(`pairing the counter of ${code} failed (exit ${exit ?? '?'})`);
}

async function main(): Promise<void> {
  fs.mkdirSync(DEMO_DIR, { recursive: true });
  const centralDir = path.join(DEMO_DIR, 'central');
  const central = start('central/main.ts', ['serve'], {
    DATA_DIR: centralDir,
    PORT: String(CENTRAL_PORT),
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    DEMO_SEED: 'auto',
  });
  await waitForLine(central, (l) => l.includes('is running at'), true);
  const centralUrl = `http://127.0.0.1:${CENTRAL_PORT}`;
  const login = await api(`${centralUrl}/api/auth/login`, null, 'POST', {
    username: ADMIN.username,
    password: ADMIN.password,
  });
  const adminToken = String(login.token);
  const { showrooms } = (await api(`${centralUrl}/api/showrooms`, adminToken, 'GET')) as {
    showrooms: { code: string; name: string }[];
  };

  const counters: { code: string; name: string; uiUrl: string; printerFile: string }[] = [];
  for (const [index, showroom] of showrooms.entries()) {
    const dataDir = path.join(DEMO_DIR, `counter-${showroom.code}`);
    const env = { TERMINAL_DATA_DIR: dataDir, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
    if (!fs.existsSync(path.join(dataDir, 'terminal.json'))) {
      const issued = await api(`${centralUrl}/api/terminals/pairing-codes`, adminToken, 'POST', {
        showroomCode: showroom.code,
      });
      await run(
        showroom.code,
        [
          'pair',
          '--central',
          centralUrl,
          '--code',
          String(issued.code),
          '--name',
          `${showroom.code} counter 1`,
        ],
        env,
      );
    }
    // A stand-in printer: the counter appends each slip's ESC/POS bytes to this file.
    const printerFile = path.join(dataDir, 'printer.bin');
    if (!fs.existsSync(printerFile)) fs.writeFileSync(printerFile, '');
    const counter = start(
      'terminal/main.ts',
      ['serve', '--port', String(FIRST_COUNTER_PORT + index), '--printer', printerFile],
      env,
    );
    const ready = JSON.parse(
      await waitForLine(counter, (l) => l.includes('"counter:ready"'), false),
    ) as { uiUrl: string };
    counter.stdout?.resume();
    counters.push({ code: showroom.code, name: showroom.name, uiUrl: ready.uiUrl, printerFile });
  }

  console.log(`\nShowroom Loyalty demo is running (data in ${DEMO_DIR}).`);
  console.log(
    `  Head office console: ${centralUrl}/console/  (sign in as ${ADMIN.username} / ${ADMIN.password})`,
  );
  console.log(`  Central API: ${centralUrl}/api/openapi.json`);
  for (const c of counters) {
    console.log(`  Counter ${c.code} (${c.name}): ${c.uiUrl}`);
    console.log(`      POS API: ${new URL('/pos/v1/openapi.json', c.uiUrl).href}`);
    console.log(`      slips:   ${c.printerFile}`);
  }
  console.log(
    `  Staff PINs: ${DEMO_LOGINS.map((l) => `${l.username} ${l.pin}${l.showroom ? ` (${l.showroom})` : ' (any counter)'}`).join(', ')}`,
  );
  console.log('Press Ctrl+C to stop.\n');
}

async function stopAll(): Promise<void> {
  await Promise.all(
    [...children].map(
      (child) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));
main().catch(async (error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  await stopAll();
  process.exit(1);
});

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../central/db/connect.ts';
import { verifySecret } from '../central/staff/secrets.ts';
import { createTestDatabase, describeEachDb, type TestDatabase } from './support/databases.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();

afterEach(() => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
});

/** The environment for a child: nothing of ours leaks in but PATH and HOME. */
function childEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'silent', ...env };
}

/** Starts `node central/main.ts ...args` in the repository; the test's Node (22) runs it. */
function start(args: string[], env: Record<string, string | undefined>): ChildProcess {
  const child = spawn(process.execPath, ['central/main.ts', ...args], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  return child;
}

/** Runs the CLI to its end, feeding `input` on stdin (an empty stdin otherwise). */
function cli(
  args: string[],
  env: Record<string, string | undefined>,
  input = '',
  timeoutMs = 25_000,
): Promise<Run> {
  const child = start(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin?.end(input);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`central ${args.join(' ')} ran over ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Opens the database the CLI used, runs `fn`, and closes it again. */
async function withDb<T>(database: TestDatabase, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = openDb({
    dataDir: database.env.DATA_DIR,
    ...(database.env.DATABASE_URL ? { databaseUrl: database.env.DATABASE_URL } : {}),
  });
  try {
    return await fn(db);
  } finally {
    await db.knex.destroy();
  }
}

interface StaffRow {
  username: string;
  role: string;
  password_hash: string;
  showroom_id: number | null;
}

describeEachDb('central CLI', (dialect) => {
  let database: TestDatabase;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    env = { ...database.env };
  });
  afterAll(async () => {
    await database.drop();
  });

  const staffRow = (username: string) =>
    withDb(database, async (db): Promise<StaffRow | undefined> =>
      db
        .knex('staff')
        .where({ username })
        .first('username', 'role', 'password_hash', 'showroom_id'),
    );

  it('migrate brings the schema up to date and says so', async () => {
    const r = await cli(['migrate'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Database is up to date (${dialect})`);
    const tables = await withDb(database, async (db) =>
      Number((await db.knex('showrooms').count({ n: '*' }).first())?.n),
    );
    expect(tables).toBe(0);
  });

  it('seed-demo fills an empty database, and refuses a second time', async () => {
    const first = await cli(['seed-demo'], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('Demo chain added');
    const counts = await withDb(database, async (db) => ({
      showrooms: Number((await db.knex('showrooms').count({ n: '*' }).first())?.n),
      members: Number((await db.knex('members').count({ n: '*' }).first())?.n),
    }));
    expect(counts).toEqual({ showrooms: 3, members: 5 });

    const again = await cli(['seed-demo'], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already has showrooms');
    const showrooms = await withDb(database, async (db) =>
      Number((await db.knex('showrooms').count({ n: '*' }).first())?.n),
    );
    expect(showrooms).toBe(3);
  });

  it('pairing-code, terminals, revoke-terminal and new-epoch manage terminals', async () => {
    const unknown = await cli(['pairing-code', '--showroom', 'NOPE-01'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('There is no showroom NOPE-01');
    expect((await cli(['pairing-code'], env)).code).toBe(2);
    const issued = await cli(['pairing-code', '--showroom', 'MUM-01'], env);
    expect(issued.code).toBe(0);
    const code = /: ([0-9A-Z]{4}-[0-9A-Z]{4})/.exec(issued.stdout)?.[1];
    expect(code).toBeDefined();
    expect(issued.stdout).toMatch(/Valid until .* \(15 minutes\), usable once/);
    // Central keeps only the code's hash.
    const stored = await withDb(database, async (db) =>
      JSON.stringify(await db.knex('pairing_codes').select()),
    );
    expect(stored).not.toContain(code?.replace('-', '') ?? 'x');
    expect(stored).not.toContain(code ?? 'x');

    await withDb(database, async (db) => {
      const showroom: { id: number } = await db
        .knex('showrooms')
        .where('code', 'MUM-01')
        .first('id');
      await db.knex('terminals').insert({
        id: 'MUM-01-TABCDEF',
        showroom_id: showroom.id,
        name: 'Till 1',
        secret_hash: 'a'.repeat(64),
        paired_at: dialect === 'pg' ? new Date() : new Date().toISOString(),
      });
    });
    expect((await cli(['terminals'], env)).stdout).toMatch(
      /MUM-01-TABCDEF +MUM-01 +Till 1 +last seen never/,
    );
    expect((await cli(['revoke-terminal'], env)).code).toBe(2);
    expect((await cli(['revoke-terminal', 'MUM-01-TNOPE00'], env)).stderr).toContain(
      'There is no terminal',
    );
    const revoked = await cli(['revoke-terminal', 'MUM-01-TABCDEF'], env);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain('Revoked MUM-01-TABCDEF');
    expect((await cli(['revoke-terminal', 'MUM-01-TABCDEF'], env)).stdout).toContain(
      'revoked already',
    );
    expect((await cli(['terminals'], env)).stdout).toMatch(/MUM-01-TABCDEF .*REVOKED/);

    const epochOf = () =>
      withDb(database, async (db): Promise<string | undefined> => {
        const row: { value: string } | undefined = await db
          .knex('meta')
          .where('key', 'epoch')
          .first('value');
        return row?.value;
      });
    const before = await epochOf();
    const renewed = await cli(['new-epoch'], env);
    expect(renewed.code).toBe(0);
    expect(renewed.stdout).toContain('every terminal will rebuild its cache');
    expect(await epochOf()).not.toBe(before);
  });

  it('verify passes on a consistent ledger and names a member whose balance drifted', async () => {
    const ok = await cli(['verify'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('OK');
    expect(ok.stdout).toMatch(/Checked 5 members and \d+ ledger entries/);

    const stored = await withDb(database, async (db) => {
      await db.knex('members').where({ id: 1 }).increment('balance', 5);
      const row: { balance: number | string } | undefined = await db
        .knex('members')
        .where({ id: 1 })
        .first('balance');
      return Number(row?.balance);
    });
    const bad = await cli(['verify'], env);
    expect(bad.code).toBe(1);
    expect(bad.stdout).not.toContain('OK');
    expect(bad.stdout).toContain('DRIFT: 1 figure(s)');
    expect(bad.stdout).toContain(`member 1: stored balance ${stored}, ledger says ${stored - 5}`);

    // Put it back so the database is consistent again for the rest of the file.
    await withDb(database, async (db) => {
      await db.knex('members').where({ id: 1 }).decrement('balance', 5);
    });
    expect((await cli(['verify'], env)).code).toBe(0);
  });

  it('create-admin --password-stdin stores only a scrypt hash of the password', async () => {
    const password = 'correct-horse-battery-9';
    const r = await cli(
      ['create-admin', '--username', 'boss', '--password-stdin'],
      env,
      `${password}\n`,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Created admin boss');
    expect(r.stdout).not.toContain(password);
    const row = await staffRow('boss');
    expect(row).toMatchObject({ username: 'boss', role: 'admin', showroom_id: null });
    expect(row?.password_hash.startsWith('scrypt$')).toBe(true);
    expect(row?.password_hash).not.toContain(password);
    // The trailing newline from the pipe is not part of the password.
    expect(await verifySecret(password, row?.password_hash ?? '')).toBe(true);
    expect(await verifySecret(`${password}\n`, row?.password_hash ?? '')).toBe(false);
  });

  it('create-admin refuses a username that exists, and changes nothing', async () => {
    const before = await staffRow('boss');
    const r = await cli(['create-admin', '--username', 'boss'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('boss exists already');
    expect(r.stdout).not.toContain('Password');
    expect(await staffRow('boss')).toEqual(before);
  });

  it('create-admin refuses a stdin password shorter than 10 characters', async () => {
    const r = await cli(
      ['create-admin', '--username', 'shorty', '--password-stdin'],
      env,
      'short\n',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('fewer than 10 characters');
    expect(await staffRow('shorty')).toBeUndefined();
  });

  it('create-admin without --password-stdin prints a working one-time password', async () => {
    const r = await cli(['create-admin', '--username', 'ops'], env);
    expect(r.code).toBe(0);
    const printed = /Password \(shown once, keep it safe\): (\S+)/.exec(r.stdout)?.[1];
    expect(printed).toMatch(/^[A-Za-z0-9_-]{16}$/);
    const row = await staffRow('ops');
    expect(await verifySecret(printed ?? '', row?.password_hash ?? '')).toBe(true);
  });

  it('create-staff puts a cashier in a showroom, and refuses one without --showroom', async () => {
    const missing = await cli(
      ['create-staff', '--username', 'x.cashier', '--role', 'cashier'],
      env,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--showroom');
    expect(await staffRow('x.cashier')).toBeUndefined();

    const unknown = await cli(
      ['create-staff', '--username', 'x.cashier', '--role', 'cashier', '--showroom', 'NOPE-01'],
      env,
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('NOPE-01');

    const ok = await cli(
      ['create-staff', '--username', 'x.cashier', '--role', 'cashier', '--showroom', 'MUM-01'],
      env,
    );
    expect(ok.code).toBe(0);
    const row = await staffRow('x.cashier');
    expect(row?.role).toBe('cashier');
    expect(row?.showroom_id).toEqual(expect.any(Number));
  });

  it('create-staff refuses a role it does not know', async () => {
    const r = await cli(
      ['create-staff', '--username', 'x.boss', '--role', 'owner', '--showroom', 'MUM-01'],
      env,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--role');
    expect(await staffRow('x.boss')).toBeUndefined();
  });
});

describe('central CLI: usage and configuration', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-cli-'));
  });
  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('help prints the usage and exits 0', async () => {
    const r = await cli(['help'], { DATA_DIR: dataDir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage:');
    expect(r.stdout).toContain('create-staff');
  });

  it('an unknown command exits 2 with the usage', async () => {
    const r = await cli(['frobnicate'], { DATA_DIR: dataDir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Unknown command "frobnicate"');
    expect(r.stderr).toContain('Usage:');
  });

  it('a bad setting stops it with exit 1 and a message naming the variable', async () => {
    const r = await cli(['migrate'], { DATA_DIR: dataDir, PORT: 'abc', TIME_ZONE: 'Mars/Base' });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('up to date');
    expect(r.stderr).toContain('PORT="abc"');
    expect(r.stderr).toContain('TIME_ZONE="Mars/Base"');
    // Refused before touching the database.
    expect(fs.existsSync(path.join(dataDir, 'central.sqlite'))).toBe(false);
  });

  it('a mistyped or incomplete option exits 2 with a message, not a stack trace', async () => {
    const typo = await cli(['create-admin', '--usernme', 'boss'], { DATA_DIR: dataDir });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("Unknown option '--usernme'");
    expect(typo.stderr).toContain('Usage:');
    expect(typo.stderr).not.toMatch(/\n\s+at /);

    const bare = await cli(['create-staff', '--username'], { DATA_DIR: dataDir });
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('--username');
    expect(bare.stderr).not.toMatch(/\n\s+at /);
  });

  it('a usage error in create-staff is refused before the database is created', async () => {
    const r = await cli(['create-staff', '--username', 'x.cashier', '--role', 'cashier'], {
      DATA_DIR: dataDir,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give --showroom CODE');
    expect(fs.existsSync(path.join(dataDir, 'central.sqlite'))).toBe(false);
  });
});

describe('central CLI: serve', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-serve-'));
  });
  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('seeds an empty SQLite database, serves the API and stops cleanly on SIGTERM', async () => {
    const child = start(['serve'], { DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' });
    child.stdin?.end();
    let stdout = '';
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
      (resolve) => {
        child.once('exit', (code, signal) => {
          resolve({ code, signal });
        });
      },
    );
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`serve printed no URL in time:\n${stdout}\n${stderr}`));
      }, 25_000);
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        const match = /is running at (http:\/\/\S+)/.exec(stdout);
        if (match?.[1] && stdout.includes('\n\n', match.index)) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      void exited.then(({ code }) => {
        clearTimeout(timer);
        reject(new Error(`serve exited with ${code}:\n${stdout}\n${stderr}`));
      });
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toMatch(/:0$/);
    expect(stdout).toContain(`SQLite in ${dataDir}`);
    expect(stdout).toContain('demo-admin-2026');

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', database: 'sqlite' });

    const login = await fetch(`${url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: 'demo-admin-2026' }),
    });
    expect(login.status).toBe(200);
    const body = (await login.json()) as { token: string; staff: { role: string } };
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(body.staff.role).toBe('admin');

    const started = Date.now();
    child.kill('SIGTERM');
    // It handles SIGTERM itself (exit code 0) rather than being killed by the signal.
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(stderr).toBe('');
  });
});

import { loadConfig } from '../../central/config.ts';
import { createCentral, listen, type Central, type Listening } from '../../central/server.ts';
import type { SyncOptions } from '../../central/sync/server.ts';
import * as catalogue from '../../central/db/catalogue-store.ts';
import { findShowroomId, insertStaff } from '../../central/db/staff-store.ts';
import { hashSecret } from '../../central/staff/secrets.ts';
import type { Clock } from '../../central/time.ts';
import { createTestDatabase, type TestDatabase } from './databases.ts';
import { reportIfStalled } from './postgres.ts';

/** A clock the test moves by hand. */
export class TestClock implements Clock {
  private ms: number;
  constructor(start = '2026-11-20T06:30:00.000Z') {
    this.ms = Date.parse(start);
  }
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  set(iso: string): void {
    this.ms = Date.parse(iso);
  }
}

export const PASSWORDS = {
  admin: 'admin-password-1',
  manager: 'manager-password-1',
  cashier: 'cashier-password-1',
  otherCashier: 'cashier-password-2',
} as const;

/** A running central on loopback with a small chain, and an HTTP client for it. */
export interface TestCentral {
  url: string;
  central: Central;
  clock: TestClock;
  database: TestDatabase;
  tokens: { admin: string; manager: string; cashier: string; otherCashier: string };
  /** The HTTP server with terminal sync attached. */
  listening: Listening;
  request(
    method: string,
    path: string,
    options?: {
      token?: string | null;
      body?: unknown;
      headers?: Record<string, string>;
      raw?: string;
    },
    // any: tests read bodies of every route; each asserts the fields it uses, so a wrong one fails.
  ): Promise<{ status: number; body: any; headers: Headers }>;
  /** Rows in each table, to show a refused request wrote nothing. */
  counts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

const TABLES = [
  'members',
  'sales',
  'sale_lines',
  'sale_returns',
  'ledger_entries',
  'idempotency_keys',
];

/** Starts central on a fresh database, with showrooms MUM-01 and DEL-01, categories and staff. */
export async function startTestCentral(
  dialect: 'sqlite' | 'pg',
  options: {
    database?: TestDatabase;
    env?: Record<string, string>;
    sync?: SyncOptions;
    /** Leave the database as it is (a restart on a database that has the fixture). */
    noFixture?: boolean;
  } = {},
): Promise<TestCentral> {
  const database = options.database ?? (await createTestDatabase(dialect));
  const clock = new TestClock();
  const config = loadConfig({
    ...database.env,
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    ...options.env,
  });
  const central = await createCentral(config, { clock });
  if (!options.noFixture) await seedFixture(central, clock.now());
  const listening = await listen(central, options.sync);
  const url = listening.url;

  const request: TestCentral['request'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let body: string | undefined = o.raw;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(url + path, {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed as never, headers: response.headers };
  };

  const login = async (username: string, password: string): Promise<string> => {
    const r = await request('POST', '/api/auth/login', { body: { username, password } });
    if (r.status !== 200)
      throw new Error(`login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
    return (r.body as { token: string }).token;
  };
  const tokens = {
    admin: await login('admin', PASSWORDS.admin),
    manager: await login('mum.manager', PASSWORDS.manager),
    cashier: await login('mum.cashier', PASSWORDS.cashier),
    otherCashier: await login('del.cashier', PASSWORDS.otherCashier),
  };

  return {
    url,
    central,
    clock,
    database,
    tokens,
    listening,
    request,
    counts: async () => {
      const out: Record<string, number> = {};
      for (const t of TABLES) {
        const row: { n?: number | string } | undefined = await central.db
          .knex(t)
          .count({ n: '*' })
          .first();
        out[t] = Number(row?.n ?? 0);
      }
      return out;
    },
    close: async () => {
      await listening.close();
      await central.db.knex.destroy();
      if (!options.database) await database.drop();
    },
  };
}

async function seedFixture(central: Central, now: Date): Promise<void> {
  const { db } = central;
  await catalogue.insertShowroom(db, { code: 'MUM-01', name: 'Andheri West', city: 'Mumbai' }, now);
  await catalogue.insertShowroom(
    db,
    { code: 'DEL-01', name: 'Karol Bagh', city: 'New Delhi' },
    now,
  );
  const since = new Date('2026-01-01T00:00:00Z');
  for (const [code, name, rate] of [
    ['ELEC', 'Electrical', 2],
    ['ELTR', 'Electronics', 1],
    ['APPL', 'Appliances', 1],
    ['BOOK', 'Books', 5],
  ] as const) {
    await catalogue.insertCategory(
      db,
      { code, name, pointsPer100Rupees: rate, effectiveFrom: since, staffId: null },
      now,
    );
  }
  const mum = (await findShowroomId(db, 'MUM-01')) ?? null;
  const del = (await findShowroomId(db, 'DEL-01')) ?? null;
  const staff = [
    ['admin', 'Head Office', 'admin', PASSWORDS.admin, null],
    ['mum.manager', 'Priya Sharma', 'manager', PASSWORDS.manager, mum],
    ['mum.cashier', 'Rahul Verma', 'cashier', PASSWORDS.cashier, mum],
    ['del.cashier', 'अमित सिंह', 'cashier', PASSWORDS.otherCashier, del],
  ] as const;
  for (const [username, name, role, password, showroomId] of staff) {
    await insertStaff(
      db,
      { username, name, role, passwordHash: await hashSecret(password), pinHash: null, showroomId },
      now,
    );
  }
}

let keyCounter = 0;
/** A fresh idempotency key. */
export function newKey(prefix = 'k'): string {
  keyCounter += 1;
  return `${prefix}-${process.pid}-${Date.now()}-${keyCounter}`;
}

/** Another central process's worth of parts on the same database: its own writer, pool and port. */
export async function startPeerCentral(
  database: TestDatabase,
  clock: Clock,
  env: Record<string, string> = {},
  sync: SyncOptions = {},
): Promise<{ url: string; central: Central; listening: Listening; close(): Promise<void> }> {
  const config = loadConfig({
    ...database.env,
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    ...env,
  });
  const url = database.env.DATABASE_URL;
  const central = await reportIfStalled(
    'a peer central starting',
    url,
    createCentral(config, { clock }),
  );
  const listening = await reportIfStalled('a peer central listening', url, listen(central, sync));
  return {
    url: listening.url,
    central,
    listening,
    close: async () => {
      await reportIfStalled('a peer central closing', url, listening.close());
      await central.db.knex.destroy();
    },
  };
}

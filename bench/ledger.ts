/**
 * Sales recorded per second over HTTP on loopback, each a durable commit, with concurrent
 * clients: central runs as its own process on SQLite, then on PostgreSQL, beside pgbench's
 * TPC-B-like throughput on the same PostgreSQL in the same run.
 */
import fs from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Pool } from 'undici';
import {
  createPgDatabase,
  execFileAsync,
  median,
  percentile,
  randomUUID,
  round,
  ROOT,
  startCentralProcess,
} from './support.ts';

interface Round {
  sales: number;
  errors: number;
  salesPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

const CATEGORIES = ['ELEC', 'ELTR', 'APPL', 'BOOK'] as const;

async function login(pool: Pool): Promise<string> {
  const res = await pool.request({
    path: '/api/auth/login',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'demo-admin-2026' }),
  });
  const body = (await res.body.json()) as { token: string };
  return body.token;
}

function mobileOf(i: number): string {
  return `+919${String(100_000_000 + i)}`;
}

async function enrol(pool: Pool, token: string, count: number): Promise<void> {
  for (let start = 0; start < count; start += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, count - start) }, async (_, j) => {
        const res = await pool.request({
          path: '/api/members',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({
            mobile: mobileOf(start + j),
            name: 'Bench Member',
            smsConsent: true,
            showroomCode: 'MUM-01',
          }),
        });
        await res.body.text();
        if (res.statusCode >= 300) throw new Error(`enrol failed: ${res.statusCode}`);
      }),
    );
  }
}

async function load(
  pool: Pool,
  token: string,
  options: { connections: number; durationMs: number; members: number; tag: string },
): Promise<Round> {
  const latencies: number[] = [];
  let errors = 0;
  let n = 0;
  const started = performance.now();
  const end = started + options.durationMs;
  const worker = async () => {
    while (performance.now() < end) {
      n += 1;
      const i = n;
      const lines = Array.from({ length: 1 + (i % 3) }, (_, k) => ({
        sku: `SKU-${(i * 7 + k) % 5000}`,
        categoryCode: CATEGORIES[(i + k) % CATEGORIES.length],
        quantity: 1 + (k % 2),
        amountPaise: 10_000 + ((i * 7919 + k * 104_729) % 5_000_000),
      }));
      const body = JSON.stringify({
        showroomCode: i % 2 ? 'MUM-01' : 'DEL-01',
        billNumber: `${options.tag}-${i}`,
        mobile: mobileOf((i * 2_654_435_761) % options.members),
        lines,
      });
      const t0 = performance.now();
      const res = await pool.request({
        path: '/api/sales',
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${token}`,
          'idempotency-key': randomUUID(),
        },
        body,
      });
      await res.body.text();
      if (res.statusCode === 201) latencies.push(performance.now() - t0);
      else errors += 1;
    }
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    sales: latencies.length,
    errors,
    salesPerSec: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

async function pgbenchTps(quick: boolean): Promise<number> {
  const db = await createPgDatabase('sl_pgbench');
  try {
    const conn = ['-h', '127.0.0.1', '-U', 'postgres'];
    await execFileAsync('pgbench', [...conn, '-i', '-q', '-s', '10', db.name]);
    const { stdout } = await execFileAsync('pgbench', [
      ...conn,
      '-n',
      '-c',
      '10',
      '-j',
      '2',
      '-T',
      quick ? '3' : '15',
      db.name,
    ]);
    const match = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
    if (!match?.[1]) throw new Error(`cannot read pgbench output:\n${stdout}`);
    return Number(match[1]);
  } finally {
    await db.drop();
  }
}

async function countSales(dialect: 'sqlite' | 'pg', where: string): Promise<number> {
  if (dialect === 'sqlite') {
    const db = new Database(`${where}/central.sqlite`, { readonly: true });
    const row = db.prepare('select count(*) as n from sales').get() as { n: number };
    db.close();
    return row.n;
  }
  const client = new pg.Client({ connectionString: where });
  await client.connect();
  const { rows } = await client.query<{ n: string }>('select count(*) as n from sales');
  await client.end();
  return Number(rows[0]?.n);
}

async function benchDialect(
  dialect: 'sqlite' | 'pg',
  quick: boolean,
  options: { env?: Record<string, string>; rounds?: number } = {},
): Promise<Round[]> {
  const pgDb = dialect === 'pg' ? await createPgDatabase('sl_bench') : undefined;
  const central = await startCentralProcess({
    DEMO_SEED: 'always',
    ...(pgDb ? { DATABASE_URL: pgDb.url, DB_POOL_MAX: '10' } : {}),
    ...options.env,
  });
  const pool = new Pool(central.url, { connections: 64, pipelining: 1 });
  try {
    const token = await login(pool);
    const members = quick ? 200 : 2000;
    await enrol(pool, token, members);
    const before = await countSales(dialect, pgDb?.url ?? central.dataDir);
    await load(pool, token, {
      connections: 32,
      durationMs: quick ? 500 : 3000,
      members,
      tag: 'warm',
    });
    const rounds: Round[] = [];
    for (let r = 0; r < (quick ? 1 : (options.rounds ?? 3)); r += 1) {
      rounds.push(
        await load(pool, token, {
          connections: 64,
          durationMs: quick ? 2000 : 10_000,
          members,
          tag: `r${r}`,
        }),
      );
    }
    await pool.close();
    await central.stop();
    // The benchmark checks its own result: every confirmed sale is in the ledger, and the ledger balances.
    const after = await countSales(dialect, pgDb?.url ?? central.dataDir);
    const warm = after - before - rounds.reduce((s, r) => s + r.sales, 0);
    if (warm < 0)
      throw new Error(`${dialect}: ${-warm} confirmed sales are missing from the database`);
    await execFileAsync(process.execPath, ['central/main.ts', 'verify'], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATA_DIR: central.dataDir,
        LOG_LEVEL: 'warn',
        ...(pgDb ? { DATABASE_URL: pgDb.url } : {}),
      },
    });
    if (rounds.some((r) => r.errors > 0)) throw new Error(`${dialect}: some sales were refused`);
    return rounds;
  } finally {
    await pool.close().catch(() => undefined);
    await central.stop();
    fs.rmSync(central.dataDir, { recursive: true, force: true });
    await pgDb?.drop();
  }
}

export async function run(quick: boolean): Promise<void> {
  console.log(
    `ledger benchmark${quick ? ' (quick: checks that it works, figures not meaningful)' : ''}`,
  );
  const pgbench = await pgbenchTps(quick);
  console.log(`pgbench TPC-B-like, 10 clients: ${round(pgbench, 0)} tps`);
  const sqlite = await benchDialect('sqlite', quick);
  const postgres = await benchDialect('pg', quick);
  // Baseline: the same server committing every sale alone (no group commit).
  const alone = await benchDialect('pg', quick, { env: { WRITE_BATCH_MAX: '1' }, rounds: 1 });
  const summary = (label: string, rounds: Round[]) => {
    const rate = median(rounds.map((r) => r.salesPerSec));
    const p50 = median(rounds.map((r) => r.p50Ms));
    const p99 = median(rounds.map((r) => r.p99Ms));
    console.log(
      `${label.padEnd(10)} ${round(rate, 0)} sales/s (rounds: ${rounds.map((r) => round(r.salesPerSec, 0)).join(', ')}), p50 ${round(p50)} ms, p99 ${round(p99)} ms, ${rounds.reduce((s, r) => s + r.sales, 0)} sales`,
    );
    return { rate, p50, p99 };
  };
  const s = summary('SQLite', sqlite);
  const p = summary('PostgreSQL', postgres);
  const a = summary('PG alone', alone);
  console.log(`PostgreSQL sales/s ÷ pgbench tps: ${round(p.rate / pgbench)}`);
  console.log(`group commit ÷ one commit per sale: ${round(p.rate / a.rate)}`);
  console.log(
    JSON.stringify({
      bench: 'ledger',
      quick,
      connections: 64,
      pgbenchTps: round(pgbench, 0),
      sqliteSalesPerSec: round(s.rate, 0),
      sqliteP50Ms: round(s.p50),
      sqliteP99Ms: round(s.p99),
      pgSalesPerSec: round(p.rate, 0),
      pgP50Ms: round(p.p50),
      pgP99Ms: round(p.p99),
      pgToPgbenchRatio: round(p.rate / pgbench),
      pgOneCommitPerSaleSalesPerSec: round(a.rate, 0),
      pgOneCommitPerSaleP99Ms: round(a.p99),
      groupCommitSpeedup: round(p.rate / a.rate),
    }),
  );
}

/**
 * Every report through its HTTP route, on PostgreSQL with a generated chain (1,000,000 members,
 * 10,000,000 ledger entries over two years; --quick: 2,000 and 20,000): 30-day and 365-day
 * ranges, the whole chain and one showroom, several runs each (median and max). Baselines in
 * the same run: `select count(*) from ledger_entries`, and the same reports computed straight
 * from the ledger (what the rollups replace), which must also give the same figures.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../central/config.ts';
import { createCentral, listen } from '../central/server.ts';
import { checkReports } from '../central/reports/check.ts';
import { addDays } from '../central/reports/days.ts';
import { liabilityReport, membersReport, salesReport } from '../central/reports/queries.ts';
import { ledgerSource } from '../central/reports/sources.ts';
import {
  LiabilityReportQuery,
  MembersReportQuery,
  SalesReportQuery,
} from '../shared/protocol/reports.ts';
import { PG_ADMIN_URL } from '../test/support/postgres.ts';
import {
  GENERATED_ADMIN,
  generateChain,
  generatedChain,
  type GeneratedChain,
} from './chain-generator.ts';
import { createPgDatabase, median, round } from './support.ts';

const FULL = { members: 1_000_000, entries: 10_000_000 };
const QUICK = { members: 2_000, entries: 20_000 };
const FULL_DATABASE = 'loyalty_bench_reports';

/** The database to use: the full one kept between runs (made again when its size differs). */
async function prepareDatabase(
  quick: boolean,
): Promise<{ url: string; chain: GeneratedChain; drop(): Promise<void> }> {
  const size = quick ? QUICK : FULL;
  const log = (line: string) => {
    console.log(`  ${line}`);
  };
  if (quick) {
    const db = await createPgDatabase('sl_bench_reports');
    const chain = await generateChain({
      databaseUrl: db.url,
      ...size,
      days: 730,
      zone: 'Asia/Kolkata',
      seed: 7,
      smsPerSale: 0.3,
      log,
    });
    return { url: db.url, chain, drop: () => db.drop() };
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${FULL_DATABASE}`;
  const existing = await generatedChain(url.toString());
  if (existing && existing.members === size.members && existing.entriesTarget === size.entries) {
    console.log(
      `Reusing ${FULL_DATABASE}: ${existing.members} members, ${existing.entries} entries, ${existing.firstDay} to ${existing.lastDay} (made in ${existing.seconds} s).`,
    );
    return { url: url.toString(), chain: existing, drop: () => Promise.resolve() };
  }
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`drop database if exists ${FULL_DATABASE} with (force)`);
  await admin.query(`create database ${FULL_DATABASE}`);
  await admin.end();
  console.log(`Generating ${FULL_DATABASE} (kept for the next run):`);
  const chain = await generateChain({
    databaseUrl: url.toString(),
    ...size,
    days: 730,
    zone: 'Asia/Kolkata',
    seed: 20261126,
    smsPerSale: 0.3,
    log,
  });
  return { url: url.toString(), chain, drop: () => Promise.resolve() };
}

interface Timing {
  name: string;
  medianMs: number;
  maxMs: number;
  runs: number;
}

async function time(
  runs: number,
  fn: () => Promise<void>,
): Promise<{ medianMs: number; maxMs: number }> {
  await fn(); // warm-up: plans cached, pages in memory, as for a manager clicking around
  const ms: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  return { medianMs: round(median(ms), 1), maxMs: round(Math.max(...ms), 1) };
}

export async function run(quick: boolean): Promise<void> {
  console.log(
    `reports benchmark${quick ? ' (quick: checks that it works and that every report agrees with the ledger; figures not meaningful)' : ''}`,
  );
  const database = await prepareDatabase(quick);
  const { chain } = database;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-bench-reports-'));
  const central = await createCentral(
    loadConfig({
      DATABASE_URL: database.url,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      LOG_REQUESTS: 'false',
      PORT: '0',
      HOST: '127.0.0.1',
      TIME_ZONE: chain.zone,
      SMS_WORKER: 'false',
    }),
  );
  const listening = await listen(central);
  let failed = false;
  try {
    const login = await fetch(`${listening.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(GENERATED_ADMIN),
    });
    const { token } = (await login.json()) as { token: string };
    const get = async (route: string) => {
      const r = await fetch(`${listening.url}${route}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = await r.text();
      if (r.status !== 200) throw new Error(`${route}: ${r.status} ${body.slice(0, 300)}`);
    };
    const busiest: { code: string } | undefined = await central.db
      .knex('sales as s')
      .join('showrooms as r', 'r.id', 's.showroom_id')
      .groupBy('r.code')
      .orderByRaw('count(*) desc')
      .first('r.code');
    const one = busiest?.code ?? 'MUM-01';
    const to = chain.lastDay;
    const runs = quick ? 2 : 5;
    const deps = { db: central.db, timeZone: chain.zone, clock: central.clock };

    // Baselines.
    const count = await time(3, async () => {
      await central.db.knex.raw('select count(*) from ledger_entries');
    });
    const counted = async (table: string): Promise<number> => {
      const row: { n?: number | string } | undefined = await central.db
        .knex(table)
        .count({ n: '*' })
        .first();
      return Number(row?.n ?? 0);
    };
    const entryCount = await counted('ledger_entries');
    const memberCount = await counted('members');
    console.log(
      `${memberCount.toLocaleString('en-IN')} members, ${entryCount.toLocaleString('en-IN')} ledger entries, ${chain.firstDay} to ${chain.lastDay}; busiest showroom ${one}`,
    );
    console.log(`baseline: select count(*) from ledger_entries: median ${count.medianMs} ms`);

    // Several showrooms at once: two, and half the chain (every other showroom by code).
    const codes: string[] = await central.db.knex('showrooms').orderBy('code').pluck('code');
    const second = codes.find((c) => c !== one) ?? one;
    const half = codes.filter((_, i) => i % 2 === 0);
    if (!half.includes(one)) half[0] = one;
    const allButOne = codes.filter((c) => c !== one);
    // Three quarters of the chain: the most the reports still count showroom by showroom.
    const threeQuarters = [one, ...allButOne.slice(0, Math.floor((codes.length * 3) / 4) - 1)];
    const timings: Timing[] = [];
    const ranges = [
      ['30d', addDays(to, -29)],
      ['365d', addDays(to, -364)],
    ] as const;
    for (const [label, from] of ranges) {
      for (const [filterName, filter] of [
        ['All', ''],
        ['One', `&showrooms=${one}`],
        ['Two', `&showrooms=${one},${second}`],
        ['Half', `&showrooms=${half.join(',')}`],
      ] as const) {
        const base = `from=${from}&to=${to}${filter}`;
        const routes: [string, string][] = [
          ['salesByDay', `/api/reports/sales?${base}&granularity=day&dimension=time`],
          ['salesByShowroom', `/api/reports/sales?${base}&dimension=showroom`],
          ['salesByCategory', `/api/reports/sales?${base}&dimension=category`],
          ['liabilityByMonth', `/api/reports/liability?${base}&granularity=month`],
          ['liabilityByDay', `/api/reports/liability?${base}&granularity=day`],
          ['membersByShowroom', `/api/reports/members?${base}&dimension=showroom`],
          ['membersByWeek', `/api/reports/members?${base}&dimension=time&granularity=week`],
          ['patterns', `/api/reports/patterns?${base}`],
          ['sms', `/api/reports/sms?${base}`],
          ['salesCsv', `/api/reports/sales?${base}&dimension=showroom&format=csv`],
        ];
        for (const [name, route] of routes) {
          const t = await time(runs, () => get(route));
          timings.push({
            name: `${name}${label}${filterName}`,
            ...t,
            runs,
          });
        }
      }
    }
    // Beyond the target's cases: a year that ended six months ago (the rollups' worst case for
    // members and patterns), three quarters of the showrooms, and every one but the busiest.
    const pastTo = addDays(to, -180);
    const extra: [string, string][] = [
      [
        'membersByShowroom365dEndedHalfYearAgoAll',
        `/api/reports/members?from=${addDays(pastTo, -364)}&to=${pastTo}`,
      ],
      [
        'patterns365dEndedHalfYearAgoAll',
        `/api/reports/patterns?from=${addDays(pastTo, -364)}&to=${pastTo}`,
      ],
      // Every showroom but one: the filter's members are nearly the chain's, read showroom by
      // showroom rather than from the chain's own rows.
      [
        'membersByWeek365dAllButOne',
        `/api/reports/members?from=${addDays(to, -364)}&to=${to}&dimension=time&granularity=week&showrooms=${allButOne.join(',')}`,
      ],
      [
        'patterns365dAllButOne',
        `/api/reports/patterns?from=${addDays(to, -364)}&to=${to}&showrooms=${allButOne.join(',')}`,
      ],
      [
        'membersByWeek365dThreeQuarters',
        `/api/reports/members?from=${addDays(to, -364)}&to=${to}&dimension=time&granularity=week&showrooms=${threeQuarters.join(',')}`,
      ],
      [
        'patterns365dThreeQuarters',
        `/api/reports/patterns?from=${addDays(to, -364)}&to=${to}&showrooms=${threeQuarters.join(',')}`,
      ],
      [
        'patterns365dEndedHalfYearAgoTwo',
        `/api/reports/patterns?from=${addDays(pastTo, -364)}&to=${pastTo}&showrooms=${one},${second}`,
      ],
      // Around three quarters, where the filter's members are most and the members report
      // still counts showroom by showroom (below 52 of 69).
      ...[46, 55, 60].flatMap((n): [string, string][] => {
        const picked = [one, ...allButOne.slice(0, n - 1)].join(',');
        const range = `from=${addDays(to, -364)}&to=${to}&showrooms=${picked}`;
        return [
          [
            `membersByWeek365d${n}Showrooms`,
            `/api/reports/members?${range}&dimension=time&granularity=week`,
          ],
          [`patterns365d${n}Showrooms`, `/api/reports/patterns?${range}`],
        ];
      }),
    ];
    const extraTimings: Timing[] = [];
    for (const [name, route] of extra) {
      extraTimings.push({
        name,
        ...(await time(quick ? 1 : 3, () => get(route))),
        runs: quick ? 1 : 3,
      });
    }
    const today = await time(runs, () => get('/api/reports/today'));
    timings.push({ name: 'today', ...today, runs });

    // Query-time truth for some reports (the baseline the rollups replace), and its figures.
    const truthTimings: Timing[] = [];
    for (const [label, from] of ranges) {
      const truth = ledgerSource(central.db, chain.zone, { to });
      const cases = [
        [
          'salesByDay',
          async () => {
            const q = SalesReportQuery.parse({ from, to, granularity: 'day' });
            return [await salesReport(deps, q), await salesReport(deps, q, truth)];
          },
        ],
        [
          'liabilityByMonth',
          async () => {
            const q = LiabilityReportQuery.parse({ from, to, granularity: 'month' });
            return [await liabilityReport(deps, q), await liabilityReport(deps, q, truth)];
          },
        ],
        [
          'membersByShowroom',
          async () => {
            const q = MembersReportQuery.parse({ from, to });
            return [await membersReport(deps, q), await membersReport(deps, q, truth)];
          },
        ],
      ] as const;
      for (const [name, pair] of cases) {
        const t = performance.now();
        const [fromRollups, fromLedger] = await pair();
        const ms = performance.now() - t;
        const same =
          JSON.stringify({ ...fromRollups, generatedAt: '' }) ===
          JSON.stringify({ ...fromLedger, generatedAt: '' });
        if (!same) {
          failed = true;
          console.error(`DIFFERENT: ${name} ${label} from the rollups and from the ledger`);
        }
        truthTimings.push({
          name: `${name}${label}FromLedger`,
          medianMs: round(ms, 0),
          maxMs: round(ms, 0),
          runs: 1,
        });
      }
    }
    if (quick) {
      // Every report, every granularity, each filter of the timings, the whole window.
      const { checked, differences } = await checkReports(deps, { from: addDays(to, -365), to }, [
        [],
        [one],
        [one, second],
        half,
      ]);
      for (const d of differences)
        console.error(`DIFFERENT: ${d.report} ${JSON.stringify(d.query)}: ${d.where}`);
      console.log(`checked ${checked} reports against the ledger: ${differences.length} differ`);
      if (differences.length > 0) failed = true;
    }

    console.log('');
    console.log('report (range, showrooms)                 median ms   max ms');
    for (const t of [...timings, ...extraTimings, ...truthTimings]) {
      console.log(
        `${t.name.padEnd(40)} ${String(t.medianMs).padStart(10)} ${String(t.maxMs).padStart(8)}`,
      );
    }
    const worst = timings.reduce((w, t) => (t.maxMs > w.maxMs ? t : w));
    console.log(`slowest report: ${worst.name}, max ${worst.maxMs} ms (target ≤ 2000 ms)`);
    const figures: Record<string, unknown> = {
      bench: 'reports',
      quick,
      members: memberCount,
      ledgerEntries: entryCount,
      runsPerReport: runs,
      countLedgerEntriesMedianMs: count.medianMs,
      slowestReportMaxMs: worst.maxMs,
      // The target's cases (30 and 365 days to the last day, whole chain and one showroom).
      targetCasesWithin2s: timings.every((t) => t.maxMs <= 2000),
      extraCasesWithin2s: extraTimings.every((t) => t.maxMs <= 2000),
      agreesWithLedger: !failed,
    };
    for (const t of timings) {
      figures[`${t.name}MedianMs`] = t.medianMs;
      figures[`${t.name}MaxMs`] = t.maxMs;
    }
    for (const t of extraTimings) {
      figures[`${t.name}MedianMs`] = t.medianMs;
      figures[`${t.name}MaxMs`] = t.maxMs;
    }
    for (const t of truthTimings) figures[`${t.name}Ms`] = t.medianMs;
    console.log(JSON.stringify(figures));
  } finally {
    await listening.close();
    await central.db.knex.destroy();
    await database.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  if (failed) process.exit(1);
}

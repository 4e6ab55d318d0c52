/**
 * Replication between central and terminals on loopback: propagation, catch-up, bootstrap,
 * lookup and replay, each beside baselines measured in the same run (a bare Socket.IO relay,
 * PouchDB through express-pouchdb, RxDB with its memory storage). Central runs as its own
 * process on PostgreSQL (or on SQLite with SYNC_DB=sqlite); terminals run in child processes,
 * except the measured ones.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { TerminalCore } from '../terminal/core.ts';
import { pairNewTerminal } from '../test/support/terminal.ts';
import { openDb, type Db } from '../central/db/connect.ts';
import { dbHead } from '../test/support/processes.ts';
import {
  balances,
  bulkMembers,
  bulkMobile,
  flushCentralDb,
  memberCount,
  salesWithBillPrefix,
} from './sync-central-db.ts';
import { digestOf } from './sync-host.ts';
import * as baselines from './sync-baselines.ts';
import {
  cpuShares,
  cpuTimes,
  createPgDatabase,
  execFileAsync,
  percentile,
  randomUUID,
  round,
  ROOT,
  startCentralProcess,
  withoutUndefined,
} from './support.ts';

interface Sizes {
  terminals: number;
  backgroundPerSec: number;
  samples: number;
  catchUpChanges: number;
  catchUpOwnSales: number;
  bootstrapMembers: number;
  lookups: number;
  replaySales: number;
  baselineClients: number;
  baselineCatchUp: number;
  baselineBootstrap: number;
}

const FULL: Sizes = {
  terminals: 50,
  backgroundPerSec: 200,
  samples: 300,
  catchUpChanges: 10_000,
  catchUpOwnSales: 500,
  bootstrapMembers: 1_000_000,
  lookups: 10_000,
  replaySales: 10_000,
  baselineClients: 50,
  baselineCatchUp: 10_000,
  baselineBootstrap: 50_000,
};

const QUICK: Sizes = {
  terminals: 6,
  backgroundPerSec: 50,
  samples: 30,
  catchUpChanges: 1_000,
  catchUpOwnSales: 50,
  bootstrapMembers: 20_000,
  lookups: 1_000,
  replaySales: 500,
  baselineClients: 5,
  baselineCatchUp: 500,
  baselineBootstrap: 2_000,
};

interface Host {
  child: ChildProcess;
  /** One command to the host (see bench/sync-host.ts); T is the shape of its answer. */
  call<T = unknown>(message: Record<string, unknown>): Promise<T>;
}

/** What the host's 'bootstrap' command answers. */
interface BootResult {
  ms: number;
  rows: number;
  rowsPerSec: number;
  peakRssMb: number;
  fileMb: number;
  lookupExactP50Ms: number;
  lookupExactP99Ms: number;
  lookupDigitsP99Ms: number;
  lookupNameP99Ms: number;
}

/** Environment for a child that writes a CPU profile into `dir` when it stops (none without). */
function cpuProfileInto(dir: string | undefined): { NODE_OPTIONS?: string } {
  return dir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-interval=200 --cpu-prof-dir=${dir}` } : {};
}

function startHost(): Host {
  const child = fork(path.join(ROOT, 'bench/sync-host.ts'), [], {
    cwd: ROOT,
    env: {
      ...process.env,
      LOG_LEVEL: 'silent',
      // SYNC_HOSTS_TMPDIR: where the hosted terminals keep their caches (e.g. /dev/shm, to see
      // what their disk writes cost the measured path on a machine they share with central).
      ...(process.env.SYNC_HOSTS_TMPDIR ? { TMPDIR: process.env.SYNC_HOSTS_TMPDIR } : {}),
      ...cpuProfileInto(process.env.SYNC_HOSTS_PROFILE_DIR),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const queue: { resolve: (v: unknown) => void; reject: (e: Error) => void }[] = [];
  child.on('message', (m: { ok: boolean; result?: unknown; error?: string }) => {
    const waiter = queue.shift();
    if (!waiter) return;
    if (m.ok) waiter.resolve(m.result);
    else waiter.reject(new Error(m.error));
  });
  child.on('exit', (code) => {
    for (const w of queue.splice(0)) w.reject(new Error(`terminal host exited with ${code}`));
  });
  return {
    child,
    call: <T>(message: Record<string, unknown>) =>
      new Promise<T>((resolve, reject) => {
        queue.push({
          resolve: (v) => {
            resolve(v as T);
          },
          reject,
        });
        child.send(message);
      }),
  };
}

function centralDialect(value: string | undefined): Db['dialect'] {
  if (value === undefined || value === '' || value === 'pg') return 'pg';
  if (value === 'sqlite') return 'sqlite';
  throw new Error(`SYNC_DB must be pg or sqlite, not ${value}`);
}

async function centralDigest(db: Db): Promise<{ head: number; digest: string }> {
  const head = await dbHead(db.knex);
  return { head, digest: digestOf(await balances(db)) };
}

/** Posts `count` sales over 32 keep-alive connections; throws on any refusal. */
async function postSales(
  url: string,
  token: string,
  count: number,
  sale: (i: number) => unknown,
): Promise<void> {
  const pool = new Pool(url, { connections: 32 });
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < count) {
          const i = next;
          next += 1;
          const res = await pool.request({
            path: '/api/sales',
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${token}`,
              'idempotency-key': `bench-sync-${i}-${randomUUID()}`,
            },
            body: JSON.stringify(sale(i)),
          });
          const text = await res.body.text();
          if (res.statusCode !== 201) throw new Error(`sale ${i}: ${res.statusCode} ${text}`);
        }
      }),
    );
  } finally {
    await pool.close();
  }
}

/** How many of these caches (local digests and every host terminal's) equal central's. */
async function compareWithCentral(
  centralDb: Db,
  localDigests: string[],
  hosts: Host[],
): Promise<{ equal: number; all: number; head: number }> {
  const theirs = (
    await Promise.all(hosts.map((h) => h.call<{ digest: string }[]>({ cmd: 'digest' })))
  ).flat();
  const truth = await centralDigest(centralDb);
  const all = [...localDigests, ...theirs.map((t) => t.digest)];
  return { equal: all.filter((d) => d === truth.digest).length, all: all.length, head: truth.head };
}

async function login(url: string): Promise<string> {
  const r = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'demo-admin-2026' }),
  });
  return ((await r.json()) as { token: string }).token;
}

/**
 * From central's /metrics: its event-loop busy time so far, the writer's batches and the
 * commands in them; and when they were read.
 */
async function centralBusy(
  url: string,
): Promise<{ activeS: number; batches: number; commands: number; atMs: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    if (!line) throw new Error(`central /metrics has no ${name}`);
    return Number(line.split(' ')[1]);
  };
  return {
    activeS: value('nodejs_eventloop_active_seconds_total'),
    batches: value('ledger_batch_commands_count'),
    commands: value('ledger_batch_commands_sum'),
    atMs: performance.now(),
  };
}

/** Share of the time between two readings that central's event loop was busy, in percent. */
function busyPct(from: { activeS: number; atMs: number }, to: { activeS: number; atMs: number }) {
  return Math.round((100 * (to.activeS - from.activeS) * 1000) / (to.atMs - from.atMs));
}

function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const tick = () => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 1);
    };
    tick();
  });
}

/** Resolves once `check` holds, testing it whenever one of `sources` emits 'status' or 'applied'. */
function waitForEvents(
  what: string,
  sources: EventEmitter[],
  check: () => boolean,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      for (const source of sources) {
        source.off('status', test);
        source.off('applied', test);
      }
      if (error) reject(error);
      else resolve();
    };
    const test = () => {
      if (check()) done();
    };
    const timer = setTimeout(() => {
      done(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    for (const source of sources) {
      source.on('status', test);
      source.on('applied', test);
    }
    test();
  });
}

function stats(samples: number[]): { p50Ms: number; p99Ms: number; maxMs: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted.at(-1) ?? NaN),
  };
}

async function localTerminal(url: string, token: string, showroom: string) {
  const { dataDir, credentials } = await pairNewTerminal(
    { url, tokens: { admin: token } },
    showroom,
  );
  return { dataDir, credentials, core: new TerminalCore({ dataDir, credentials }) };
}

export async function run(quick: boolean): Promise<void> {
  // SYNC_TERMINALS and SYNC_RATE override the propagation phase's terminals and background
  // sales/s, and SYNC_ONLY=propagation (or catch-up) stops after that phase: to see which of the
  // two costs what, or to time one phase again without the rest.
  const size = {
    ...(quick ? QUICK : FULL),
    ...(process.env.SYNC_TERMINALS ? { terminals: Number(process.env.SYNC_TERMINALS) } : {}),
    ...(process.env.SYNC_RATE ? { backgroundPerSec: Number(process.env.SYNC_RATE) } : {}),
  };
  const only = process.env.SYNC_ONLY;
  const figures: Record<string, number | string | boolean> = { bench: 'sync', quick };
  const say = (line: string) => {
    console.log(line);
  };
  // SYNC_DB=sqlite: central on SQLite in its data folder (the default installation; one
  // central process), instead of PostgreSQL (production).
  const dialect = centralDialect(process.env.SYNC_DB);
  figures.centralDb = dialect;
  const pgDatabase = dialect === 'pg' ? await createPgDatabase('sl_bench_sync') : undefined;
  const central = await startCentralProcess({
    DATABASE_URL: pgDatabase?.url,
    DEMO_SEED: 'always',
    ...cpuProfileInto(process.env.SYNC_CENTRAL_PROFILE_DIR),
  });
  // Central's database, opened beside it as central opens it, to seed and check.
  const centralDb = openDb({
    ...(pgDatabase ? { databaseUrl: pgDatabase.url } : {}),
    dataDir: central.dataDir,
  });
  say(`central's database: ${dialect === 'pg' ? 'PostgreSQL' : 'SQLite'}`);
  const hosts: Host[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const token = await login(central.url);
    // Members the propagation and catch-up phases use (bulk, balance 0).
    await bulkMembers(centralDb, 1, size.catchUpChanges + 1_000);
    const probeMobiles = Array.from({ length: 1_000 }, (_, i) =>
      bulkMobile(size.catchUpChanges + 1 + i),
    );

    // --- propagation ------------------------------------------------------------------------
    say(
      `\nPropagation: a sale at terminal A until terminal B's cache shows it, ${size.terminals} terminals connected, ${size.backgroundPerSec} sales/s of background load`,
    );
    const a = await localTerminal(central.url, token, 'MUM-01');
    const b = await localTerminal(central.url, token, 'DEL-01');
    a.core.start();
    b.core.start();
    cleanups.push(async () => {
      await a.core.stop();
      await b.core.stop();
    });
    const hostCount = Math.max(1, Math.min(2, size.terminals - 2));
    const others = size.terminals - 2;
    for (let i = 0; i < hostCount; i += 1) hosts.push(startHost());
    await Promise.all(
      hosts.map((h, i) =>
        h.call({
          cmd: 'start',
          count: Math.floor(others / hostCount) + (i < others % hostCount ? 1 : 0),
          centralUrl: central.url,
          adminToken: token,
          showrooms: ['MUM-01', 'DEL-01', 'BLR-01'],
        }),
      ),
    );
    await Promise.all([a.core.sync.settled(60_000), b.core.sync.settled(60_000)]);
    /**
     * Background sales, to members the probe skips, sent as counters send theirs: an outbox
     * submit on the connection of one hosted terminal after another (since 2026-11-24; before,
     * posted to central's HTTP API, as SYNC_LOAD=http still does, and does with no hosted
     * terminal). Not through the terminals' outboxes: each would fsync its outbox on this one
     * machine's disk, where real counters each have their own. Every terminal applies every push.
     */
    const loadHosts = hosts.slice(0, 1);
    const loadVia = process.env.SYNC_LOAD === 'http' || others === 0 ? 'http' : 'socket';
    // At random moments, as independent counters sell; SYNC_ARRIVALS=ticks: four every 20 ms.
    const arrivals = process.env.SYNC_ARRIVALS === 'ticks' ? 'ticks' : 'poisson';
    const startLoad = (via: 'http' | 'socket') =>
      Promise.all(
        loadHosts.map((h) =>
          h.call({
            cmd: via === 'http' ? 'http-load' : 'socket-load',
            centralUrl: central.url,
            token,
            salesPerSec: size.backgroundPerSec,
            mobiles: probeMobiles.slice(100),
            arrivals,
          }),
        ),
      );
    /** Stops the load once every sale it sent is answered; each must have been written. */
    const stopLoad = async () => {
      const results = await Promise.all(
        loadHosts.map((h) => h.call<{ sales: number; refused: number }>({ cmd: 'stop-load' })),
      );
      const refused = results.reduce((n, r) => n + r.refused, 0);
      if (refused > 0) throw new Error(`${refused} background sales not written`);
      return results.reduce((n, r) => n + r.sales, 0);
    };
    // The setup wrote 11,000 members into 50 caches and central's tables: flushed now, or the
    // kernel writes it back (bursts of 200 MB/s in /proc/diskstats) in the measured seconds.
    try {
      await flushCentralDb(centralDb);
      execFileSync('sync');
    } catch (error) {
      say(`  (setup's writes not flushed first: ${(error as Error).message})`);
    }
    await startLoad(loadVia);
    await new Promise((r) => setTimeout(r, 1_000)); // load steady
    const probe = probeMobiles.slice(0, 100);
    const samples: number[] = [];
    const confirmed: number[] = []; // recordSale returned: the sale is on the counter's disk
    const answered: number[] = []; // central's answer reached A
    const busyBefore = await centralBusy(central.url);
    const cpuGroups = {
      central: central.child.pid === undefined ? [] : [central.child.pid],
      // On SQLite there is no PostgreSQL of central's to count (any other would be counted).
      ...(dialect === 'pg' ? { postgres: { comm: 'postgres' } } : {}),
      hosts: hosts.flatMap((h) => (h.child.pid === undefined ? [] : [h.child.pid])),
      bench: [process.pid],
    };
    const cpuBefore = cpuTimes(cpuGroups);
    for (let i = 0; i < size.samples + 10; i += 1) {
      const mobile = probe[i % probe.length] ?? '';
      const before = b.core.findByMobile(mobile)?.balance ?? 0;
      const t0 = performance.now();
      const { key } = a.core.recordSale({
        billNumber: `PROBE-${i}`,
        mobile,
        lines: [{ sku: 'P', categoryCode: 'ELEC', quantity: 1, amountPaise: 10_000 }], // 2 points
      });
      const confirmedMs = performance.now() - t0;
      let answeredMs = 0;
      // Checked when A or B reports a change (not by polling: a 1 ms timer adds up to a
      // millisecond, and its CPU, to every sample).
      await waitForEvents(
        `probe ${i} at B`,
        [a.core.sync, b.core.sync],
        () => {
          if (!answeredMs && !a.core.store.outboxItem(key)) answeredMs = performance.now() - t0;
          return (b.core.findByMobile(mobile)?.balance ?? 0) === before + 2;
        },
        10_000,
      );
      if (i >= 10) {
        // the first 10 warm up
        samples.push(performance.now() - t0);
        confirmed.push(confirmedMs);
        answered.push(answeredMs || performance.now() - t0);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const cpuAfter = cpuTimes(cpuGroups);
    const busyAfter = await centralBusy(central.url);
    const centralBusyPct = busyPct(busyBefore, busyAfter);
    // Each batch the writer commits is one push to every terminal.
    const batchesPerSec = Math.round(
      ((busyAfter.batches - busyBefore.batches) * 1000) / (busyAfter.atMs - busyBefore.atMs),
    );
    const commands = busyAfter.commands - busyBefore.commands;
    const commandsPerBatch = round(commands / Math.max(1, busyAfter.batches - busyBefore.batches));
    const used = cpuShares(cpuBefore, cpuAfter);
    const cpu = used?.pct;
    // Central's CPU per command its writer committed in the same seconds (probes and load).
    const centralCpuPerSaleUs =
      used?.ms.central === undefined
        ? undefined
        : Math.round((used.ms.central * 1000) / Math.max(1, commands));
    const ours = stats(samples);
    const backgroundSales = await stopLoad();
    say('  measuring the baselines…');
    const relay = await baselines.socketIoRelayPropagation({
      samples: size.samples,
      clients: size.terminals,
      backgroundPerSec: size.backgroundPerSec,
    });
    // PouchDB's clients and server share this process, and each change costs every client
    // several HTTP requests: at 50 clients it saturates, so it runs with fewer (printed).
    const pouchClients = Math.min(size.baselineClients, 5);
    const rxClients = Math.min(size.baselineClients, 10);
    const pouch = await baselines.pouchdbPropagation({
      samples: Math.min(size.samples, 50),
      clients: pouchClients,
      backgroundPerSec: size.backgroundPerSec,
    });
    const rx = await baselines.rxdbPropagation({
      samples: Math.min(size.samples, 100),
      clients: rxClients,
      backgroundPerSec: size.backgroundPerSec,
    });
    const row = (name: string, s: { p50Ms: number; p99Ms: number; maxMs: number }) => {
      say(
        `  ${name.padEnd(44)} p50 ${String(s.p50Ms).padStart(7)} ms  p99 ${String(s.p99Ms).padStart(7)} ms  max ${String(s.maxMs).padStart(7)} ms`,
      );
    };
    row('Showroom Loyalty (sale → outbox → central → B)', ours);
    row('  of which: the sale durable at A', stats(confirmed));
    row('  of which: central’s answer back at A', stats(answered));
    row('floor: bare Socket.IO relay', relay);
    row(`PouchDB live replication (${pouchClients} clients)`, pouch);
    row(`RxDB replication (${rxClients} clients)`, rx);
    say(
      `  background: ${backgroundSales} sales ${loadVia === 'http' ? 'over HTTP' : 'from the terminals'} while ${size.terminals} terminals applied every push; p99 ÷ floor p99: ${round(ours.p99Ms / relay.p99Ms)}`,
    );
    say(
      `  central's event loop was busy ${centralBusyPct} % of the time the samples took; it committed ${batchesPerSec} batches/s of ${commandsPerBatch} commands on average`,
    );
    if (cpu) {
      say(
        `  CPU while the samples ran, % of one core: central ${cpu.central},${dialect === 'pg' ? ` PostgreSQL ${cpu.postgres},` : ''} hosted terminals ${cpu.hosts}, this process (A, B, probes) ${cpu.bench}; central ${centralCpuPerSaleUs} µs per sale`,
      );
    }
    Object.assign(figures, {
      terminals: size.terminals,
      backgroundSalesPerSec: size.backgroundPerSec,
      backgroundVia: loadVia,
      backgroundArrivals: arrivals,
      propagationP50Ms: ours.p50Ms,
      propagationP99Ms: ours.p99Ms,
      propagationMaxMs: ours.maxMs,
      outboxCommitP50Ms: stats(confirmed).p50Ms,
      answerAtAP50Ms: stats(answered).p50Ms,
      relayP50Ms: relay.p50Ms,
      relayP99Ms: relay.p99Ms,
      relayMaxMs: relay.maxMs,
      pouchdbClients: pouchClients,
      rxdbClients: rxClients,
      pouchdbP50Ms: pouch.p50Ms,
      pouchdbP99Ms: pouch.p99Ms,
      rxdbP50Ms: rx.p50Ms,
      rxdbP99Ms: rx.p99Ms,
      propagationP99ToFloor: round(ours.p99Ms / relay.p99Ms),
      centralEventLoopBusyPct: centralBusyPct,
      batchesPerSec,
      commandsPerBatch,
      ...(cpu
        ? {
            centralCpuPct: cpu.central,
            ...(dialect === 'pg' ? { postgresCpuPct: cpu.postgres } : {}),
            hostsCpuPct: cpu.hosts,
            benchCpuPct: cpu.bench,
            centralCpuPerSaleUs,
          }
        : {}),
    });

    if (only === 'propagation') {
      await Promise.all([a.core.sync.settled(60_000), b.core.sync.settled(60_000)]);
      const checked = await compareWithCentral(
        centralDb,
        [a.core, b.core].map((core) => digestOf(core.store.allMembers())),
        hosts,
      );
      if (checked.equal !== checked.all) throw new Error('a terminal cache differs from central');
      say(`\nEvery terminal against central: ${checked.equal} of ${checked.all} caches equal`);
      console.log(JSON.stringify(figures));
      return;
    }

    // --- catch-up ---------------------------------------------------------------------------
    say(
      `\nCatch-up: a terminal offline while ${size.catchUpChanges.toLocaleString('en-IN')} changes happen elsewhere, with ${size.catchUpOwnSales} sales of its own queued`,
    );
    const c = await localTerminal(central.url, token, 'BLR-01');
    c.core.start();
    await c.core.sync.settled(60_000);
    await c.core.sync.stop();
    // Changes elsewhere: one sale for each of catchUpChanges members, over central's HTTP API.
    await postSales(central.url, token, size.catchUpChanges, (i) => ({
      showroomCode: 'DEL-01',
      billNumber: `ELSE-${i}`,
      mobile: bulkMobile(i + 1),
      lines: [{ sku: 'E', categoryCode: 'BOOK', quantity: 1, amountPaise: 20_000 }],
    }));
    await b.core.sync.settled(120_000);
    const cOffline = new TerminalCore({ dataDir: c.dataDir, credentials: c.credentials });
    c.core.store.close();
    for (let i = 0; i < size.catchUpOwnSales; i += 1) {
      cOffline.recordSale({
        billNumber: `OWN-${i}`,
        mobile: probeMobiles[200 + (i % 500)] ?? '',
        lines: [{ sku: 'O', categoryCode: 'APPL', quantity: 1, amountPaise: 50_000 }],
      });
    }
    const headBefore = await dbHead(centralDb.knex);
    const t0 = performance.now();
    cOffline.start();
    await waitFor(
      'catch-up',
      () =>
        cOffline.store.cursor >= headBefore + size.catchUpOwnSales &&
        cOffline.store.outboxCounts().queued === 0,
      120_000,
    );
    const catchUpMs = performance.now() - t0;
    await cOffline.sync.settled(60_000);
    const afterCatchUp = await centralDigest(centralDb);
    const cDigest = digestOf(cOffline.store.allMembers());
    if (cDigest !== afterCatchUp.digest)
      throw new Error('catch-up: the cache differs from central');
    cleanups.push(() => cOffline.stop());
    say('  measuring the baselines…');
    const pouchCatch = await baselines.pouchdbCatchUp({ changes: size.baselineCatchUp });
    const rxCatch = await baselines.rxdbCatchUp({ changes: size.baselineCatchUp });
    say(
      `  Showroom Loyalty                             ${round(catchUpMs)} ms (cache equals central)`,
    );
    say(
      `  PouchDB (${size.baselineCatchUp.toLocaleString('en-IN')} changes, nothing queued)          ${pouchCatch.ms} ms`,
    );
    say(
      `  RxDB (${size.baselineCatchUp.toLocaleString('en-IN')} changes, nothing queued)             ${rxCatch.ms} ms`,
    );
    Object.assign(figures, {
      catchUpChanges: size.catchUpChanges,
      catchUpOwnSales: size.catchUpOwnSales,
      catchUpMs: round(catchUpMs),
      pouchdbCatchUpMs: pouchCatch.ms,
      rxdbCatchUpMs: rxCatch.ms,
    });

    if (only === 'catch-up') {
      console.log(JSON.stringify(figures));
      return;
    }

    // --- replay -----------------------------------------------------------------------------
    say(
      `\nReplay: ${size.replaySales.toLocaleString('en-IN')} sales queued offline until all are acknowledged`,
    );
    const r = await localTerminal(central.url, token, 'MUM-01');
    r.core.start();
    await r.core.sync.settled(60_000);
    await r.core.sync.stop();
    r.core.store.close();
    const rOffline = new TerminalCore({ dataDir: r.dataDir, credentials: r.credentials });
    for (let i = 0; i < size.replaySales; i += 1) {
      rOffline.recordSale({
        billNumber: `REPLAY-${i}`,
        mobile: bulkMobile(1 + (i % size.catchUpChanges)),
        lines: [{ sku: 'R', categoryCode: 'ELTR', quantity: 1, amountPaise: 100_000 }],
      });
    }
    const r0 = performance.now();
    rOffline.start();
    await waitFor('replay', () => rOffline.store.outboxCounts().queued === 0, 300_000);
    const replayMs = performance.now() - r0;
    const replayed = await salesWithBillPrefix(centralDb, 'REPLAY-');
    if (replayed !== size.replaySales)
      throw new Error(`replay: ${replayed} of ${size.replaySales} sales at central`);
    cleanups.push(() => rOffline.stop());
    say(
      `  ${round(replayMs)} ms, ${Math.round(size.replaySales / (replayMs / 1000))} sales/s acknowledged; each sale at central once`,
    );
    Object.assign(figures, {
      replaySales: size.replaySales,
      replayMs: round(replayMs),
      replaySalesPerSec: Math.round(size.replaySales / (replayMs / 1000)),
    });

    // --- every terminal so far against central ----------------------------------------------
    const locals = [a.core, b.core, cOffline, rOffline];
    await Promise.all(locals.map((core) => core.sync.settled(60_000)));
    const checked = await compareWithCentral(
      centralDb,
      locals.map((core) => digestOf(core.store.allMembers())),
      hosts,
    );
    say(
      `\nEvery terminal against central: ${checked.equal} of ${checked.all} caches equal central's ${checked.head.toLocaleString('en-IN')} changes`,
    );
    if (checked.equal !== checked.all) throw new Error('a terminal cache differs from central');
    // They would each pull the million members below, on the same two cores as the measured one.
    for (const core of locals) await core.stop();
    cleanups.length = 0;
    await Promise.all(hosts.map((h) => h.call({ cmd: 'stop-terminals' })));

    // --- bootstrap and lookup ---------------------------------------------------------------
    const existing = await memberCount(centralDb);
    const extra = Math.max(0, size.bootstrapMembers - existing);
    say(
      `\nBootstrap: a new terminal receiving ${size.bootstrapMembers.toLocaleString('en-IN')} members while sales keep arriving`,
    );
    await bulkMembers(centralDb, size.catchUpChanges + 1_001, extra);
    const allMobiles = Array.from({ length: 1_000 }, (_, i) =>
      bulkMobile(1 + Math.floor((i * (size.catchUpChanges + 1_000 + extra - 1)) / 1_000)),
    );
    const namePrefixes = ['aa', 'pri', 'roh', 'ana', 'vik', 'mee', 'arj', 'kav', 'अमि', 'सुनी'];
    await startLoad('http'); // the hosted terminals are stopped by now
    const headAtStart = await dbHead(centralDb.knex);
    const bootHost = startHost();
    hosts.push(bootHost);
    const boot = await bootHost.call<BootResult>({
      cmd: 'bootstrap',
      centralUrl: central.url,
      adminToken: token,
      headAtStart,
      mobiles: allMobiles,
      namePrefixes,
      lookups: size.lookups,
    });
    const bootstrapBackground = await stopLoad();
    const pouchBoot = await baselines.pouchdbBootstrap({ members: size.baselineBootstrap });
    const rxBoot = await baselines.rxdbBootstrap({ members: size.baselineBootstrap });
    say(
      `  Showroom Loyalty   ${Math.round(boot.ms)} ms for ${boot.rows.toLocaleString('en-IN')} rows = ${Math.round(boot.rowsPerSec).toLocaleString('en-IN')} rows/s; peak memory ${boot.peakRssMb} MB; cache file ${boot.fileMb} MB; ${bootstrapBackground} sales written by the load, from before it started to after the lookups`,
    );
    say(
      `  PouchDB            ${Math.round(pouchBoot.rowsPerSec).toLocaleString('en-IN')} rows/s (${size.baselineBootstrap.toLocaleString('en-IN')} documents in ${Math.round(pouchBoot.ms)} ms)`,
    );
    say(
      `  RxDB               ${Math.round(rxBoot.rowsPerSec).toLocaleString('en-IN')} rows/s (${size.baselineBootstrap.toLocaleString('en-IN')} documents in ${Math.round(rxBoot.ms)} ms)`,
    );
    say(
      `\nLookup on that cache (${size.lookups.toLocaleString('en-IN')} each): exact p50 ${round(boot.lookupExactP50Ms, 3)} ms, p99 ${round(boot.lookupExactP99Ms, 3)} ms; last digits p99 ${round(boot.lookupDigitsP99Ms, 3)} ms; name prefix p99 ${round(boot.lookupNameP99Ms, 3)} ms`,
    );
    Object.assign(figures, {
      bootstrapMembers: boot.rows,
      bootstrapMs: Math.round(boot.ms),
      bootstrapRowsPerSec: Math.round(boot.rowsPerSec),
      bootstrapPeakRssMb: boot.peakRssMb,
      bootstrapBackgroundSales: bootstrapBackground,
      bootstrapFileMb: boot.fileMb,
      pouchdbBootstrapRowsPerSec: Math.round(pouchBoot.rowsPerSec),
      rxdbBootstrapRowsPerSec: Math.round(rxBoot.rowsPerSec),
      lookupExactP99Ms: round(boot.lookupExactP99Ms, 3),
      lookupDigitsP99Ms: round(boot.lookupDigitsP99Ms, 3),
      lookupNameP99Ms: round(boot.lookupNameP99Ms, 3),
    });

    // --- the bootstrapped terminal against central ------------------------------------------
    const booted = await compareWithCentral(centralDb, [], [bootHost]);
    say(
      `  the new terminal's cache equals central's ${booted.head.toLocaleString('en-IN')} changes: ${booted.equal === 1 ? 'yes' : 'NO'}`,
    );
    if (booted.equal !== 1) throw new Error('the bootstrapped cache differs from central');
    const verify = await execFileAsync(process.execPath, ['central/main.ts', 'verify'], {
      cwd: ROOT,
      // DATABASE_URL as central had it: unset on SQLite, even if this shell sets it.
      env: withoutUndefined({
        ...process.env,
        DATABASE_URL: pgDatabase?.url,
        DATA_DIR: central.dataDir,
        LOG_LEVEL: 'warn',
      }),
    });
    say(`  central verify: ${verify.stdout.trim().split('\n').at(-1) ?? ''}`);
    figures.allCachesEqual = true;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await Promise.all(hosts.map((h) => h.call({ cmd: 'exit' }).catch(() => undefined)));
    await centralDb.knex.destroy();
    await central.stop();
    await pgDatabase?.drop();
    fs.rmSync(central.dataDir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(figures));
}

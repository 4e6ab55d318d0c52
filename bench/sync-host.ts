/**
 * A child process of the sync benchmark that hosts terminal cores, as counters on other
 * machines would be, so that their work does not run on the measuring process's event loop.
 * Commands arrive over IPC (process.send); each gets one answer.
 *
 *   { cmd: 'start', count, centralUrl, adminToken, showrooms }  pair and start terminals
 *   { cmd: 'http-load', centralUrl, token, salesPerSec, mobiles, arrivals? } sales over HTTP
 *   { cmd: 'socket-load', salesPerSec, mobiles, arrivals? }       sales from the terminals
 *   { cmd: 'stop-load' }                                          → { sales }
 *   { cmd: 'bootstrap', centralUrl, adminToken, mobiles }         one new terminal: time to
 *                                                                 catch up, memory, file, lookups
 *   { cmd: 'digest' }                                             → each terminal's cursor and digest
 *   { cmd: 'stop-terminals' }                                     stop and remove its terminals
 *   { cmd: 'exit' }
 */
import fs from 'node:fs';
import { createHash, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { pairNewTerminal } from '../test/support/terminal.ts';
import { TerminalCore } from '../terminal/core.ts';
import { CACHE_FILE } from '../terminal/core.ts';

interface Started {
  core: TerminalCore;
  dataDir: string;
}

const terminals: Started[] = [];
let load: NodeJS.Timeout | undefined;
let loadSales = 0;
let loadRefused = 0;
/** Sales sent and not yet answered, awaited when the load stops. */
const loadPending = new Set<Promise<void>>();
/** Makes each load's keys and bill numbers its own: a second load must not replay the first. */
let loadTag = '';
let httpPool: Pool | undefined;

/**
 * Sends `salesPerSec` sales; `send` resolves whether central wrote one. By default at random
 * moments, as many independent counters sell (a Poisson process: exponential gaps, several
 * close together now and then); `arrivals: 'ticks'` sends them a few at a time every 20 ms, as
 * this benchmark did before 2026-11-24's seventh session.
 */
function startLoad(
  salesPerSec: number,
  send: (i: number) => Promise<boolean>,
  arrivals: 'poisson' | 'ticks',
): void {
  if (load) clearTimeout(load);
  load = undefined;
  let n = 0;
  loadSales = 0;
  loadRefused = 0;
  loadTag = randomUUID().slice(0, 8);
  // No load asked (the path measured alone): no timer either. A rate of 0 made the gap
  // Infinity, which setTimeout takes as 1 ms: the host woke every millisecond for nothing.
  if (!(salesPerSec > 0)) return;
  const sendOne = () => {
    n += 1;
    const sent = send(n).then(
      (written) => {
        if (written) loadSales += 1;
        else loadRefused += 1;
      },
      () => {
        loadRefused += 1;
      },
    );
    loadPending.add(sent);
    void sent.finally(() => loadPending.delete(sent));
  };
  if (arrivals === 'ticks') {
    const perTick = (salesPerSec * 20) / 1000;
    let due = 0;
    load = setInterval(() => {
      due += perTick;
      for (; due >= 1; due -= 1) sendOne();
    }, 20);
    return;
  }
  const gapMs = () => (-Math.log(1 - Math.random()) * 1000) / salesPerSec;
  let next = performance.now() + gapMs();
  const tick = () => {
    // Every sale due by now (a timer fires late by up to a millisecond or so), then wait.
    for (const now = performance.now(); next <= now; next += gapMs()) sendOne();
    load = setTimeout(tick, Math.max(0, next - performance.now()));
  };
  load = setTimeout(tick, Math.max(0, next - performance.now()));
}

function arrivalsOf(message: Record<string, unknown>): 'poisson' | 'ticks' {
  return message.arrivals === 'ticks' ? 'ticks' : 'poisson';
}

function reply(message: unknown): void {
  process.send?.(message);
}

/** A digest of a cache's member states (id, balance, seq), to compare with central's. */
export function digestOf(rows: Iterable<{ id: number; balance: number; seq: number }>): string {
  const hash = createHash('sha256');
  for (const r of rows) hash.update(`${r.id}:${r.balance}:${r.seq};`);
  return hash.digest('hex');
}

function cacheDigest(core: TerminalCore): string {
  return digestOf(
    core.store.db
      .prepare<[], { id: number; balance: number; seq: number }>(
        'SELECT id, balance, seq FROM members ORDER BY id',
      )
      .iterate(),
  );
}

async function settle(core: TerminalCore, timeoutMs: number): Promise<void> {
  await core.sync.settled(timeoutMs);
}

function peakRssMb(): number {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? '0');
  return Math.round(kb / 1024);
}

function fileMb(dataDir: string): number {
  let bytes = 0;
  for (const suffix of ['', '-wal', '-shm']) {
    try {
      bytes += fs.statSync(`${dataDir}/${CACHE_FILE}${suffix}`).size;
    } catch {
      // absent
    }
  }
  return Math.round(bytes / 1024 / 1024);
}

function p(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

async function handle(message: Record<string, unknown>): Promise<unknown> {
  switch (message.cmd) {
    case 'start': {
      const target = {
        url: message.centralUrl as string,
        tokens: { admin: message.adminToken as string },
      };
      const showrooms = message.showrooms as string[];
      for (let i = 0; i < (message.count as number); i += 1) {
        const showroom = showrooms[i % showrooms.length] ?? 'MUM-01';
        const { dataDir, credentials } = await pairNewTerminal(target, showroom, `Host ${i}`);
        const core = new TerminalCore({ dataDir, credentials }).start();
        terminals.push({ core, dataDir });
      }
      await Promise.all(terminals.map((t) => settle(t.core, 60_000)));
      return { started: terminals.length };
    }
    case 'http-load': {
      const pool = new Pool(message.centralUrl as string, {
        connections: 16,
        headersTimeout: 30_000, // a stalled central fails the load's sales, not the run's patience
      });
      const mobiles = message.mobiles as string[];
      httpPool = pool;
      startLoad(
        message.salesPerSec as number,
        async (i) => {
          const res = await pool.request({
            path: '/api/sales',
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${message.token as string}`,
              'idempotency-key': `bg-${loadTag}-${i}`,
            },
            body: JSON.stringify({
              showroomCode: 'BLR-01',
              billNumber: `HBG-${loadTag}-${i}`,
              mobile: mobiles[i % mobiles.length],
              lines: [{ sku: 'BG', categoryCode: 'ELEC', quantity: 1, amountPaise: 10_000 }],
            }),
          });
          await res.body.dump();
          return res.statusCode === 201;
        },
        arrivalsOf(message),
      );
      return { loading: message.salesPerSec };
    }
    case 'socket-load': {
      // As counters send their sales: an outbox submit on a hosted terminal's own connection,
      // each terminal in turn. Not through their outboxes: on this one machine each would
      // fsync the same disk, which real counters do not share.
      const mobiles = message.mobiles as string[];
      startLoad(
        message.salesPerSec as number,
        async (i) => {
          const { core } = terminals[i % terminals.length] ?? {};
          if (!core) throw new Error('no hosted terminal to sell at');
          const { showroomCode, terminalId } = core.credentials;
          const answer = (await core.sync.socket.timeout(10_000).emitWithAck('outbox:submit', {
            items: [
              {
                kind: 'sale',
                key: `${terminalId}-bg-${loadTag}-${i}`,
                body: {
                  showroomCode,
                  terminalId,
                  billNumber: `SBG-${loadTag}-${i}`,
                  soldAt: new Date().toISOString(),
                  mobile: mobiles[i % mobiles.length],
                  lines: [{ sku: 'BG', categoryCode: 'ELEC', quantity: 1, amountPaise: 10_000 }],
                },
              },
            ],
          })) as { results?: { outcome: string }[] };
          return answer.results?.[0]?.outcome === 'applied';
        },
        arrivalsOf(message),
      );
      return { loading: message.salesPerSec };
    }
    case 'stop-load': {
      if (load) clearTimeout(load);
      load = undefined;
      // Every sale sent is answered (written or refused) before the count is given.
      await Promise.all(loadPending);
      await httpPool?.close();
      httpPool = undefined;
      await Promise.all(terminals.map((t) => settle(t.core, 60_000)));
      return { sales: loadSales, refused: loadRefused };
    }
    case 'digest': {
      await Promise.all(terminals.map((t) => settle(t.core, 60_000)));
      return terminals.map((t) => ({ cursor: t.core.store.cursor, digest: cacheDigest(t.core) }));
    }
    case 'bootstrap': {
      const target = {
        url: message.centralUrl as string,
        tokens: { admin: message.adminToken as string },
      };
      const { dataDir, credentials } = await pairNewTerminal(target, 'BLR-01', 'Bootstrap');
      const headAtStart = message.headAtStart as number;
      const started = performance.now();
      const core = new TerminalCore({ dataDir, credentials }).start();
      // Done when every member is in and the lookup indexes are built (ready for the counter).
      await new Promise<void>((resolve, reject) => {
        const poll = setInterval(() => {
          if (core.store.cursor >= headAtStart && core.store.hasLookupIndexes()) {
            clearInterval(poll);
            clearTimeout(timer);
            resolve();
          }
        }, 2);
        const timer = setTimeout(() => {
          clearInterval(poll);
          reject(new Error(`bootstrap not done in 120 s: cursor ${core.store.cursor}`));
        }, 120_000);
      });
      const ms = performance.now() - started;
      const rows = core.store.memberCount();
      const memoryMb = peakRssMb();
      const sizeMb = fileMb(dataDir);
      await settle(core, 60_000);

      // Lookups on the full cache: exact mobile, last digits, name prefix.
      const mobiles = message.mobiles as string[];
      const names = message.namePrefixes as string[];
      const time = (fn: (i: number) => unknown, n: number): number[] => {
        const out: number[] = [];
        for (let i = 0; i < n; i += 1) {
          const t0 = performance.now();
          fn(i);
          out.push(performance.now() - t0);
        }
        return out.sort((a, b) => a - b);
      };
      let found = 0;
      const n = message.lookups as number;
      time((i) => core.findByMobile(mobiles[(i * 7919) % mobiles.length] ?? ''), 200); // warm-up
      const exact = time((i) => {
        if (core.findByMobile(mobiles[(i * 7919) % mobiles.length] ?? '')) found += 1;
      }, n);
      const digits = time((i) => {
        const m = mobiles[(i * 104_729) % mobiles.length] ?? '';
        if (core.suggest(m.slice(-4)).length > 0) found += 1;
      }, n);
      const byName = time((i) => {
        if (core.suggest(names[i % names.length] ?? '').length > 0) found += 1;
      }, n);
      if (found !== 3 * n) throw new Error(`lookups found ${found} of ${3 * n}`);
      const result = {
        ms,
        rows,
        rowsPerSec: rows / (ms / 1000),
        peakRssMb: memoryMb,
        fileMb: sizeMb,
        lookupExactP50Ms: p(exact, 0.5),
        lookupExactP99Ms: p(exact, 0.99),
        lookupDigitsP99Ms: p(digits, 0.99),
        lookupNameP99Ms: p(byName, 0.99),
        cursor: core.store.cursor,
      };
      terminals.push({ core, dataDir }); // kept running: 'digest' compares it with central later
      return result;
    }
    case 'stop-terminals': {
      for (const t of terminals.splice(0)) {
        await t.core.stop();
        fs.rmSync(t.dataDir, { recursive: true, force: true });
      }
      return { stopped: true };
    }
    case 'exit': {
      if (load) clearTimeout(load);
      await Promise.all(terminals.map((t) => t.core.stop()));
      for (const t of terminals) fs.rmSync(t.dataDir, { recursive: true, force: true });
      setImmediate(() => process.exit(0));
      return { bye: true };
    }
    default:
      throw new Error(`unknown command ${String(message.cmd)}`);
  }
}

if (import.meta.main) {
  process.on('message', (message: Record<string, unknown>) => {
    handle(message).then(
      (result) => {
        reply({ ok: true, result });
      },
      (error: unknown) => {
        reply({ ok: false, error: String((error as Error).stack ?? error) });
      },
    );
  });
}

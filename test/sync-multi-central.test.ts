import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Db } from '../central/db/connect.ts';
import { TerminalCore } from '../terminal/core.ts';
import type { ChangePush } from '../shared/protocol/sync.ts';
import { describePg } from './support/databases.ts';
import { createPgDatabase } from './support/postgres.ts';
import { createSeededRandom } from './support/random.ts';
import { counterSale, pairNewTerminal, waitFor } from './support/terminal.ts';
import {
  DEMO_ADMIN,
  dbHead,
  dbStates,
  killAllChildren,
  login,
  openCentralDb,
  runCentralCli,
  sleep,
  spawnCentralOnFreePort,
  waitConvergedDb,
  type CentralProcess,
} from './support/processes.ts';

interface Terminal {
  core: TerminalCore;
  dataDir: string;
  terminalId: string;
}

/** Resolves with the next `event` the terminal's socket receives. */
function nextEvent(core: TerminalCore, event: 'sync:head', timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      core.sync.socket.off(event, on);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = () => {
      clearTimeout(timer);
      core.sync.socket.off(event, on);
      resolve();
    };
    core.sync.socket.on(event, on);
  });
}

/**
 * Puts a fault layer between a terminal's socket and its sync client: a seeded share of
 * `member:changed` pushes is dropped, another is delayed by up to 40 ms (so pushes overtake
 * each other), the rest pass at once.
 */
function injectPushFaults(core: TerminalCore, seed: number) {
  const socket = core.sync.socket;
  const handlers = socket.listeners('member:changed') as ((p: unknown) => void)[];
  socket.off('member:changed');
  const random = createSeededRandom(seed);
  const timers = new Set<NodeJS.Timeout>();
  const stats = { seen: 0, dropped: 0, delayed: 0 };
  const deliver = (push: unknown) => {
    for (const h of handlers) h(push);
  };
  socket.on('member:changed', (push: unknown) => {
    stats.seen += 1;
    const r = random();
    if (r < 0.25) {
      stats.dropped += 1;
      return;
    }
    if (r < 0.6) {
      stats.delayed += 1;
      const timer = setTimeout(
        () => {
          timers.delete(timer);
          deliver(push);
        },
        1 + Math.floor(random() * 40),
      );
      timers.add(timer);
      return;
    }
    deliver(push);
  });
  return {
    stats,
    restore() {
      for (const t of timers) clearTimeout(t);
      socket.off('member:changed');
      for (const h of handlers) socket.on('member:changed', h);
    },
  };
}

describePg('sync across two central processes on one PostgreSQL database', () => {
  let database: Awaited<ReturnType<typeof createPgDatabase>> | undefined;
  let p1: CentralProcess;
  let p2: CentralProcess;
  let db: Db | undefined;
  let token = '';
  const cores: TerminalCore[] = [];
  const dataDirs: string[] = [];
  let a: Terminal;
  let b: Terminal;
  const env = (seed: 'always' | 'never') => ({
    DATABASE_URL: database?.url ?? '',
    DEMO_SEED: seed,
  });
  const knex = () => {
    if (!db) throw new Error('no database');
    return db.knex;
  };

  async function terminalOn(central: CentralProcess, showroom: string, name: string) {
    const target = { url: central.url, tokens: { admin: token } };
    const { dataDir, credentials } = await pairNewTerminal(target, showroom, name);
    dataDirs.push(dataDir);
    expect(credentials.centralUrl).toBe(central.url);
    const core = new TerminalCore({ dataDir, credentials }).start();
    cores.push(core);
    return { core, dataDir, terminalId: credentials.terminalId };
  }

  beforeAll(async () => {
    database = await createPgDatabase('sl_multi');
    p1 = await spawnCentralOnFreePort(env('always'));
    p2 = await spawnCentralOnFreePort(env('never'));
    db = openCentralDb(database.url);
    token = await login(p1.url, DEMO_ADMIN.username, DEMO_ADMIN.password);
    a = await terminalOn(p1, 'MUM-01', 'A on process 1');
    b = await terminalOn(p2, 'DEL-01', 'B on process 2');
    a.core.enrol({ mobile: '+919820050001', name: 'Across Alpha', smsConsent: true });
    b.core.enrol({ mobile: '+919820050002', name: 'Across Beta', smsConsent: false });
    // Both enrolments at central, then each counter holds both (A may have converged before
    // B's enrolment reached central; its push crosses processes through the adapter).
    await waitConvergedDb(b.core, knex());
    await waitConvergedDb(a.core, knex());
    await waitFor('each counter to hold both members', () =>
      [a, b].every(
        (t) =>
          t.core.findByMobile('+919820050001') !== undefined &&
          t.core.findByMobile('+919820050002') !== undefined,
      ),
    );
  });

  afterAll(async () => {
    for (const core of cores) {
      try {
        await core.stop();
      } catch {
        // closed already
      }
    }
    await killAllChildren();
    await db?.knex.destroy();
    await database?.drop();
    for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a sale at A (process 1) reaches B (process 2) by a live push in under 1 s, and back', async () => {
    /** Sells at `from`; returns ms until `to` got the push with the new balance, and until it showed it. */
    async function across(from: Terminal, to: Terminal, mobile: string, bill: string) {
      const before = to.core.findByMobile(mobile)?.balance ?? NaN;
      let pushedAt = NaN;
      let want = NaN;
      const onPush = (raw: unknown) => {
        const push = raw as ChangePush;
        if (push.changes.some((s) => s.mobile === mobile && s.balance === want))
          pushedAt = performance.now();
      };
      to.core.sync.socket.on('member:changed', onPush);
      try {
        const start = performance.now();
        const sale = from.core.recordSale(counterSale(bill, mobile, [['ELEC', 1_000]]));
        want = before + sale.pendingPoints;
        await waitFor(
          `${bill} to show at the other process's terminal`,
          () => to.core.findByMobile(mobile)?.balance === want,
          3_000,
        );
        const shownMs = performance.now() - start;
        expect(pushedAt).not.toBeNaN(); // it came as a push, not from a heartbeat's pull
        return { pushMs: pushedAt - start, shownMs };
      } finally {
        to.core.sync.socket.off('member:changed', onPush);
      }
    }

    const timings: { dir: string; pushMs: number; shownMs: number }[] = [];
    for (let i = 1; i <= 3; i += 1) {
      timings.push({ dir: 'A→B', ...(await across(a, b, '+919820050002', `LIVE-A-${i}`)) });
      timings.push({ dir: 'B→A', ...(await across(b, a, '+919820050001', `LIVE-B-${i}`)) });
    }
    for (const t of timings) {
      expect(t.pushMs).toBeLessThan(1_000);
      expect(t.shownMs).toBeLessThan(1_000);
    }
    console.info(
      `cross-process propagation (ms): ${timings.map((t) => `${t.dir} ${t.shownMs.toFixed(0)}`).join(', ')}`,
    );
  });

  it('pushes lost and reordered across the two processes still converge, sales at both at once', async () => {
    const idle = await terminalOn(p2, 'BLR-01', 'Idle on process 2');
    // Each counter enrols one more member before the faults start (this test is about
    // convergence; test/terminal-settle.test.ts covers a member enrolled under lost pushes).
    a.core.enrol({ mobile: '+919820050011', name: 'New Member A', smsConsent: true });
    b.core.enrol({ mobile: '+919820050012', name: 'New Member B', smsConsent: true });
    for (const t of [a, b, idle]) await waitConvergedDb(t.core, knex());
    const faults = [
      injectPushFaults(a.core, 11),
      injectPushFaults(b.core, 22),
      injectPushFaults(idle.core, 33),
    ];
    try {
      // Members both counters sell to (so their pushes interleave), plus each counter's own.
      const shared = ['+919820050001', '+919820050002', '+919876543210', '+919812345678'];
      const confirmed: string[] = [];

      const sell = async (t: Terminal, tag: string, own: string) => {
        const mobiles = [...shared, own];
        for (let n = 1; n <= 150; n += 1) {
          const sale = t.core.recordSale(
            counterSale(`MIX-${tag}-${n}`, mobiles[n % mobiles.length] ?? own, [['BOOK', 100 + n]]),
          );
          confirmed.push(sale.key);
          await sleep(3);
        }
      };
      await Promise.all([sell(a, 'A', '+919820050011'), sell(b, 'B', '+919820050012')]);

      // Converged together: one counter's last sales may commit after another has caught up,
      // so repeat until a whole pass ends at the head it started from.
      for (let pass = 0; ; pass += 1) {
        const before = await dbHead(knex());
        for (const t of [a, b, idle]) await waitConvergedDb(t.core, knex(), 30_000);
        if ((await dbHead(knex())) === before || pass >= 5) break;
      }

      const head = await dbHead(knex());
      const states = await dbStates(knex());
      for (const t of [a, b, idle]) {
        expect(t.core.store.cursor).toBe(head);
        expect(t.core.store.allMembers()).toEqual(states);
        expect(t.core.status()).toMatchObject({ pending: 0, refused: 0 });
      }
      const sales: { n: number | string }[] = await knex()('sales')
        .whereIn('idempotency_key', confirmed)
        .count({ n: '*' });
      expect(Number(sales[0]?.n)).toBe(confirmed.length);
      for (const f of faults) {
        expect(f.stats.dropped).toBeGreaterThan(0);
        expect(f.stats.delayed).toBeGreaterThan(0);
      }
      const verify = await runCentralCli(['verify'], env('never'));
      expect(verify.code).toBe(0);
      console.info(
        `push faults (seen/dropped/delayed): ${faults.map((f) => `${f.stats.seen}/${f.stats.dropped}/${f.stats.delayed}`).join(', ')}; head ${head}`,
      );
    } finally {
      for (const f of faults) f.restore();
    }
  });

  it("revoking B through process 1's admin API cuts B off on process 2 at once", async () => {
    const refusals: { code: string }[] = [];
    b.core.on('refused', (r: { code: string }) => refusals.push(r));
    // Start just after process 2's heartbeat, so its next one (which would also cut B off) is
    // ~5 s away: only the cross-process broadcast can do it within a second and a half.
    await nextEvent(b.core, 'sync:head', 7_000);
    await sleep(200);
    const start = performance.now();
    const response = await fetch(`${p1.url}/api/terminals/${b.terminalId}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(200);
    await waitFor('B to be cut off', () => b.core.status().link === 'refused', 3_000);
    const ms = performance.now() - start;
    expect(ms).toBeLessThan(1_500);
    expect(refusals[0]?.code).toBe('revoked');
    expect(a.core.status().link).toBe('online');

    // B keeps taking sales into its outbox; a restart is refused by either process.
    const sale = b.core.recordSale(counterSale('AFTER-REVOKE', '+919820050002', [['ELEC', 100]]));
    expect(b.core.store.outboxItem(sale.key)?.state).toBe('queued');
    await b.core.stop();
    for (const central of [p2, p1]) {
      const again = new TerminalCore({ dataDir: b.dataDir, sync: { centralUrl: central.url } });
      cores.push(again);
      again.start();
      await waitFor('the reconnect to be refused', () => again.status().link === 'refused', 5_000);
      expect(again.status().refusal).toMatch(/revoked/);
      expect(again.status().pending).toBe(1);
      await again.stop();
    }
    console.info(`B cut off ${ms.toFixed(0)} ms after the revoke was sent to process 1`);
  });
});

import { createAdapter } from '@socket.io/postgres-adapter';
import { createServer } from 'node:http';
import pg from 'pg';
import { Server } from 'socket.io';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChangePush } from '../shared/protocol/sync.ts';
import { startPeerCentral, startTestCentral, type TestCentral } from './support/central.ts';
import { describePg } from './support/databases.ts';
import { startChaosProxy } from './support/chaos-proxy.ts';
import { createPgDatabase } from './support/postgres.ts';
import { createAdapterPool } from '../central/sync/adapter-pool.ts';
import { createLogger } from '../central/log.ts';
import { counterSale, startPairedTerminal, waitConverged, waitFor } from './support/terminal.ts';

/** The channel the Socket.IO PostgreSQL adapter publishes the sync namespace's messages on. */
const CHANNEL = 'socket.io#/sync';
/** socket.io-adapter's MessageType: a process's announcement, its heartbeat, a server-side emit. */
const INITIAL_HEARTBEAT = 1;
const HEARTBEAT = 2;
const SERVER_SIDE_EMIT = 9;

const ONE = '+919820060001';
const TWO = '+919820060002';

type Terminal = Awaited<ReturnType<typeof startPairedTerminal>>;

describePg('pushes published to other central processes only while one listens', () => {
  let c: TestCentral;
  let listener: pg.Client;
  /** Every message the adapters published on the sync channel, as a third party hears them. */
  const heard: { uid: string; type: number }[] = [];
  const emits = () => heard.filter((m) => m.type === SERVER_SIDE_EMIT).length;
  const terminals: Terminal[] = [];

  /** Counts the live pushes a terminal receives that carry `mobile`. */
  function pushesOf(t: Terminal, mobile: string): { n: number } {
    const seen = { n: 0 };
    t.core.sync.socket.on('member:changed', (raw: unknown) => {
      if ((raw as ChangePush).changes.some((s) => s.mobile === mobile)) seen.n += 1;
    });
    return seen;
  }

  beforeAll(async () => {
    // No grace after start: from the first push, the process publishes only to those it heard.
    c = await startTestCentral('pg', { sync: { peerGraceMs: 0 } });
    listener = new pg.Client({ connectionString: c.database.env.DATABASE_URL });
    await listener.connect();
    listener.on('notification', (n) => {
      const m = JSON.parse(n.payload ?? '{}') as { uid: string; type: number };
      heard.push({ uid: m.uid, type: m.type });
    });
    await listener.query(`LISTEN "${CHANNEL}"`);
  });
  afterAll(async () => {
    for (const t of terminals) await t.close();
    await listener.end();
    await c.close();
  });

  /** Resolves once the listener hears a heartbeat published after this call: all before it is in. */
  async function heartbeatAfterNow(): Promise<void> {
    const from = heard.length;
    await waitFor('a heartbeat after that', () =>
      heard.slice(from).some((m) => m.type === HEARTBEAT),
    );
  }

  it('a lone process publishes none of its pushes, and its terminal still gets them', async () => {
    // The listener hears the adapter (its heartbeats), so it would hear a published push.
    await waitFor('a heartbeat of the lone process', () =>
      heard.some((m) => m.type === HEARTBEAT || m.type === INITIAL_HEARTBEAT),
    );
    // And the process hears itself: until then it cannot tell that it is alone, and publishes
    // every push (its first beat can go out before its own LISTEN is in place).
    await waitFor('the process to hear its channel', () => c.listening.sync.adapterHears());
    const t = await startPairedTerminal(c, 'MUM-01');
    terminals.push(t);
    t.core.enrol({ mobile: ONE, name: 'Lone One', smsConsent: false });
    t.core.enrol({ mobile: TWO, name: 'Lone Two', smsConsent: false });
    await waitConverged(t.core, c.central);
    const pushes = pushesOf(t, ONE);
    for (let i = 1; i <= 5; i += 1) {
      t.core.recordSale(counterSale(`LONE-${i}`, ONE, [['ELEC', 1_000]]));
    }
    await waitConverged(t.core, c.central);
    await heartbeatAfterNow();
    expect(pushes.n).toBeGreaterThanOrEqual(1);
    expect(emits()).toBe(0);
    expect(await c.listening.sync.io.of('/sync').adapter.serverCount()).toBe(1);
  });

  it('with a second process, each publishes its pushes to the other, which pushes them on', async () => {
    const peer = await startPeerCentral(
      c.database,
      c.clock,
      { SMS_WORKER: 'false' },
      { peerGraceMs: 0 },
    );
    try {
      await waitFor('each process to have heard the other', async () => {
        const counts = await Promise.all(
          [c.listening, peer.listening].map((l) => l.sync.io.of('/sync').adapter.serverCount()),
        );
        return counts.every((n) => n === 2);
      });
      const [here] = terminals;
      if (!here) throw new Error('the first test starts a terminal on the first process');
      const there = await startPairedTerminal({ url: peer.url, tokens: c.tokens }, 'DEL-01');
      terminals.push(there);
      await waitConverged(there.core, c.central);

      const beforeEmits = emits();
      const thereGot = pushesOf(there, TWO);
      here.core.recordSale(counterSale('CROSS-1', TWO, [['BOOK', 500]]));
      await waitFor('the push of a sale on process 1 at process 2', () => thereGot.n >= 1);
      expect(emits()).toBeGreaterThan(beforeEmits);

      const afterFirst = emits();
      const hereGot = pushesOf(here, ONE);
      there.core.recordSale(counterSale('CROSS-2', ONE, [['BOOK', 700]]));
      await waitFor('the push of a sale on process 2 at process 1', () => hereGot.n >= 1);
      expect(emits()).toBeGreaterThan(afterFirst);
      await Promise.all([
        waitConverged(here.core, c.central),
        waitConverged(there.core, c.central),
      ]);
    } finally {
      await terminals.pop()?.close();
      await peer.close();
    }
  });
  it('its listening connection cut by PostgreSQL: it stays up, publishes while deaf, then stops', async () => {
    const [here] = terminals;
    if (!here) throw new Error('the first test starts a terminal on the first process');
    const mine = (await listener.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]
      ?.pid;
    const listening = async () =>
      (
        await c.central.db.knex.raw<{ rows: { pid: number }[] }>(
          `select pid from pg_stat_activity
            where datname = current_database() and query like 'LISTEN%' and pid <> ?
              and state = 'idle'`,
          [mine ?? 0],
        )
      ).rows.map((r) => r.pid);
    // Alone again (the second test's process has closed), so a publish now means deaf.
    await waitFor('the other process to be gone', async () => {
      return (await c.listening.sync.io.of('/sync').adapter.serverCount()) === 1;
    });
    // Cut it, and again each time the adapter connects again, until the pushes are published.
    const cut = new Set<number>();
    const silence = async () => {
      for (const pid of await listening()) {
        cut.add(pid);
        await c.central.db.knex.raw('select pg_terminate_backend(?)', [pid]);
      }
    };
    await silence();
    expect(cut.size).toBe(1);

    // Deaf, it cannot tell whether another process listens: its pushes are published.
    const before = emits();
    let n = 0;
    for (const deadline = Date.now() + 15_000; emits() === before && Date.now() < deadline;) {
      n += 1;
      here.core.recordSale(counterSale(`DEAF-${n}`, ONE, [['BOOK', 100]]));
      for (let i = 0; i < 5; i += 1) {
        await silence();
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(emits()).toBeGreaterThan(before);

    // Listening again (the adapter reconnects), it hears itself alone and stops publishing.
    await waitFor('the process to listen again', async () => {
      const now = await listening();
      return now.length === 1 && !cut.has(now[0] ?? 0);
    });
    let quiet = false;
    for (const deadline = Date.now() + 10_000; !quiet && Date.now() < deadline;) {
      const from = emits();
      n += 1;
      here.core.recordSale(counterSale(`HEARS-${n}`, ONE, [['BOOK', 100]]));
      await waitConverged(here.core, c.central);
      await heartbeatAfterNow();
      quiet = emits() === from;
    }
    expect(quiet).toBe(true);
  }, 60_000);
});

describePg("the adapter's pool when PostgreSQL cuts its connections", () => {
  let database: Awaited<ReturnType<typeof createPgDatabase>>;
  let admin: pg.Client;
  beforeAll(async () => {
    database = await createPgDatabase('sl_adapter_pool');
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.end();
    await database.drop();
  });

  /** Terminates every other session on the database running a query like `pattern`. */
  async function cut(pattern: string): Promise<number> {
    const { rowCount } = await admin.query(
      `select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and query like $1`,
      [pattern],
    );
    return rowCount ?? 0;
  }

  /** Clients checked out of the pool. */
  const out = (pool: pg.Pool) => pool.totalCount - pool.idleCount;

  it('a connection lost just as it starts to listen leaves one listener and a pool that serves', async () => {
    const target = new URL(database.url);
    const proxy = await startChaosProxy({ host: '127.0.0.1', port: Number(target.port || 5432) });
    const viaProxy = new URL(database.url);
    viaProxy.port = String(proxy.port);
    const adapterPool = createAdapterPool(viaProxy.toString(), createLogger('silent'));
    const { pool } = adapterPool;
    const io = new Server(createServer(), {
      adapter: createAdapter(pool, { heartbeatInterval: 60_000 }),
    });
    const listening = async () =>
      (
        await admin.query<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid() and query like 'LISTEN%'`,
        )
      ).rows[0]?.n ?? -1;
    try {
      await waitFor('the adapter to listen', async () => (await listening()) === 1);
      // Its connection ends (PostgreSQL restarted, say); the one it opens again is lost just as
      // it sends LISTEN. The adapter then both catches the failed LISTEN and sees the connection
      // end, and each schedules a reconnection (socket.io-postgres-adapter 0.5.0).
      proxy.cutOnSend('LISTEN "');
      expect(await cut('LISTEN%')).toBe(1);
      await waitFor('the new connection to be lost as it listens', () => proxy.stats().cut === 1);
      // Each reconnection comes 1–3 s after it is scheduled. Settled means one listening client
      // (and one session) for longer than a reconnection takes; with both kept, never again.
      const steadyMs = 3_500;
      let oneSince: number | undefined;
      let seen = '';
      for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
        const sessions = await listening();
        seen = `${sessions} listening session(s), ${out(pool)} client(s) out of the pool`;
        if (sessions === 1 && out(pool) === 1) oneSince ??= Date.now();
        else oneSince = undefined;
        if (oneSince !== undefined && Date.now() - oneSince >= steadyMs) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(seen).toBe('1 listening session(s), 1 client(s) out of the pool');
      const steadyFor = oneSince === undefined ? 0 : Date.now() - oneSince;
      expect(steadyFor).toBeGreaterThanOrEqual(steadyMs);
      // A publish gets a connection at once (with two listeners the pool of two would be full).
      const started = performance.now();
      expect((await pool.query('select 1 as one')).rows[0]).toEqual({ one: 1 });
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      await io.close();
      await adapterPool.close();
      await proxy.close();
    }
  }, 30_000);

  it('two listening clients asked for at once: only the later is handed over', async () => {
    const adapterPool = createAdapterPool(database.url, createLogger('silent'));
    try {
      const { pool } = adapterPool;
      // As the adapter's two reconnections can overlap: the earlier arrives after the later
      // was asked for, so it is closed and never resolves (else the adapter would listen on it).
      const earlier = pool.connect();
      const later = await pool.connect();
      await later.query('LISTEN "sl_test"');
      const outcome = await Promise.race([
        earlier.then(() => 'handed over'),
        new Promise((r) => setTimeout(r, 1_000, 'held back')),
      ]);
      expect(outcome).toBe('held back');
      expect(out(pool)).toBe(1);
      await waitFor('one session left', async () => {
        const { rows } = await admin.query<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid()`,
        );
        return rows[0]?.n === 1;
      });
    } finally {
      await adapterPool.close();
    }
  });

  it('a listening client cut is released and heard no more; a query cut fails alone', async () => {
    const adapterPool = createAdapterPool(database.url, createLogger('silent'));
    try {
      const { pool } = adapterPool;
      // As the adapter holds its listening client: checked out for good.
      const listening = await pool.connect();
      await listening.query('LISTEN "sl_test"');
      await pool.query(`select pg_notify('sl_test', 'hello')`);
      await waitFor('the notification', () => adapterPool.msSinceHeard() < 1_000);
      await waitFor('the LISTEN to show', async () => (await cut('LISTEN%')) === 1);
      await waitFor('the cut client to leave the pool', () => out(pool) === 0);

      // A connection lost mid-query (its socket destroyed, as by a network fault): the query
      // fails, and the client is released once, by the query's own handler (a second release,
      // ours, would throw inside the error event).
      pool.once('acquire', (client) => {
        setTimeout(() => {
          (
            client as unknown as { connection: { stream: { destroy(error: Error): void } } }
          ).connection.stream.destroy(new Error('network fault'));
        }, 50);
      });
      await expect(pool.query('select /* lost */ pg_sleep(30)')).rejects.toThrow(/network fault/);
      await waitFor('the lost client to leave the pool', () => out(pool) === 0);
      // Its session still sleeps at the server, its client gone: ended here.
      await waitFor('the lost session to end', async () => (await cut('select /* lost */%')) === 1);

      // A query cut by PostgreSQL mid-way: its own promise fails, and nothing else throws.
      const sleeping = pool.query('select /* cut */ pg_sleep(30)');
      const failed = expect(sleeping).rejects.toThrow(/terminat/);
      await waitFor('the sleep to show', async () => (await cut('select /* cut */%')) === 1);
      await failed;
      await waitFor('the cut client to leave the pool', () => out(pool) === 0);
      // The pool still serves.
      expect((await pool.query('select 1 as one')).rows[0]).toEqual({ one: 1 });
    } finally {
      await adapterPool.close();
    }
  });
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { describePg } from './support/databases.ts';
import { startTestCentral, type TestCentral } from './support/central.ts';
import { openDb, type Db } from '../central/db/connect.ts';
import { pullChanges as pullPage } from '../central/db/sync-store.ts';
import { parseStateRows } from '../shared/protocol/sync.ts';

/** A pull as the terminal reads it: the page's states parsed (and validated) from its text. */
async function pullChanges(db: Db, after: number, limit: number) {
  const page = await pullPage(db, after, limit);
  return { ...page, changes: parseStateRows(page.states) };
}
import type { Stamp } from '../central/db/ledger-store.ts';
import { hashRequest, LedgerWriter, type Actor } from '../central/ledger/writer.ts';
import { SaleRequest } from '../shared/protocol/api.ts';
import { createSeededRandom } from './support/random.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * On PostgreSQL, transactions commit in any order. A change number taken from a plain sequence
 * can become visible after a higher one, and a cursor that already passed it never sees it.
 * Central takes change numbers last, from one locked row, so they become visible in order.
 */
describePg('a cursor never passes a change that commits later', () => {
  let c: TestCentral;
  let showroomId: number;
  const mobiles = Array.from(
    { length: 24 },
    (_, i) => `+9198765${String(10_000 + i).padStart(5, '0')}`,
  );
  const handles: Db[] = [];

  beforeAll(async () => {
    c = await startTestCentral('pg');
    for (const [i, mobile] of mobiles.entries()) {
      const r = await c.request('POST', '/api/members', {
        token: c.tokens.cashier,
        body: {
          mobile,
          name: `Member ${String.fromCharCode(65 + i)}`,
          smsConsent: true,
          showroomCode: 'MUM-01',
        },
      });
      expect(r.status).toBe(201);
    }
    const row: { id: number } = await c.central.db
      .knex('showrooms')
      .where('code', 'MUM-01')
      .first('id');
    showroomId = row.id;
  });
  afterAll(async () => {
    await Promise.all(handles.map((h) => h.knex.destroy()));
    await c.close();
  });

  const url = () => c.database.env.DATABASE_URL ?? '';
  const actor = (): Actor => ({
    staffId: null,
    role: 'cashier',
    showroomId,
    terminalId: 'MUM-01-TTEST01',
  });
  let bill = 0;
  const sale = (mobile: string, rupees: number) => {
    bill += 1;
    const body = SaleRequest.parse({
      showroomCode: 'MUM-01',
      billNumber: `NS-${bill}`,
      soldAt: c.clock.now().toISOString(),
      mobile,
      lines: [{ sku: 'S1', categoryCode: 'ELEC', quantity: 1, amountPaise: rupees * 100 }],
    });
    return {
      kind: 'sale' as const,
      key: `no-skip-${bill}`,
      requestHash: hashRequest(body),
      sale: body,
      actor: actor(),
    };
  };
  const writer = (options: {
    onCommitted?: (s: Stamp) => void;
    beforeCommit?: () => Promise<void>;
  }) => {
    const db = openDb({ databaseUrl: url(), dataDir: c.database.env.DATA_DIR, poolMax: 2 });
    handles.push(db);
    return new LedgerWriter({
      db,
      clock: c.clock,
      maxBatch: 8,
      maxInFlight: 2,
      saleMaxAgeDays: 30,
      clockSkewSeconds: 300,
      ...options,
    });
  };

  it('the naive design (a sequence number per change) does skip: the detector works', async () => {
    const pool = new pg.Pool({ connectionString: url(), max: 3 });
    try {
      await pool.query(
        'create table naive_changes (n bigserial primary key, member_id int not null)',
      );
      const slow = await pool.connect();
      const fast = await pool.connect();
      await slow.query('begin');
      await slow.query('insert into naive_changes (member_id) values (1)'); // takes n = 1
      await fast.query('begin');
      await fast.query('insert into naive_changes (member_id) values (2)'); // takes n = 2
      await fast.query('commit');
      const pull = async (after: number) =>
        (
          await pool.query<{ n: string }>('select n from naive_changes where n > $1 order by n', [
            after,
          ])
        ).rows.map((r) => Number(r.n));
      const first = await pull(0);
      const cursor = Math.max(0, ...first); // 2: the cursor passes 1, which is not yet visible
      await slow.query('commit');
      slow.release();
      fast.release();
      const second = await pull(cursor);
      expect(first).toEqual([2]);
      expect(second).toEqual([]); // change 1 is committed but the cursor will never see it
    } finally {
      await pool.end();
    }
  });

  it('a commit held open keeps later change numbers invisible until it commits', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const slow = writer({
      beforeCommit: async () => {
        entered();
        await gate;
      },
    });
    const fast = writer({});
    const reader = handles[0] as Db;
    const start = await pullChanges(reader, 0, 5_000);
    const slowWrite = slow.write(sale(mobiles[0] ?? '', 100));
    await inside; // the slow transaction has its change number and has not committed
    const fastWrite = fast.write(sale(mobiles[1] ?? '', 100));
    await sleep(100);
    const during = await pullChanges(reader, start.head, 5_000);
    expect(during.head).toBe(start.head); // neither is visible: the fast one waits its turn
    expect(during.changes).toEqual([]);
    release();
    await Promise.all([slowWrite, fastWrite]);
    const after = await pullChanges(reader, start.head, 5_000);
    expect(after.changes.map((m) => m.mobile).sort()).toEqual([mobiles[0], mobiles[1]].sort());
    expect(after.head).toBe(start.head + 2);
  });

  it('many writers with randomly delayed commits: after every pull, the cache holds every change up to its cursor', async () => {
    const random = createSeededRandom(20261123);
    const stamps: Stamp[] = [];
    const writers = Array.from({ length: 6 }, () =>
      writer({
        onCommitted: (s) => stamps.push(s),
        beforeCommit: () => sleep(Math.floor(random() * 25)),
      }),
    );
    const reader = openDb({ databaseUrl: url(), dataDir: c.database.env.DATA_DIR, poolMax: 1 });
    handles.push(reader);
    const start = await pullChanges(reader, 0, 5_000);
    const cache = new Map(start.changes.map((m) => [m.id, m.seq]));
    let cursor = start.head;
    const snapshots: { cursor: number; complete: boolean; cache: Map<number, number> }[] = [];

    const state = { writing: true };
    const puller = (async () => {
      while (state.writing) {
        // As a terminal does (docs/protocol.md): a full page moves the cursor to its last
        // change; a short one means nothing else is visible, so the cursor becomes the head.
        const limit = 7;
        const pull = await pullChanges(reader, cursor, limit);
        for (const m of pull.changes) if (m.seq > (cache.get(m.id) ?? 0)) cache.set(m.id, m.seq);
        const last = pull.changes.at(-1);
        const complete = !(pull.changes.length === limit && last);
        cursor = complete ? pull.head : last.seq;
        snapshots.push({ cursor, complete, cache: new Map(cache) });

        await sleep(Math.floor(random() * 3));
      }
    })();
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 240; i += 1) {
      const w = writers[i % writers.length] as LedgerWriter;
      writes.push(w.write(sale(mobiles[Math.floor(random() * mobiles.length)] ?? '', 100 + i)));
      if (i % 12 === 0) await sleep(2);
    }
    await Promise.all(writes);
    state.writing = false;
    await puller;

    expect(snapshots.length).toBeGreaterThan(10);
    expect(stamps.reduce((n, s) => n + s.states.length, 0)).toBeGreaterThanOrEqual(240 / 8);
    // Each member's change numbers, to know whether a change was later superseded.
    const changesOf = new Map<number, number[]>();
    for (const stamp of stamps) {
      for (const m of stamp.states) changesOf.set(m.id, [...(changesOf.get(m.id) ?? []), m.seq]);
    }
    let checked = 0;
    let checkedComplete = 0;
    for (const snap of snapshots) {
      for (const stamp of stamps) {
        for (const state of stamp.states) {
          if (state.seq > snap.cursor) continue;
          // After a full page the cursor is the page's last change: a member whose state was
          // by then superseded by a change beyond the cursor comes with a later page (its
          // older state is no longer anywhere to be read). After a short page the cursor is
          // the snapshot's head, and every change up to it must be held: that is where a
          // skipped change (a lower number committing late) would show.
          const superseded = (changesOf.get(state.id) ?? []).some((seq) => seq > snap.cursor);
          if (!snap.complete && superseded) continue;
          checked += 1;
          if (snap.complete) checkedComplete += 1;
          // The change is at or below the cursor: the cache must hold it or something newer.
          expect(
            snap.cache.get(state.id) ?? 0,
            `member ${state.id} change ${state.seq} at cursor ${snap.cursor}`,
          ).toBeGreaterThanOrEqual(state.seq);
        }
      }
    }
    expect(checked).toBeGreaterThan(200);
    expect(checkedComplete).toBeGreaterThan(100);
  });
});

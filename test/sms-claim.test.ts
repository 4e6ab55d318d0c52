import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { migrateLatest, openDb, type Db } from '../central/db/connect.ts';
import * as smsStore from '../central/db/sms-store.ts';
import { inlineValues } from '../central/db/statement-batch.ts';
import { EventEmitter } from 'node:events';
import { createLogger } from '../central/log.ts';
import { SmsConfig } from '../central/sms/config.ts';
import { EXPIRE_EVERY_MS, SmsWorker } from '../central/sms/worker.ts';
import { createTestDatabase, describeEachDb, type TestDatabase } from './support/databases.ts';

const NOW = new Date('2026-11-24T10:00:00.000Z');
const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000);

/** An outbox row of an earn notice (i keeps its dedupe key apart). */
const waitingRow = (i: number, status: string, next: Date, expires = at(60)) => ({
  kind: 'earn',
  dedupe_key: `earn:${i}`,
  mobile: '+919800000001',
  template: 'earn',
  text: 'x',
  variables: '[]',
  unicode: false,
  segments: 1,
  status,
  created_at: at(-100),
  next_attempt_at: next,
  expires_at: expires,
});

/** An earn notice whose text fits the template: claimed, it reaches the provider. */
const notice = (i: number, next: Date, expires = at(60)) => ({
  ...waitingRow(i, 'queued', next, expires),
  text: `Dear Asha, you earned 20 points on bill B-${i} at MUM-01. Balance 20 points. -SHWRMS`,
});

/** `count` earn notices due now. */
async function dueNotices(db: Db, from: number, count: number): Promise<void> {
  await db
    .knex('sms_outbox')
    .insert(Array.from({ length: count }, (_, i) => notice(from + i, at(-1))));
}

/**
 * A worker (four places) whose gateway answers after `delayMs` and records every text, with
 * every status event recorded too.
 */
function countingWorker(
  db: Db,
  options: { pollMs?: number; delayMs?: number; now?: () => Date } = {},
) {
  const sent: string[] = [];
  const statuses: { outboxId: number; status: string }[] = [];
  const events = new EventEmitter();
  events.on('sms:status', (e: { outboxId: number; status: string }) => statuses.push(e));
  const { pollMs, delayMs = 0, now = () => NOW } = options;
  const worker = new SmsWorker({
    db,
    sms: {
      config: SmsConfig.parse({ worker: { concurrency: 4, ...(pollMs ? { pollMs } : {}) } }),
      provider: {
        name: 'counting',
        send: async (message) => {
          sent.push(message.text);
          const id = `p-${sent.length}`;
          if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
          return { ok: true, providerMessageId: id };
        },
      },
    },
    sealKey: Buffer.alloc(32),
    clock: { now },
    log: createLogger('silent'),
    events,
  });
  return { worker, sent, statuses, events };
}

/** A fresh, migrated database for the suite: created before its tests, dropped after. */
function openSuiteDb(dialect: 'sqlite' | 'pg', onOpen: (db: Db) => Promise<void> | void): void {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    db = openDb({
      dataDir: database.env.DATA_DIR,
      ...(database.env.DATABASE_URL ? { databaseUrl: database.env.DATABASE_URL } : {}),
    });
    await migrateLatest(db);
    await onOpen(db);
  });
  afterAll(async () => {
    await db.knex.destroy();
    await database.drop();
  });
}

describeEachDb('the SMS worker with a long history and a backlog', (dialect) => {
  let db: Db;

  openSuiteDb(dialect, async (opened) => {
    db = opened;
    // 3,000 sent, 1,500 waiting for later, and four due, written in another order than due.
    const rows = [
      ...Array.from({ length: 3_000 }, (_, i) => waitingRow(i, 'sent', at(-90))),
      ...Array.from({ length: 1_500 }, (_, i) => waitingRow(3_000 + i, 'queued', at(5))),
      waitingRow(9_001, 'retrying', at(-2)),
      waitingRow(9_002, 'queued', at(-5)),
      waitingRow(9_003, 'queued', at(-1)),
      waitingRow(9_004, 'retrying', at(-3), at(-1)), // due, and overdue too
    ];
    for (let i = 0; i < rows.length; i += 500)
      await db.knex('sms_outbox').insert(rows.slice(i, i + 500));
    if (dialect === 'pg') await db.knex.raw('analyze sms_outbox');
    else await db.knex.raw('analyze');
  });

  /** The plans of the statements `run` sends (in a transaction then rolled back), as one text. */
  async function plansOf(run: (inTrx: Db) => Promise<unknown>): Promise<string> {
    const sent: { sql: string; bindings: readonly unknown[] }[] = [];
    const listen = (q: { sql: string; bindings?: readonly unknown[] }) => {
      sent.push({ sql: q.sql, bindings: q.bindings ?? [] });
    };
    const plans: string[] = [];
    try {
      await db.knex.transaction(async (trx) => {
        db.knex.on('query', listen);
        try {
          await run({ ...db, knex: trx });
        } finally {
          db.knex.off('query', listen); // the plans only: not the EXPLAINs below
        }
        for (const q of sent.filter((q) => !/^(begin|commit|rollback)/i.test(q.sql))) {
          // PostgreSQL's text comes numbered ($1), SQLite's with '?'.
          const result: unknown =
            dialect === 'pg'
              ? await trx.raw(`explain ${inlineValues(q.sql, q.bindings)}`)
              : await trx.raw(`explain query plan ${q.sql}`, q.bindings as never);
          const rows = (
            dialect === 'pg' ? (result as { rows: unknown[] }).rows : result
          ) as object[];
          plans.push(rows.map((r) => Object.values(r).join(' ')).join('\n'));
        }
        throw new Error('rolled back');
      });
    } catch (error) {
      if ((error as Error).message !== 'rolled back') throw error;
    }
    expect(plans.length).toBeGreaterThan(0);
    return plans.join('\n');
  }

  it('claims the due messages in due order, read from the index of waiting messages', async () => {
    const plan = await plansOf((inTrx) => smsStore.claimDue(inTrx, NOW, 2, 'w1'));
    expect(plan).toContain('sms_outbox_due');
    const claimed = await smsStore.claimDue(db, NOW, 2, 'w1');
    // next_attempt_at −5 and −2 minutes: the earliest due, whatever their status or id; not
    // 4,504 (−3), which expired a minute ago and has not been closed yet.
    expect(claimed.map((r) => r.id)).toEqual([4_501, 4_502]);
    const again = await smsStore.claimDue(db, NOW, 10, 'w1');
    expect(again.map((r) => r.id)).toEqual([4_503]);
    expect(await db.knex('sms_outbox').where('id', 4_504).first('status')).toEqual({
      status: 'retrying',
    });
  });

  it('closes expired messages at most once a second, however often the worker looks', async () => {
    let now = at(200); // everything still waiting has expired by then
    const { worker, sent } = countingWorker(db, { now: () => now });
    const expiries: string[] = [];
    const listen = (q: { sql: string }) => {
      if (/update .sms_outbox. set/i.test(q.sql) && q.sql.includes('expires_at'))
        expiries.push(q.sql);
    };
    db.knex.on('query', listen);
    // A text that fits the earn template: were it claimed, it would reach the provider.
    const late = notice(9_100, at(199), new Date(now.getTime() + 300));
    try {
      for (let i = 0; i < 5; i += 1) await worker.tick();
      expect(expiries).toHaveLength(1);
      // Due, and expiring within the second in which nothing is closed: it is not sent.
      const inserted: { id: number }[] = await db.knex('sms_outbox').insert(late, ['id']);
      const id = inserted[0]?.id;
      now = new Date(now.getTime() + 600);
      await worker.tick();
      expect(expiries).toHaveLength(1);
      expect(await db.knex('sms_outbox').where('id', id).first('status')).toEqual({
        status: 'queued',
      });
      now = new Date(now.getTime() + EXPIRE_EVERY_MS);
      await worker.tick();
      expect(expiries).toHaveLength(2);
      expect(await db.knex('sms_outbox').where('id', id).first('status')).toEqual({
        status: 'expired',
      });
    } finally {
      db.knex.off('query', listen);
      await worker.stop();
    }
    expect(sent).toEqual([]); // nothing expired reached the provider
    const waiting = await db
      .knex('sms_outbox')
      .whereIn('status', ['queued', 'retrying'])
      .count({ n: '*' });
    expect(Number(waiting[0]?.n)).toBe(0);
  });

  it('finds the overdue messages from the index of waiting messages', async () => {
    const plan = await plansOf((inTrx) => smsStore.expireOverdue(inTrx.knex, NOW));
    expect(plan).toContain('sms_outbox_expiring');
    await db.knex('sms_outbox').where('id', 4_504).update({ status: 'retrying' });
    const closed = await smsStore.expireOverdue(db.knex, NOW);
    expect(closed.map((r) => r.id)).toEqual([4_504]);
  });
});

describeEachDb('the SMS worker settling its sends', (dialect) => {
  let db: Db;

  openSuiteDb(dialect, (opened) => {
    db = opened;
  });

  /** Messages whose dedupe key starts with `prefix` that are not sent. */
  function unsent(prefix: string): Promise<unknown[]> {
    return db
      .knex('sms_outbox')
      .where('dedupe_key', 'like', `${prefix}%`)
      .whereNot('status', 'sent');
  }

  /** Statements sent while `run` runs, as knex reports them. */
  async function statementsOf(run: () => Promise<unknown>): Promise<string[]> {
    const sent: string[] = [];
    const listen = (q: { sql: string }) => sent.push(q.sql);
    db.knex.on('query', listen);
    try {
      await run();
    } finally {
      db.knex.off('query', listen);
    }
    return sent;
  }

  it('records every ending in one statement, and only for messages this worker holds', async () => {
    // What an earlier attempt left: a sent message must lose the error, a retried or failed
    // one keep the earlier gateway's facts.
    const prior = {
      sent_at: at(-50).toISOString(),
      provider: 'old',
      provider_message_id: 'old-1',
      last_error: 'earlier',
      sealed: 'sealed-text',
    };
    const sending = (i: number, claimedBy = 'w1', status = 'sending') => ({
      ...waitingRow(100 + i, status, at(-1)),
      ...prior,
      sent_at: at(-50),
      claimed_by: claimedBy,
      claimed_at: at(-1),
      attempts: 1,
    });
    const inserted: { id: number | string }[] = await db
      .knex('sms_outbox')
      .insert(
        [
          ...[1, 2, 3, 4, 5, 6, 7, 8].map((i) => sending(i)),
          sending(9, 'w2'),
          sending(10, 'w1', 'unknown'),
        ],
        ['id'],
      );
    const ids = inserted.map((r) => Number(r.id));
    const retryAt = at(10);
    const outcomes: smsStore.SendOutcome[] = [
      { status: 'sent', provider: 'dev', providerMessageId: 'm-1', at: NOW },
      { status: 'retrying', error: 'busy', nextAttemptAt: retryAt },
      { status: 'failed', error: 'no such number' },
      { status: 'unknown', error: 'timed out' },
      { status: 'refused', error: 'template' },
      { status: 'expired', error: 'too late' },
      // A gateway's text cut at 400 characters inside an emoji, and one with a NUL and half an
      // emoji: PostgreSQL takes neither as they are.
      { status: 'failed', error: `${'x'.repeat(399)}😀😀` },
      { status: 'failed', error: 'gateway said \uD83D\0 no' },
      { status: 'failed', error: 'not mine' },
      { status: 'failed', error: 'already closed' },
    ];
    let settled = new Set<number>();
    const statements = await statementsOf(async () => {
      settled = await smsStore.settleOutboxes(
        db,
        'w1',
        outcomes.map((outcome, i) => ({ id: ids[i] as number, outcome })),
      );
    });
    expect(statements).toHaveLength(1);
    expect([...settled].sort((x, y) => x - y)).toEqual(ids.slice(0, 8));
    const rows: Record<string, unknown>[] = await db
      .knex('sms_outbox')
      .whereIn('id', ids)
      .orderBy('id')
      .select(
        'status',
        'sent_at',
        'provider',
        'provider_message_id',
        'last_error',
        'sealed',
        'next_attempt_at',
      );
    const instant = (v: unknown) => (v === null ? null : new Date(v as string).toISOString());
    /** A row as it should read after the settle: what it held, with `fields` changed. */
    const settledRow = (status: string, fields: Record<string, string | null> = {}) => ({
      status,
      ...prior,
      next_attempt_at: at(-1).toISOString(),
      ...fields,
    });
    expect(
      rows.map((r) => ({
        ...r,
        sent_at: instant(r.sent_at),
        next_attempt_at: instant(r.next_attempt_at),
      })),
    ).toEqual([
      settledRow('sent', {
        sent_at: NOW.toISOString(),
        provider: 'dev',
        provider_message_id: 'm-1',
        last_error: null,
        sealed: null,
      }),
      settledRow('retrying', { last_error: 'busy', next_attempt_at: retryAt.toISOString() }),
      settledRow('failed', { last_error: 'no such number', sealed: null }),
      settledRow('unknown', { last_error: 'timed out', sealed: null }),
      settledRow('refused', { last_error: 'template', sealed: null }),
      settledRow('expired', { last_error: 'too late', sealed: null }),
      settledRow('failed', { last_error: `${'x'.repeat(399)}😀`, sealed: null }),
      settledRow('failed', { last_error: 'gateway said \uFFFD no', sealed: null }),
      // Held by another worker, or closed meanwhile: untouched.
      settledRow('sending'),
      settledRow('unknown'),
    ]);
  });

  it('settles the sends that ended together with the next claim, one transaction a round', async () => {
    await dueNotices(db, 200, 12);
    const { worker, sent, statuses } = countingWorker(db);
    const statements = await statementsOf(async () => {
      for (let round = 0; round < 20 && statuses.length < 12; round += 1) await worker.tick();
    });
    await worker.stop();
    expect(sent).toHaveLength(12);
    expect(statuses.map((e) => e.status)).toEqual(Array.from({ length: 12 }, () => 'sent'));
    expect(await unsent('earn:2')).toEqual([]);
    // Twelve messages, four at a time: a settle for the sends that ended by each round (about
    // three), where one per message made twelve.
    const settles = statements.filter((s) =>
      /update .?sms_outbox.? .*set status = v\.status/is.test(s),
    );
    const claims = statements.filter((s) => /set status = 'sending'/i.test(s));
    expect(settles.length).toBeGreaterThan(0);
    expect(settles.length).toBeLessThanOrEqual(4);
    expect(claims.length).toBeLessThanOrEqual(settles.length + 1);
  });

  it('after a round the database refused, settles each send alone and claims again', async () => {
    await dueNotices(db, 300, 8);
    // The second transaction fails (as on a dropped connection); everything else goes through.
    let transactions = 0;
    const flaky: Db = {
      ...db,
      knex: new Proxy(db.knex, {
        get(target, prop, receiver) {
          if (prop !== 'transaction') return Reflect.get(target, prop, receiver) as unknown;
          return (...args: Parameters<typeof target.transaction>) => {
            transactions += 1;
            if (transactions === 2) return Promise.reject(new Error('connection reset'));
            return target.transaction(...args);
          };
        },
      }),
    };
    const { worker, sent, statuses } = countingWorker(flaky);
    expect(await worker.tick()).toBe(4);
    await new Promise((resolve) => setImmediate(resolve)); // the four sends have ended
    await expect(worker.tick()).rejects.toThrow('connection reset');
    // The four that ended were recorded one by one, each with its event.
    expect(statuses).toHaveLength(4);
    for (let round = 0; round < 10 && statuses.length < 8; round += 1) await worker.tick();
    await worker.stop();
    expect(sent).toHaveLength(8);
    expect(statuses.map((e) => e.status)).toEqual(Array.from({ length: 8 }, () => 'sent'));
    expect(new Set(statuses.map((e) => e.outboxId)).size).toBe(8);
    expect(await unsent('earn:3')).toEqual([]);
  });

  it('keeps sending what it claimed when a status listener throws', async () => {
    await dueNotices(db, 400, 8);
    const { worker, sent, events } = countingWorker(db);
    events.on('sms:status', () => {
      throw new Error('a listener that fails');
    });
    for (let round = 0; round < 10 && sent.length < 8; round += 1) await worker.tick();
    await worker.stop();
    expect(sent).toHaveLength(8);
    expect(await unsent('earn:4')).toEqual([]);
  });

  it('running on its own, records a send as it ends, without waiting for the next poll', async () => {
    // Fewer messages than places, and a gateway that takes 100 ms: the loop finds nothing more
    // due and sleeps (5 s) while they are sent; the end of each send must wake it.
    await dueNotices(db, 500, 2);
    const { worker, sent, statuses } = countingWorker(db, { pollMs: 5_000, delayMs: 100 });
    const started = performance.now();
    await worker.start();
    try {
      await vi.waitFor(
        () => {
          expect(statuses).toHaveLength(2);
        },
        { timeout: 4_000, interval: 20 },
      );
    } finally {
      await worker.stop();
    }
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(sent).toHaveLength(2);
    expect(await unsent('earn:5')).toEqual([]);
  });
});

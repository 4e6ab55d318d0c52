import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrateLatest, openDb, type Db } from '../central/db/connect.ts';
import * as smsStore from '../central/db/sms-store.ts';
import { inlineValues } from '../central/db/statement-batch.ts';
import { EventEmitter } from 'node:events';
import { createLogger } from '../central/log.ts';
import { SmsConfig } from '../central/sms/config.ts';
import type { SmsProvider } from '../central/sms/provider.ts';
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

describeEachDb('the SMS worker with a long history and a backlog', (dialect) => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    db = openDb({
      dataDir: database.env.DATA_DIR,
      ...(database.env.DATABASE_URL ? { databaseUrl: database.env.DATABASE_URL } : {}),
    });
    await migrateLatest(db);
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
  afterAll(async () => {
    await db.knex.destroy();
    await database.drop();
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
    const sent: string[] = [];
    const provider: SmsProvider = {
      name: 'counting',
      send: (message) => {
        sent.push(message.to);
        return Promise.resolve({ ok: true, providerMessageId: 'x' });
      },
    };
    const worker = new SmsWorker({
      db,
      sms: { config: SmsConfig.parse({}), provider },
      sealKey: Buffer.alloc(32),
      clock: { now: () => now },
      log: createLogger('silent'),
      events: new EventEmitter(),
    });
    const expiries: string[] = [];
    const listen = (q: { sql: string }) => {
      if (/update .sms_outbox. set/i.test(q.sql) && q.sql.includes('expires_at'))
        expiries.push(q.sql);
    };
    db.knex.on('query', listen);
    // A text that fits the earn template: were it claimed, it would reach the provider.
    const late = {
      ...waitingRow(9_100, 'queued', at(199), new Date(now.getTime() + 300)),
      text: 'Dear Asha, you earned 20 points on bill B-1 at MUM-01. Balance 20 points. -SHWRMS',
    };
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

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import {
  CommittedThenFailed,
  foldedTransaction,
  inlineValues,
  literal,
  StatementBatch,
} from '../central/db/statement-batch.ts';
import { describePg } from './support/databases.ts';
import { createPgDatabase } from './support/postgres.ts';
import { newKey, startTestCentral, type TestCentral } from './support/central.ts';

/** Strings a sale or a member's name may carry, and some meant to break out of a literal. */
const AWKWARD = [
  "O'Brien",
  "'); drop table members; --",
  'back\\slash \\x27 \\\\',
  'राजेश कुमार',
  'a $1 placeholder and $$ dollars',
  '"double" quotes',
  'new\nline\ttab',
  '',
];

/** The SQL text of a node-postgres query(), given as a string or a config. */
function textOf(first: unknown): string {
  return typeof first === 'string' ? first : ((first as { text?: string } | null)?.text ?? '');
}

describe('literals for the simple query protocol', () => {
  it('writes values as PostgreSQL reads them back, parameters in any order', () => {
    expect(literal(null)).toBe('NULL');
    expect(literal(undefined)).toBe('NULL');
    expect(literal(42)).toBe("'42'");
    expect(literal(true)).toBe('true');
    expect(literal(new Date('2026-11-24T10:00:00.000Z'))).toBe("'2026-11-24T10:00:00.000Z'");
    expect(literal([1, 2, 3])).toBe("'{1,2,3}'");
    expect(inlineValues('select $2, $1', ['a', 'b'])).toBe("select 'b', 'a'");
    // $10 is the tenth value, not the first followed by a zero.
    expect(
      inlineValues(
        'select $10, $1, $2, $3, $4, $5, $6, $7, $8, $9',
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
      ),
    ).toBe("select '10', '1', '2', '3', '4', '5', '6', '7', '8', '9'");
  });

  it('refuses what it cannot write faithfully', () => {
    expect(() => literal(Number.NaN)).toThrow(/cannot write/);
    expect(() => literal(Number.POSITIVE_INFINITY)).toThrow(/cannot write/);
    expect(() => literal([{ a: 1 }])).toThrow(/array/);
    expect(() => inlineValues('select $2', [1])).toThrow(/no value for \$2/);
    expect(() => inlineValues('select $1', [1, 2])).toThrow(/no placeholder/);
  });
});

describePg('a statement batch on PostgreSQL', () => {
  let knex: Knex;
  let drop: () => Promise<void>;
  let url: string;

  beforeAll(async () => {
    const database = await createPgDatabase('sl_test_batch');
    drop = () => database.drop();
    url = database.url;
    // One connection: what a test sees after a transaction ran on the connection it used.
    knex = knexFactory({ client: 'pg', connection: database.url, pool: { min: 0, max: 1 } });
    await knex.schema.createTable('notes', (t) => {
      t.increments('id');
      t.text('body').notNullable();
    });
  });
  afterAll(async () => {
    await knex.destroy();
    await drop();
  });

  it('sends awkward values back unchanged, each statement with its own result', async () => {
    await knex.transaction(async (trx) => {
      const batch = new StatementBatch();
      const inserted = batch.add(
        trx('notes')
          .insert(AWKWARD.map((body) => ({ body })))
          .returning('id'),
        (rows) => rows.length,
      );
      const echoed = batch.addText(
        'select $1::text as body, $2::jsonb as doc, $3::int[] as ids, $4::timestamptz as at',
        [
          AWKWARD[1],
          JSON.stringify({ name: AWKWARD[0], path: AWKWARD[2] }),
          [7, 8],
          new Date('2026-11-24T10:00:00.000Z'),
        ],
        (rows) => rows[0],
      );
      const read = batch.add(trx('notes').orderBy('id').select('body'), (rows) =>
        rows.map((r) => r.body),
      );
      expect(batch.size).toBe(3);
      await batch.run(trx);
      expect(inserted.value).toBe(AWKWARD.length);
      expect(echoed.value).toEqual({
        body: AWKWARD[1],
        doc: { name: AWKWARD[0], path: AWKWARD[2] },
        ids: [7, 8],
        at: new Date('2026-11-24T10:00:00.000Z'),
      });
      expect(read.value).toEqual(AWKWARD);
    });
    // The "drop table" text stayed a value.
    expect(Number((await knex('notes').count({ n: '*' }))[0]?.n)).toBe(AWKWARD.length);
  });

  it('fails as a whole on the first failing statement, and the transaction writes nothing', async () => {
    const before = Number((await knex('notes').count({ n: '*' }))[0]?.n);
    let later: { value: unknown } | undefined;
    await expect(
      knex.transaction(async (trx) => {
        const batch = new StatementBatch();
        batch.add(trx('notes').insert({ body: 'kept?' }), () => undefined);
        batch.addText('select 1 / 0', [], () => undefined);
        later = batch.add(trx('notes').insert({ body: 'never' }).returning('id'), (r) => r);
        await batch.run(trx);
      }),
    ).rejects.toThrow(/division by zero/);
    expect(() => later?.value).toThrow(/before its statement batch ran/);
    expect(Number((await knex('notes').count({ n: '*' }))[0]?.n)).toBe(before);
  });

  const count = async () => Number((await knex('notes').count({ n: '*' }))[0]?.n);

  /** Bodies in the table as another connection sees them (committed rows only). */
  const committedBodies = async (body: string) => {
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      return (await other.query('select count(*)::int as n from notes where body = $1', [body]))
        .rows[0].n as number;
    } finally {
      await other.end();
    }
  };

  /**
   * Runs `scope` and returns the messages sent to PostgreSQL meanwhile, by any connection, with
   * the error it failed with.
   */
  const sentDuring = async (scope: () => Promise<unknown>) => {
    // Queries each call found waiting in the client's own queue (node-postgres's internal
    // _queryQueue): asking while one waits is deprecated, and goes in pg@9.
    const queuedBehind: number[] = [];
    const query = Object.getOwnPropertyDescriptor(pg.Client.prototype, 'query')?.value as (
      ...args: unknown[]
    ) => unknown;
    const spy = vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (
      this: pg.Client,
      ...args: unknown[]
    ) {
      queuedBehind.push((this as unknown as { _queryQueue: unknown[] })._queryQueue.length);
      return query.apply(this, args);
    });
    let error: unknown;
    try {
      await scope();
    } catch (e) {
      error = e;
    }
    const sent = spy.mock.calls.map((args) => textOf(args[0]));
    spy.mockRestore();
    return { sent, error, queuedBehind };
  };

  it('sends BEGIN with the first batch and COMMIT with the last: two messages in all', async () => {
    const before = await count();
    const { sent, error } = await sentDuring(() =>
      foldedTransaction(knex, async (trx) => {
        const reads = new StatementBatch();
        const n = reads.addText('select count(*)::int as n from notes', [], (r) => r[0]?.n);
        await reads.run(trx);
        const writes = new StatementBatch();
        writes.add(trx('notes').insert({ body: `after ${String(n.value)}` }));
        await writes.run(trx, { commit: true });
      }),
    );
    expect(error).toBeUndefined();
    expect(sent).toHaveLength(2);
    expect(sent[0]).toMatch(/^BEGIN;\nselect count/);
    expect(sent[1]).toMatch(/^insert into "notes".*;\nCOMMIT$/);
    expect(await count()).toBe(before + 1);
    // The connection went back to the pool out of any transaction.
    const open = await knex.raw<{ rows: { open: boolean }[] }>(
      'select pg_current_xact_id_if_assigned() is not null as open',
    );
    expect(open.rows[0]?.open).toBe(false);
  });

  it('a failing statement in the message with COMMIT commits nothing; the connection recovers', async () => {
    const before = await count();
    await expect(
      foldedTransaction(knex, async (trx) => {
        const writes = new StatementBatch();
        writes.add(trx('notes').insert({ body: 'kept?' }));
        writes.addText('select 1 / 0', []);
        await writes.run(trx, { commit: true });
      }),
    ).rejects.toThrow(/division by zero/);
    expect(await count()).toBe(before);
    await knex('notes').insert({ body: 'next' });
    expect(await count()).toBe(before + 1);
  });

  it('sends BEGIN alone ahead of a parameterised statement, so a rollback still undoes it', async () => {
    const before = await count();
    const { sent, error } = await sentDuring(() =>
      foldedTransaction(knex, async (trx) => {
        await trx('notes').insert({ body: 'undone' });
        throw new Error('changed my mind');
      }),
    );
    expect(String(error)).toMatch(/changed my mind/);
    expect(await count()).toBe(before);
    expect(sent[0]).toBe('BEGIN');
    expect(sent[1]).toMatch(/^insert into "notes"/);
    expect(sent.at(-1)).toBe('ROLLBACK');
  });

  it('refuses a statement after the COMMIT went out, and sends nothing for an empty one', async () => {
    const { sent, error } = await sentDuring(async () => {
      await expect(
        foldedTransaction(knex, async (trx) => {
          const writes = new StatementBatch();
          writes.add(trx('notes').insert({ body: 'committed' }));
          await writes.run(trx, { commit: true });
          await trx('notes').insert({ body: 'too late' });
        }),
      ).rejects.toThrow(/after its transaction committed/);
      await foldedTransaction(knex, () => Promise.resolve());
    });
    expect(error).toBeUndefined();
    expect(await committedBodies('too late')).toBe(0);
    expect(await committedBodies('committed')).toBe(1);
    // The insert with its COMMIT, then knex's ROLLBACK (a no-op) after the refused statement;
    // nothing at all for the empty transaction.
    expect(sent.map((t) => t.split('\n').at(-1))).toEqual(['COMMIT', 'ROLLBACK']);
  });

  it('lets nothing slip behind a COMMIT on its way, nor ahead of a BEGIN sent alone', async () => {
    let racing: Promise<string> | undefined;
    await foldedTransaction(knex, async (trx) => {
      const writes = new StatementBatch();
      writes.add(trx('notes').insert({ body: 'with the commit' }));
      const committing = writes.run(trx, { commit: true });
      // Not awaited: sent while the COMMIT is on its way, it would run outside the transaction.
      racing = trx('notes')
        .insert({ body: 'racing the commit' })
        .then(
          () => 'ran',
          (e: unknown) => String(e),
        );
      await committing;
    });
    expect(await racing).toMatch(/after its transaction committed/);
    expect(await committedBodies('racing the commit')).toBe(0);
    expect(await committedBodies('with the commit')).toBe(1);

    // A statement sent without waiting, then a failure: BEGIN, the statement, ROLLBACK, in
    // that order, so the rollback undoes it.
    let early: Promise<unknown> | undefined;
    const { sent, error, queuedBehind } = await sentDuring(() =>
      foldedTransaction(knex, (trx) => {
        early = trx('notes')
          .insert({ body: 'before the failure' })
          .then(
            () => 'ran',
            (e: unknown) => String(e),
          );
        return Promise.reject(new Error('failed at once'));
      }),
    );
    expect(String(error)).toMatch(/failed at once/);
    await early;
    expect(await committedBodies('before the failure')).toBe(0);
    expect(sent.map((t) => t.split(' ')[0])).toEqual(['BEGIN', 'insert', 'ROLLBACK']);
    // Each went out once the one before had its answer.
    expect(queuedBehind).toEqual([0, 0, 0]);
  });

  it('tells a failure after the COMMIT apart, and refuses a COMMIT inside a savepoint', async () => {
    const failed = foldedTransaction(knex, async (trx) => {
      const writes = new StatementBatch();
      writes.add(trx('notes').insert({ body: 'committed, then a bug' }).returning('id'), () => {
        throw new Error('a parser bug');
      });
      await writes.run(trx, { commit: true });
    });
    await expect(failed).rejects.toBeInstanceOf(CommittedThenFailed);
    await expect(failed).rejects.toThrow(/committed, then failed: a parser bug/);
    expect(await committedBodies('committed, then a bug')).toBe(1);

    await expect(
      foldedTransaction(knex, async (trx) => {
        await trx('notes').insert({ body: 'outer' });
        await trx.transaction(async (inner) => {
          const writes = new StatementBatch();
          writes.add(inner('notes').insert({ body: 'inner' }));
          await writes.run(inner, { commit: true });
        });
      }),
    ).rejects.toThrow(/inside a savepoint/);
    expect(await committedBodies('outer')).toBe(0);
    expect(await committedBodies('inner')).toBe(0);
  });
});

describePg('the ledger writer on PostgreSQL', () => {
  let c: TestCentral;
  const sale = (mobile: string) => ({
    showroomCode: 'MUM-01',
    billNumber: `MUM/${newKey('bill')}`,
    mobile,
    lines: [{ sku: 'LED-9W', categoryCode: 'ELEC', quantity: 1, amountPaise: 1_00_000 }],
  });

  beforeAll(async () => {
    c = await startTestCentral('pg');
  });

  /** Sends a sale and returns the answer and the messages its transaction sent PostgreSQL. */
  const recordedSale = async (body: unknown) => {
    // Every query of this process, with the connection (this) that sent it.
    const spy = vi.spyOn(pg.Client.prototype, 'query');
    let answer;
    let sent: { client: unknown; text: string }[];
    try {
      answer = await c.request('POST', '/api/sales', {
        token: c.tokens.cashier,
        body,
        headers: { 'idempotency-key': newKey() },
      });
    } finally {
      // Read before mockRestore, which also forgets the calls.
      sent = spy.mock.calls.map((args, i) => ({
        client: spy.mock.contexts[i],
        text: textOf(args[0]),
      }));
      spy.mockRestore();
    }
    const writes = sent.find((x) => x.text.includes('insert into sales'));
    const onConnection = sent.filter((x) => x.client === writes?.client).map((x) => x.text);
    const begin = onConnection.findIndex((t) => /^BEGIN/i.test(t));
    const commit = onConnection.findIndex((t) => /(^|;\s*)COMMIT;?\s*$/i.test(t));
    return { answer, transaction: writes ? onConnection.slice(begin, commit + 1) : [] };
  };
  const firstWords = (statements: string[]) =>
    statements.map((t) => /^\w+/.exec(t)?.[0]?.toUpperCase());
  afterAll(async () => {
    await c.close();
  });

  it('writes a batch of sales in two round trips: BEGIN with the reads, the writes with COMMIT', async () => {
    const mobile = '+919812345670';
    const enrolled = await c.request('POST', '/api/members', {
      token: c.tokens.cashier,
      body: { mobile, name: "D'Souza", smsConsent: true, showroomCode: 'MUM-01' },
    });
    expect(enrolled.status).toBe(201);
    // The first sale loads showrooms and rates; the next finds them cached.
    expect(
      (
        await c.request('POST', '/api/sales', {
          token: c.tokens.cashier,
          body: sale(mobile),
          headers: { 'idempotency-key': newKey() },
        })
      ).status,
    ).toBe(201);

    const { answer, transaction } = await recordedSale(sale(mobile));
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(answer.body).toMatchObject({ points: 20, balanceAfter: 40 });
    expect(firstWords(transaction)).toEqual(['BEGIN', 'WITH']);
    expect(transaction[0]).toMatch(
      /^BEGIN;[\s\S]*for update;[\s\S]*idempotency_keys[\s\S]*nextval/,
    );
    expect(transaction[1]).toMatch(
      /insert into sales[\s\S]*ledger_entries[\s\S]*idempotency_keys[\s\S]*change_seq[\s\S]*;\s*COMMIT$/,
    );

    // What it wrote is what the step-by-step path writes: the ledger, the balance, the stamp.
    const member = await c.central.db.knex('members').where('mobile', mobile).first();
    expect(Number(member.balance)).toBe(40);
    const entries = await c.central.db
      .knex('ledger_entries')
      .where('member_id', member.id)
      .orderBy('id');
    expect(entries.map((e: { balance_after: number }) => e.balance_after)).toEqual([20, 40]);
    const stored = await c.central.db.knex('sales').where('id', answer.body.saleId).first();
    expect(stored).toMatchObject({ member_id: member.id, points: 20 });
    expect(
      await c.central.db.knex('sms_outbox').where('dedupe_key', 'like', 'earn:%').count({ n: '*' }),
    ).toEqual([{ n: 2 }]);
  });

  it('a late sale on a number that changed hands earns for its earlier holder, locked apart', async () => {
    const knex = c.central.db.knex;
    const number = '+919812345671';
    const first = await c.request('POST', '/api/members', {
      token: c.tokens.cashier,
      body: { mobile: number, name: 'Earlier Holder', smsConsent: false, showroomCode: 'MUM-01' },
    });
    const earlierId: number = first.body.member.id;
    // The number moved to another member a minute ago (as a confirmed change leaves it).
    const now = c.clock.now();
    await knex('members').where('id', earlierId).update({ mobile: '+919812345672' });
    await knex('mobile_changes').insert({
      member_id: earlierId,
      old_mobile: number,
      new_mobile: '+919812345672',
      status: 'confirmed',
      old_code_hash: 'x',
      new_code_hash: 'x',
      requested_at: now,
      last_sent_at: now,
      expires_at: now,
      confirmed_at: now,
    });
    const second = await c.request('POST', '/api/members', {
      token: c.tokens.cashier,
      body: { mobile: number, name: 'Present Holder', smsConsent: false, showroomCode: 'MUM-01' },
    });
    const presentId: number = second.body.member.id;
    expect(presentId).not.toBe(earlierId);

    const late = await recordedSale({
      ...sale(number),
      soldAt: new Date(now.getTime() - 120_000).toISOString(),
    });
    expect(late.answer.status, JSON.stringify(late.answer.body)).toBe(201);
    expect(late.answer.body).toMatchObject({ memberId: earlierId, balanceAfter: 20 });
    // One more to lock the earlier holder, one more for that member's report history.
    expect(firstWords(late.transaction)).toEqual(['BEGIN', 'SELECT', 'SELECT', 'WITH']);
    expect(late.transaction[1]).toMatch(/for update$/);

    const today = await recordedSale(sale(number));
    expect(today.answer.body).toMatchObject({ memberId: presentId, balanceAfter: 20 });
    expect(firstWords(today.transaction)).toEqual(['BEGIN', 'WITH']);
    const balances = await knex('members').whereIn('id', [earlierId, presentId]).orderBy('id');
    expect(balances.map((m: { balance: number }) => m.balance)).toEqual([20, 20]);
  });
});

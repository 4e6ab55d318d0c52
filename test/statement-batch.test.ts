import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import knexFactory, { type Knex } from 'knex';
import fc from 'fast-check';
import pg from 'pg';
import {
  CommittedThenFailed,
  escapeLiteral,
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

/** A PREPARE in a message and the EXECUTE after it: the name and the statement's text. */
const PREPARED = /PREPARE (sb_\d+) AS ([\s\S]*?);\nEXECUTE \1\b/g;

/** A message of prepared statements only (each with its values on one line), then COMMIT. */
const BY_NAME_AND_COMMIT = /^(EXECUTE sb_\d+\(.*\);\n)+COMMIT$/;

/** The SQL text of a node-postgres query(), given as a string or a config. */
function textOf(first: unknown): string {
  return typeof first === 'string' ? first : ((first as { text?: string } | null)?.text ?? '');
}

/**
 * Records every query this process sends through node-postgres until stopped: the connection
 * that sent it, its text, and how many queries it found waiting in the client's own queue
 * (node-postgres's internal _queryQueue: asking while one waits is deprecated, gone in pg@9).
 * Its own list, not the spy's record of calls, which vitest clears between tests.
 */
function recordQueries(): {
  sent: { client: unknown; text: string; queuedBehind: number }[];
  stop(): void;
} {
  const sent: { client: unknown; text: string; queuedBehind: number }[] = [];
  const query = Object.getOwnPropertyDescriptor(pg.Client.prototype, 'query')?.value as (
    ...args: unknown[]
  ) => unknown;
  const spy = vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (
    this: pg.Client,
    ...args: unknown[]
  ) {
    const queue = (this as unknown as { _queryQueue: unknown[] })._queryQueue;
    sent.push({ client: this, text: textOf(args[0]), queuedBehind: queue.length });
    return query.apply(this, args);
  });
  return {
    sent,
    stop: () => {
      spy.mockRestore();
    },
  };
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

  it("escapes a string exactly as node-postgres's escapeLiteral does", () => {
    // Strings of any characters, quotes and backslashes made frequent.
    const text = fc.string({
      unit: fc.oneof(
        fc.constantFrom("'", '\\', '"', '$', '\n'),
        fc.string({ unit: 'binary', maxLength: 1 }),
      ),
      maxLength: 60,
    });
    fc.assert(
      fc.property(text, (s) => {
        expect(escapeLiteral(s)).toBe(pg.escapeLiteral(s));
      }),
      { numRuns: 2_000 },
    );
    for (const s of AWKWARD) expect(escapeLiteral(s)).toBe(pg.escapeLiteral(s));
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
    const recording = recordQueries();
    let error: unknown;
    try {
      await scope();
    } catch (e) {
      error = e;
    } finally {
      recording.stop();
    }
    return {
      sent: recording.sent.map((q) => q.text),
      error,
      queuedBehind: recording.sent.map((q) => q.queuedBehind),
    };
  };

  it('prepares a statement the second time its connection sends it, then sends it by name', async () => {
    const echo = async () => {
      const { sent, error } = await sentDuring(() =>
        knex.transaction(async (trx) => {
          const batch = new StatementBatch();
          const row = batch.addText(
            'select $1::text as body, $2::int[] as ids, $3::jsonb as doc, $4::boolean as yes',
            [AWKWARD[1], [7, 8], JSON.stringify({ path: AWKWARD[2] }), true],
            (rows) => rows[0],
          );
          const none = batch.addText('select 41 + 1 as n', [], (rows) => rows[0]?.n);
          await batch.run(trx);
          return [row.value, none.value];
        }),
      );
      expect(error).toBeUndefined();
      expect(sent).toHaveLength(3); // BEGIN, the batch, COMMIT
      return sent[1] ?? '';
    };
    const prepared = async () =>
      (
        await knex.raw<{ rows: { statement: string }[] }>(
          "select statement from pg_prepared_statements where statement like '%41 + 1%'",
        )
      ).rows.length;
    const before = await prepared();
    // Values go the same way (as literals) whether the text is sent whole or by name.
    const messages = [await echo(), await echo(), await echo()];
    expect(messages[0]).toMatch(/^select '.*'::text as body/);
    expect(messages[0]).not.toMatch(/PREPARE|EXECUTE/);
    expect(messages[1]).toMatch(
      /PREPARE sb_\d+ AS select \$1::text as body[\s\S]*EXECUTE sb_\d+\(/,
    );
    expect(messages[1]).toMatch(/PREPARE sb_\d+ AS select 41 \+ 1 as n;\nEXECUTE sb_\d+$/);
    expect(messages[2]).toMatch(/^EXECUTE sb_\d+\('[^\n]*;\nEXECUTE sb_\d+$/);
    // Both, in one message (pg_prepared_statements shows a PREPARE's whole message).
    expect(await prepared()).toBe(before + 2);
  });

  it('after a failed message, prepares afresh what that message may not have prepared', async () => {
    const text = "select 'retried' as what, $1::int as n";
    const run = (failFirst: boolean) =>
      knex.transaction(async (trx) => {
        const batch = new StatementBatch();
        if (failFirst) batch.addText('select 1 / 0', []);
        const got = batch.addText(text, [7], (rows) => rows[0]);
        await batch.run(trx);
        return got.value;
      });
    await expect(run(false)).resolves.toEqual({ what: 'retried', n: 7 }); // seen once
    // Seen twice, so prepared in this message, but the PREPARE never ran: the division failed.
    await expect(run(true)).rejects.toThrow(/division by zero/);
    // Not executed by a name that does not exist: seen anew, then prepared anew.
    const { sent, error } = await sentDuring(async () => {
      expect(await run(false)).toEqual({ what: 'retried', n: 7 });
      expect(await run(false)).toEqual({ what: 'retried', n: 7 });
      expect(await run(false)).toEqual({ what: 'retried', n: 7 });
    });
    expect(error).toBeUndefined();
    const ours = sent.filter((t) => t.includes("'retried'") || /^EXECUTE/.test(t));
    expect(ours[0]).toMatch(/^select 'retried'/);
    expect(ours[1]).toMatch(/^PREPARE (sb_\d+) AS select 'retried'[\s\S]*;\nEXECUTE \1\('7'\)$/);
    expect(ours[2]).toMatch(/^EXECUTE sb_\d+\('7'\)$/);
  });

  it('refuses a value it cannot write when it is added, before anything is sent', async () => {
    const text = "select $1::int as n, 'unwritable' as what";
    const runWith = (n: number) =>
      knex.transaction(async (trx) => {
        const batch = new StatementBatch();
        const row = batch.addText(text, [n], (rows) => rows[0]?.n);
        await batch.run(trx);
        return row.value;
      });
    expect(await runWith(1)).toBe(1); // seen once on the connection: the next is prepared
    await expect(runWith(Number.NaN)).rejects.toThrow(/cannot write NaN/);
    // The refusal took no name for the text: it is prepared, then executed, as usual.
    const { sent } = await sentDuring(async () => {
      expect(await runWith(2)).toBe(2);
      expect(await runWith(3)).toBe(3);
    });
    const ours = sent.filter((t) => /unwritable|^EXECUTE/.test(t));
    expect(ours[0]).toMatch(/^PREPARE (sb_\d+) AS select \$1::int[\s\S]*;\nEXECUTE \1\('2'\)$/);
    expect(ours[1]).toMatch(/^EXECUTE sb_\d+\('3'\)$/);
  });

  it('prepares at most 48 statements on a connection; the rest go as text', async () => {
    // A connection of its own, with nothing prepared on it yet.
    const own = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
    onTestFinished(() => own.destroy());
    const distinct = Array.from({ length: 60 }, (_, i) => `select ${i} as n, $1::text as tag`);
    const runAll = () =>
      own.transaction(async (trx) => {
        const batch = new StatementBatch();
        const got = distinct.map((t) => batch.addText(t, ['cap'], (rows) => rows[0]?.n));
        await batch.run(trx);
        return got.map((g) => g.value);
      });
    const expected = distinct.map((_, i) => i);
    expect(await runAll()).toEqual(expected);
    expect(await runAll()).toEqual(expected);
    expect(await runAll()).toEqual(expected);
    const { rows } = await own.raw<{ rows: { n: number }[] }>(
      'select count(*)::int as n from pg_prepared_statements',
    );
    expect(rows[0]?.n).toBe(48);
  });

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
    // (The insert's text was seen in an earlier test on this connection: it is prepared now.)
    expect(sent[1]).toMatch(/^(PREPARE sb_\d+ AS )?insert into "notes"[\s\S]*;\nCOMMIT$/);
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

  /**
   * Every query of this process since the central started, with the connection that sent it:
   * a statement prepared on a connection by an earlier sale is executed by name later.
   */
  let recording: ReturnType<typeof recordQueries> | undefined;
  const sentSoFar = () => recording?.sent ?? [];

  beforeAll(async () => {
    recording = recordQueries();
    c = await startTestCentral('pg');
  });

  /**
   * A message as if nothing were prepared: each `EXECUTE sb_n(…)` replaced by the text its
   * connection prepared under that name (the values left out), each PREPARE by that text.
   */
  const expanded = (sent: { client: unknown; text: string }[]) => {
    const prepared = new Map<unknown, Map<string, string>>(); // connection → name → text
    for (const x of sent) {
      const names = prepared.get(x.client) ?? new Map<string, string>();
      prepared.set(x.client, names);
      for (const [, name, text] of x.text.matchAll(PREPARED)) names.set(name ?? '', text ?? '');
    }
    return sent.map((x) => ({
      client: x.client,
      raw: x.text,
      text: x.text
        .replace(/PREPARE sb_\d+ AS [\s\S]*?;\n(?=EXECUTE sb_\d+\b)/g, '')
        .replace(/EXECUTE (sb_\d+)(\(.*\))?(?=;\n|$)/g, (_, name: string) => {
          const text = prepared.get(x.client)?.get(name);
          if (text === undefined) throw new Error(`${name} was never prepared`);
          return text;
        }),
    }));
  };

  /** Sends a sale and returns the answer and the messages its transaction sent PostgreSQL. */
  const recordedSale = async (body: unknown) => {
    const from = sentSoFar().length;
    const answer = await c.request('POST', '/api/sales', {
      token: c.tokens.cashier,
      body,
      headers: { 'idempotency-key': newKey() },
    });
    const all = expanded(sentSoFar());
    const sent = all.slice(from);
    const writes = sent.find((x) => x.text.includes('insert into sales'));
    const onConnection = sent.filter((x) => x.client === writes?.client);
    const begin = onConnection.findIndex((x) => /^BEGIN/i.test(x.text));
    const commit = onConnection.findIndex((x) => /(^|;\s*)COMMIT;?\s*$/i.test(x.text));
    const transaction = writes ? onConnection.slice(begin, commit + 1) : [];
    return {
      answer,
      transaction: transaction.map((x) => x.text),
      raw: transaction.map((x) => x.raw),
    };
  };
  const firstWords = (statements: string[]) =>
    statements.map((t) => /^\w+/.exec(t)?.[0]?.toUpperCase());
  afterAll(async () => {
    await c.close();
    recording?.stop();
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

  it('sends a statement seen before on its connection by name: nothing parsed or planned again', async () => {
    const mobile = '+919812345673';
    await c.request('POST', '/api/members', {
      token: c.tokens.cashier,
      body: { mobile, name: 'Prepared Once', smsConsent: true, showroomCode: 'MUM-01' },
    });
    // The first sale may load showrooms and rates (cached after).
    const first = await c.request('POST', '/api/sales', {
      token: c.tokens.cashier,
      body: sale(mobile),
      headers: { 'idempotency-key': newKey() },
    });
    expect(first.status).toBe(201);
    // Each connection prepares a text the second time it sees it; the pool hands the last
    // connection back first, so a few sales suffice.
    let sales = 1;
    let byName: Awaited<ReturnType<typeof recordedSale>> | undefined;
    while (sales < 7 && !byName) {
      const sold = await recordedSale(sale(mobile));
      sales += 1;
      expect(sold.answer.status, JSON.stringify(sold.answer.body)).toBe(201);
      expect(sold.answer.body).toMatchObject({ points: 20, balanceAfter: 20 * sales });
      expect(firstWords(sold.transaction)).toEqual(['BEGIN', 'WITH']);
      if (BY_NAME_AND_COMMIT.test(sold.raw[1] ?? '')) byName = sold;
    }
    expect(byName, 'no sale went by prepared statements alone').toBeDefined();
    expect(byName?.raw[0]).toMatch(
      /^BEGIN;\n(EXECUTE sb_\d+(\(.*\))?;\n)+EXECUTE sb_\d+(\(.*\))?$/,
    );
    expect(byName?.raw[1]).toMatch(BY_NAME_AND_COMMIT);
    // The same statements as sent in full (values aside), at less than half the length.
    expect(byName?.transaction[1]).toMatch(/insert into sales[\s\S]*change_seq[\s\S]*COMMIT$/);
    expect((byName?.raw[1] ?? '').length * 2).toBeLessThan(byName?.transaction[1]?.length ?? 0);
    const member = await c.central.db.knex('members').where('mobile', mobile).first();
    expect(Number(member.balance)).toBe(20 * sales);
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

import type { Knex } from 'knex';
import pg from 'pg';

/** A query knex can render: a query builder or a raw statement. */
interface Renderable {
  toSQL(): { toNative(): { sql: string; bindings: readonly unknown[] } };
}

/** A statement's result, readable once its batch has run. */
export class Later<T> {
  private result: { value: T } | undefined;

  get value(): T {
    if (!this.result) throw new Error('read before its statement batch ran');
    return this.result.value;
  }

  /** @internal */
  settle(value: T): void {
    this.result = { value };
  }
}

/**
 * Statements for PostgreSQL sent together in one message (the simple query protocol), so a
 * transaction's independent steps cost one round trip instead of one each. They run in order,
 * each with its own snapshot (READ COMMITTED), as if sent one by one: a read after a row lock
 * sees what the lock waited for. The first that fails stops the rest and fails the batch (and
 * with it the transaction, as a failed statement always does).
 *
 * The simple protocol takes no parameters, so values are written into the text as literals,
 * strings through node-postgres's escapeLiteral; or, once the connection has seen a text twice,
 * the text is prepared on it (PREPARE) and the values go as EXECUTE's arguments, literals too
 * (see PreparedStatements). Placeholders are found by their text ($n), so
 * a statement added here must have no "$" followed by a digit inside its own string literals,
 * identifiers or comments (none of the writer's has).
 */
export class StatementBatch {
  private readonly statements: {
    text: string;
    /** The values as SQL literals, written when added: a value that has none fails there. */
    literals: readonly string[];
    settle: (rows: Record<string, unknown>[]) => void;
  }[] = [];

  get size(): number {
    return this.statements.length;
  }

  /**
   * Adds a knex query; `parse` turns its rows into the value of the returned Later. Without
   * `parse`, a write whose rows nobody reads.
   */
  add(query: Renderable): void;
  add<T>(query: Renderable, parse: (rows: Record<string, unknown>[]) => T): Later<T>;
  add<T>(query: Renderable, parse?: (rows: Record<string, unknown>[]) => T): Later<T> | void {
    const native = query.toSQL().toNative();
    if (parse) return this.addText(native.sql, native.bindings, parse);
    this.addText(native.sql, native.bindings);
  }

  /** Adds SQL text with $1… placeholders and their values (`parse` as in add). */
  addText(text: string, values: readonly unknown[]): void;
  addText<T>(
    text: string,
    values: readonly unknown[],
    parse: (rows: Record<string, unknown>[]) => T,
  ): Later<T>;
  addText<T>(
    text: string,
    values: readonly unknown[],
    parse?: (rows: Record<string, unknown>[]) => T,
  ): Later<T> | void {
    checkPlaceholders(text, values.length);
    const literals = values.map(literal);
    if (!parse) {
      this.statements.push({ text, literals, settle: () => undefined });
      return;
    }
    const later = new Later<T>();
    this.statements.push({
      text,
      literals,
      settle: (rows) => {
        later.settle(parse(rows));
      },
    });
    return later;
  }

  /**
   * Runs every statement added, in one round trip, on the transaction's own connection. In a
   * transaction begun by foldedTransaction, the transaction's BEGIN goes out in front of the
   * first batch run, and with `commit` its COMMIT after the last statement: once this resolves
   * the transaction is committed, and nothing may run in it after.
   */
  async run(trx: Knex.Transaction, options: { commit?: boolean } = {}): Promise<void> {
    if (this.statements.length === 0) return;
    const statements = this.statements.splice(0);
    const connection = await transactionConnection(trx);
    const fold = folds.get(connection);
    const begin = fold?.takeBegin() ?? false;
    const commit = options.commit === true && fold !== undefined;
    const prepared = preparedOn(connection);
    const texts: string[] = begin ? ['BEGIN'] : [];
    const resultOf: number[] = []; // each statement's place among the message's results
    const fresh: string[] = []; // statements this message prepares
    for (const s of statements) {
      const name = prepared.nameFor(s.text);
      if (name?.fresh) {
        texts.push(`PREPARE ${name.name} AS ${s.text}`);
        fresh.push(s.text);
      }
      resultOf.push(texts.length);
      texts.push(name ? executeText(name.name, s.literals) : withLiterals(s.text, s.literals));
    }
    if (commit) texts.push('COMMIT');
    const sql = texts.join(';\n');
    let result: pg.QueryResult | pg.QueryResult[];
    try {
      result = (await (fold ? fold.send(sql, commit) : connection.query(sql))) as
        pg.QueryResult | pg.QueryResult[];
    } catch (error) {
      // Which of its PREPAREs ran is unknown (they outlive a rollback): their names are not
      // used again, and the statements are prepared afresh under new names when next seen.
      prepared.forget(fresh);
      throw error;
    }
    const results = Array.isArray(result) ? result : [result];
    if (results.length !== texts.length) {
      throw new Error(`${texts.length} statements gave ${results.length} results`);
    }
    statements.forEach((s, i) => {
      s.settle((results[resultOf[i] ?? -1]?.rows ?? []) as Record<string, unknown>[]);
    });
  }
}

/** A transaction that committed (its COMMIT went with a batch) and failed after. */
export class CommittedThenFailed extends Error {
  constructor(cause: unknown) {
    super(
      `the transaction committed, then failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
    this.name = 'CommittedThenFailed';
  }
}

type QueryCallback = (error: Error | null, result?: pg.QueryResult) => void;

/**
 * Holds a knex transaction's BEGIN back so that the first StatementBatch run in it carries it,
 * and answers knex's COMMIT itself once a batch has carried the COMMIT (see foldedTransaction).
 * Whatever else is sent first gets its BEGIN queued just ahead of it, so the transaction is the
 * same whichever path the writer takes. From the moment a COMMIT is on its way, only knex's
 * ROLLBACK (after a failure) may follow: anything else would run outside the transaction.
 */
class Fold {
  private state: 'new' | 'held' | 'open' | 'committing' | 'committed' | 'ended' = 'new';
  /** Savepoints (nested knex transactions) open: a COMMIT inside one would end the outer. */
  private savepoints = 0;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly original: (...args: unknown[]) => unknown;
  private readonly connection: pg.ClientBase;

  constructor(connection: pg.ClientBase) {
    this.connection = connection;
    // The prototype's query: the instance's own, set below, shadows it until detach().
    const proto = Object.getPrototypeOf(connection) as { query: (...args: unknown[]) => unknown };
    this.original = (...args) => proto.query.apply(connection, args);
    (connection as unknown as { query: unknown }).query = (...args: unknown[]) => this.query(args);
  }

  get committed(): boolean {
    return this.state === 'committed';
  }

  detach(): void {
    delete (this.connection as unknown as { query?: unknown }).query;
  }

  /** True once: the caller's message is to begin with BEGIN. */
  takeBegin(): boolean {
    if (this.state !== 'held') return false;
    this.state = 'open';
    return true;
  }

  /** Sends a batch's message; with `commit`, the message ends the transaction. */
  async send(sql: string, commit: boolean): Promise<unknown> {
    if (this.state === 'committing' || this.state === 'committed') throw afterCommit();
    if (!commit) return this.enqueue([sql]);
    if (this.savepoints > 0) throw new Error('a COMMIT inside a savepoint would end the outer');
    this.state = 'committing';
    try {
      const result = await this.enqueue([sql]);
      this.state = 'committed';
      return result;
    } catch (error) {
      this.state = 'open'; // failed, so not committed: knex's ROLLBACK follows
      throw error;
    }
  }

  private query(args: unknown[]): unknown {
    const first = args[0];
    const text = typeof first === 'string' ? first : (first as { text?: unknown } | null)?.text;
    const last = args.at(-1);
    const callback = typeof last === 'function' ? (last as QueryCallback) : undefined;
    const rollback = typeof text === 'string' && /^ROLLBACK\b/i.test(text);
    if (this.state === 'new' && text === 'BEGIN;') {
      this.state = 'held';
      return answer(callback, 'BEGIN');
    }
    if (this.state === 'held' && (text === 'COMMIT;' || rollback)) {
      // Nothing was sent in it: there is nothing to end either.
      this.state = 'ended';
      return answer(callback, rollback ? 'ROLLBACK' : 'COMMIT');
    }
    if (this.state === 'committed' && text === 'COMMIT;') return answer(callback, 'COMMIT');
    if ((this.state === 'committing' || this.state === 'committed') && !rollback) {
      // (knex's ROLLBACK after a failure past the commit changes nothing; PostgreSQL warns.)
      return answer(callback, 'COMMIT', afterCommit());
    }
    if (typeof text === 'string') {
      if (/^SAVEPOINT\b/i.test(text)) this.savepoints += 1;
      else if (/^(RELEASE|ROLLBACK TO) SAVEPOINT\b/i.test(text)) this.savepoints -= 1;
    }
    if (this.takeBegin()) {
      // Not a message BEGIN can join (a parameterised statement): BEGIN goes alone, first. It
      // fails only with the connection, and then so does the statement after it.
      this.enqueue(['BEGIN']).catch(() => undefined);
    }
    if (!callback) return this.enqueue(args);
    this.enqueue(args.slice(0, -1)).then(
      (result) => {
        callback(null, result as pg.QueryResult);
      },
      (error: unknown) => {
        callback(error instanceof Error ? error : new Error(String(error)));
      },
    );
    return undefined;
  }

  /**
   * Sends a query once every one sent before it has its answer, in the order asked: so nothing
   * can come between a lone BEGIN and its statement, and the client is never asked for a query
   * while one runs (node-postgres queues those itself, but that is deprecated).
   */
  private enqueue(args: unknown[]): Promise<unknown> {
    const sent = this.tail.then(() => this.original(...args) as Promise<unknown>);
    this.tail = sent.catch(() => undefined);
    return sent;
  }
}

/** What a statement sent once its transaction's COMMIT went out gets. */
function afterCommit(): Error {
  return new Error('a statement after its transaction committed');
}

/** Answers a query without sending it, in whichever form it was asked (callback or promise). */
function answer(callback: QueryCallback | undefined, command: string, error?: Error): unknown {
  const result = { command, rowCount: null, oid: 0, rows: [], fields: [] } as pg.QueryResult;
  if (callback) {
    process.nextTick(() => {
      if (error) callback(error);
      else callback(null, result);
    });
    return undefined;
  }
  return error ? Promise.reject(error) : Promise.resolve(result);
}

const folds = new WeakMap<pg.ClientBase, Fold>();

/**
 * A knex transaction on PostgreSQL in two round trips fewer: its BEGIN goes out with the first
 * StatementBatch run in it, and its COMMIT with the batch run with `commit` (knex's own COMMIT is
 * then answered without a round trip). The scope may still send anything through the
 * transaction as usual; only a statement after the folded COMMIT fails. A scope that fails after
 * its COMMIT went out rejects with CommittedThenFailed: what it wrote is there.
 */
export async function foldedTransaction<T>(
  knex: Knex,
  scope: (trx: Knex.Transaction) => Promise<T>,
): Promise<T> {
  const client = poolOf(knex);
  const connection = await client.acquireConnection();
  const fold = new Fold(connection);
  folds.set(connection, fold);
  try {
    return await knex.transaction(scope, { connection });
  } catch (error) {
    // Its callers must not take it for a transaction that wrote nothing.
    throw fold.committed ? new CommittedThenFailed(error) : error;
  } finally {
    folds.delete(connection);
    fold.detach();
    await client.releaseConnection(connection);
  }
}

/** Runs a write now, or, given a batch, adds it there to run with the batch's others. */
export async function writeNowOrIn(
  query: Renderable & PromiseLike<unknown>,
  batch: StatementBatch | undefined,
): Promise<void> {
  if (batch) batch.add(query);
  else await query;
}

/**
 * The node-postgres client a knex transaction runs on (knex hands a transaction's own
 * connection back from acquireConnection), for what knex cannot send: several statements in
 * one message, or a named statement.
 */
export function transactionConnection(trx: Knex.Transaction): Promise<pg.ClientBase> {
  return poolOf(trx).acquireConnection();
}

/** knex's client as the pool it is: a connection out, and back. */
function poolOf(knex: Knex): {
  acquireConnection(): Promise<pg.ClientBase>;
  releaseConnection(connection: pg.ClientBase): Promise<unknown>;
} {
  return knex.client as never;
}

const PLACEHOLDER = /\$(\d+)(?!\d)/g;

/** Checks that a text's $n placeholders are $1…$count, each used. */
function checkPlaceholders(text: string, count: number): void {
  const used = new Set<number>();
  for (const [, n] of text.matchAll(PLACEHOLDER)) {
    const index = Number(n) - 1;
    if (index < 0 || index >= count) throw new Error(`no value for $${n}`);
    used.add(index);
  }
  if (used.size !== count) throw new Error('a value has no placeholder');
}

/** Writes $n placeholders as literals of their values. */
export function inlineValues(text: string, values: readonly unknown[]): string {
  checkPlaceholders(text, values.length);
  return withLiterals(text, values.map(literal));
}

/** Writes $n placeholders as the literals given (their placeholders checked already). */
function withLiterals(text: string, literals: readonly string[]): string {
  return text.replace(PLACEHOLDER, (_, n: string) => {
    const value = literals[Number(n) - 1];
    if (value === undefined) throw new Error(`no value for $${n}`);
    return value;
  });
}

/** Runs a prepared statement with literals for its values (PostgreSQL casts each to its type). */
function executeText(name: string, literals: readonly string[]): string {
  return literals.length === 0 ? `EXECUTE ${name}` : `EXECUTE ${name}(${literals.join(', ')})`;
}

/**
 * The statements prepared on one connection (PREPARE, for the session). A statement sent as
 * text is parsed, analysed and planned every time: for the writer's messages that is more than
 * half of PostgreSQL's time (2.2 ms against 1.1 ms for one sale's writes, measured). A text is
 * prepared when seen a second time, so a shape that never repeats (an IN list of an odd length)
 * is not kept; and at most MAX_PREPARED per connection, since each holds its plan in the
 * server's memory (100–250 kB for the writer's statements).
 */
class PreparedStatements {
  static readonly MAX_PREPARED = 48;
  private static readonly MAX_SEEN = 1_000;
  private readonly names = new Map<string, string>();
  private readonly seen = new Set<string>();
  private count = 0;

  /** The name to execute the text under (fresh: to be prepared in this message), or none. */
  nameFor(text: string): { name: string; fresh: boolean } | undefined {
    const name = this.names.get(text);
    if (name) return { name, fresh: false };
    if (this.count >= PreparedStatements.MAX_PREPARED || !PREPARABLE.test(text)) return undefined;
    if (!this.seen.has(text)) {
      if (this.seen.size >= PreparedStatements.MAX_SEEN) this.seen.clear();
      this.seen.add(text);
      return undefined;
    }
    this.seen.delete(text);
    this.count += 1;
    const fresh = `sb_${this.count}`;
    this.names.set(text, fresh);
    return { name: fresh, fresh: true };
  }

  /** Statements whose PREPARE may not have run: their names count but are not used again. */
  forget(texts: readonly string[]): void {
    for (const text of texts) this.names.delete(text);
  }
}

/** What PREPARE takes: a query or a data-changing statement (not SET, LOCK, …). */
const PREPARABLE = /^\s*(select|insert|update|delete|with|values)\b/i;

const preparedStatements = new WeakMap<pg.ClientBase, PreparedStatements>();

function preparedOn(connection: pg.ClientBase): PreparedStatements {
  let prepared = preparedStatements.get(connection);
  if (!prepared) {
    prepared = new PreparedStatements();
    preparedStatements.set(connection, prepared);
  }
  return prepared;
}

/**
 * A value as a PostgreSQL literal: quoted and untyped, as a parameter is, so the statement's
 * casts and context decide its type (booleans excepted: true and false).
 */
export function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`cannot write ${value} into SQL`);
    return `'${String(value)}'`;
  }
  if (typeof value === 'bigint') return `'${value.toString()}'`;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return escapeLiteral(value);
  if (value instanceof Date) return escapeLiteral(value.toISOString());
  if (Array.isArray(value)) return escapeLiteral(arrayLiteral(value));
  return escapeLiteral(JSON.stringify(value));
}

/**
 * node-postgres's escapeLiteral, the same output: quotes doubled, and backslashes doubled in an
 * E'' string when there are any. Its loop adds one character at a time, 1.1–1.5 ms for the
 * 85 kB of JSON a batch of 250 sales passes in one value; one replace takes 0.3 ms.
 */
export function escapeLiteral(text: string): string {
  const body = text.replace(/['\\]/g, (c) => c + c);
  return text.includes('\\') ? ` E'${body}'` : `'${body}'`;
}

/**
 * A PostgreSQL array literal ('{1,2,"a\"b"}') of numbers, strings or nulls: items quoted and
 * escaped by the array syntax's own rules, the whole then escaped by escapeLiteral.
 */
function arrayLiteral(values: readonly unknown[]): string {
  const items = values.map((v) => {
    if (v === null || v === undefined) return 'NULL';
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    if (typeof v === 'string') return `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
    throw new TypeError(`cannot write ${typeof v} into an SQL array`);
  });
  return `{${items.join(',')}}`;
}

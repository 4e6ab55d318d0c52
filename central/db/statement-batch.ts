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
 * strings through node-postgres's escapeLiteral. Placeholders are found by their text ($n), so
 * a statement added here must have no "$" followed by a digit inside its own string literals,
 * identifiers or comments (none of the writer's has).
 */
export class StatementBatch {
  private readonly statements: {
    sql: string;
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
    const sql = inlineValues(text, values);
    if (!parse) {
      this.statements.push({ sql, settle: () => undefined });
      return;
    }
    const later = new Later<T>();
    this.statements.push({
      sql,
      settle: (rows) => {
        later.settle(parse(rows));
      },
    });
    return later;
  }

  /** Runs every statement added, in one round trip, on the transaction's own connection. */
  async run(trx: Knex.Transaction): Promise<void> {
    if (this.statements.length === 0) return;
    const statements = this.statements.splice(0);
    const connection = await transactionConnection(trx);
    const sql = statements.map((s) => s.sql).join(';\n');
    const result = (await connection.query(sql)) as pg.QueryResult | pg.QueryResult[];
    const results = Array.isArray(result) ? result : [result];
    if (results.length !== statements.length) {
      throw new Error(`${statements.length} statements gave ${results.length} results`);
    }
    statements.forEach((s, i) => {
      s.settle((results[i]?.rows ?? []) as Record<string, unknown>[]);
    });
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
  const client = trx.client as unknown as { acquireConnection(): Promise<pg.ClientBase> };
  return client.acquireConnection();
}

/** Writes $n placeholders as literals of their values. */
export function inlineValues(text: string, values: readonly unknown[]): string {
  const used = new Set<number>();
  const sql = text.replace(/\$(\d+)(?!\d)/g, (_, n: string) => {
    const index = Number(n) - 1;
    if (index < 0 || index >= values.length) throw new Error(`no value for $${n}`);
    used.add(index);
    return literal(values[index]);
  });
  if (used.size !== values.length) throw new Error('a value has no placeholder');
  return sql;
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
  if (typeof value === 'string') return pg.escapeLiteral(value);
  if (value instanceof Date) return pg.escapeLiteral(value.toISOString());
  if (Array.isArray(value)) return pg.escapeLiteral(arrayLiteral(value));
  return pg.escapeLiteral(JSON.stringify(value));
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

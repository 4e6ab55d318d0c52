import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDownAll, migrateLatest, openDb, type Db } from '../central/db/connect.ts';
import { createTestDatabase, describeEachDb, type TestDatabase } from './support/databases.ts';

const MIGRATIONS_DIR = new URL('../migrations/central/', import.meta.url);

/** knex's own bookkeeping, which may outlive a full rollback. */
const KNEX_TABLES = new Set(['knex_migrations', 'knex_migrations_lock']);

/** Every table (knex's own left out) with its column names, sorted. */
async function schemaOf(db: Db): Promise<Record<string, string[]>> {
  const schema: Record<string, string[]> = {};
  if (db.dialect === 'sqlite') {
    const tables: { name: string }[] = await db.knex.raw(
      `select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`,
    );
    for (const { name } of tables) {
      if (KNEX_TABLES.has(name)) continue;
      const columns: { name: string }[] = await db.knex.raw(`pragma table_info(${name})`);
      schema[name] = columns.map((c) => c.name).sort();
    }
  } else {
    const rows: { table_name: string; column_name: string }[] = await db
      .knex('information_schema.columns')
      .select('table_name', 'column_name')
      .where({ table_schema: 'public' })
      .orderBy(['table_name', 'column_name']);
    for (const r of rows) {
      if (KNEX_TABLES.has(r.table_name)) continue;
      (schema[r.table_name] ??= []).push(r.column_name);
    }
    for (const columns of Object.values(schema)) columns.sort();
  }
  return schema;
}

/** Names of the triggers on project tables (the append-only guards). */
async function triggersOf(db: Db): Promise<string[]> {
  if (db.dialect === 'sqlite') {
    const rows: { name: string }[] = await db.knex.raw(
      `select name from sqlite_master where type = 'trigger' order by name`,
    );
    return rows.map((r) => r.name);
  }
  const rows: { trigger_name: string }[] = await db
    .knex('information_schema.triggers')
    .distinct('trigger_name')
    .where({ trigger_schema: 'public' })
    .orderBy('trigger_name');
  return rows.map((r) => r.trigger_name);
}

describe('migration files', () => {
  const files = fs.readdirSync(MIGRATIONS_DIR);

  it('are named <14-digit timestamp>_<snake_case>.ts', () => {
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(f).toMatch(/^\d{14}_[a-z0-9_]+\.ts$/);
  });

  it('have distinct timestamps that are real dates, so name order is run order', () => {
    const stamps = files.map((f) => f.slice(0, 14));
    expect(new Set(stamps).size).toBe(stamps.length);
    expect([...files].sort()).toEqual([...files].sort((a, b) => a.localeCompare(b)));
    for (const s of stamps) {
      const iso = `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(8, 10)}:${s.slice(10, 12)}:${s.slice(12, 14)}Z`;
      expect(new Date(iso).toISOString()).toBe(iso.replace('Z', '.000Z'));
    }
  });
});

describeEachDb('migrations', (dialect) => {
  let database: TestDatabase;
  let db: Db;
  let first: Record<string, string[]>;
  let firstTriggers: string[];

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    db = openDb({
      dataDir: database.env.DATA_DIR,
      ...(database.env.DATABASE_URL ? { databaseUrl: database.env.DATABASE_URL } : {}),
    });
  });
  afterAll(async () => {
    await db.knex.destroy();
    await database.drop();
  });

  it('runs every migration on a fresh database', async () => {
    expect(await schemaOf(db)).toEqual({});
    const ran = await migrateLatest(db);
    expect(ran).toEqual(fs.readdirSync(MIGRATIONS_DIR).sort());
    first = await schemaOf(db);
    firstTriggers = await triggersOf(db);
    expect(Object.keys(first)).toEqual(
      expect.arrayContaining(['members', 'sales', 'sale_lines', 'ledger_entries', 'staff']),
    );
    expect(first.ledger_entries).toEqual(
      expect.arrayContaining(['id', 'member_id', 'kind', 'points', 'balance_after']),
    );
    expect(firstTriggers.length).toBeGreaterThan(0);
  });

  it('runs nothing when the schema is already up to date', async () => {
    expect(await migrateLatest(db)).toEqual([]);
    expect(await schemaOf(db)).toEqual(first);
  });

  it('rolls every migration back, leaving no project table or trigger', async () => {
    await migrateDownAll(db);
    expect(await schemaOf(db)).toEqual({});
    expect(await triggersOf(db)).toEqual([]);
    if (dialect === 'pg') {
      const fns = await db
        .knex('information_schema.routines')
        .select('routine_name')
        .where({ routine_schema: 'public' });
      expect(fns).toEqual([]);
    }
  });

  it('migrates up again to the very same schema', async () => {
    const ran = await migrateLatest(db);
    expect(ran.length).toBeGreaterThan(0);
    expect(await schemaOf(db)).toEqual(first);
    expect(await triggersOf(db)).toEqual(firstTriggers);
  });
});

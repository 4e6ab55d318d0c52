import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { registerReportFunctions, type RawSqlite } from '../reports/sql.ts';

/** Which database a central runs on. */
export type Dialect = 'sqlite' | 'pg';

/** A central database handle: knex plus which dialect it speaks. */
export interface Db {
  knex: Knex;
  dialect: Dialect;
}

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/central/', import.meta.url));

// int8 (counts, ids, points, paise) as numbers; an amount beyond 2^53 would be a bug, so fail loudly.
pg.types.setTypeParser(pg.types.builtins.INT8, (text) => {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`int8 ${text} exceeds 2^53`);
  return value;
});

/** Opens the central database: PostgreSQL when a URL is given, else SQLite in `dataDir`. */
export function openDb(options: { databaseUrl?: string; dataDir: string; poolMax?: number }): Db {
  if (options.databaseUrl) {
    const knex = knexFactory({
      client: 'pg',
      connection: options.databaseUrl,
      pool: { min: 0, max: options.poolMax ?? 10 },
    });
    return { knex, dialect: 'pg' };
  }
  fs.mkdirSync(options.dataDir, { recursive: true });
  const filename = path.join(options.dataDir, 'central.sqlite');
  const knex = knexFactory({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      afterCreate(
        conn: RawSqlite & { pragma(sql: string): unknown },
        done: (err: Error | null) => void,
      ) {
        // WAL for readers beside the writer; FULL so each commit survives a power cut.
        conn.pragma('journal_mode = WAL');
        conn.pragma('synchronous = FULL');
        conn.pragma('foreign_keys = ON');
        conn.pragma('busy_timeout = 5000');
        registerReportFunctions(conn);
        done(null);
      },
    },
  });
  return { knex, dialect: 'sqlite' };
}

/** Reads migrations from migrations/central as ES modules, in file-name order. */
const migrationSource: Knex.MigrationSource<string> = {
  getMigrations() {
    return Promise.resolve(
      fs
        .readdirSync(MIGRATIONS_DIR)
        .filter((f) => /^\d{14}_[a-z0-9_]+\.ts$/.test(f))
        .sort(),
    );
  },
  getMigrationName(name) {
    return name;
  },
  async getMigration(name) {
    return (await import(pathToFileURL(path.join(MIGRATIONS_DIR, name)).href)) as Knex.Migration;
  },
};

/** Brings the schema up to date; returns the names of the migrations it ran. */
export async function migrateLatest(db: Db): Promise<string[]> {
  const [, ran] = (await db.knex.migrate.latest({ migrationSource })) as [number, string[]];
  return ran;
}

/** Undoes the last migration run (tests of the down path only). */
export async function migrateDownLast(db: Db): Promise<void> {
  await db.knex.migrate.down({ migrationSource });
}

/** Undoes every migration (tests of the down path only). */
export async function migrateDownAll(db: Db): Promise<void> {
  await db.knex.migrate.rollback({ migrationSource }, true);
}

/** The rows of a raw query's result, as each dialect's driver returns them. */
export function rowsOf<T = Record<string, unknown>>(db: Db, result: unknown): T[] {
  return db.dialect === 'pg' ? (result as { rows: T[] }).rows : (result as T[]);
}

/** Converts an instant for binding: SQLite keeps ISO-8601 text, PostgreSQL timestamptz. */
export function toDbTime(db: Db, at: Date): Date | string {
  return db.dialect === 'pg' ? at : at.toISOString();
}

/** Reads an instant back as ISO-8601 whatever the dialect returned. */
export function fromDbTime(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') return new Date(value).toISOString();
  throw new TypeError(`not a time: ${String(value)}`);
}

/** Reads a boolean back: SQLite returns 0/1. */
export function fromDbBool(value: unknown): boolean {
  return value === true || value === 1;
}

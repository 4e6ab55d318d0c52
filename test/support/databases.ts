import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe } from 'vitest';
import { createPgDatabase, PG_ADMIN_URL } from './postgres.ts';

/** Where PostgreSQL for tests lives: a role that may create databases. */
export const TEST_DATABASE_URL = PG_ADMIN_URL;

const isCi = process.env.CI === 'true';

let reachable: Promise<string | undefined> | undefined;

/** Undefined when PostgreSQL answers, else why not. */
export function postgresProblem(): Promise<string | undefined> {
  reachable ??= (async () => {
    const client = new pg.Client({
      connectionString: TEST_DATABASE_URL,
      connectionTimeoutMillis: 3000,
    });
    try {
      await client.connect();
      await client.end();
      return undefined;
    } catch (error) {
      return `PostgreSQL at ${TEST_DATABASE_URL} is not reachable (${(error as Error).message})`;
    }
  })();
  return reachable;
}

/** A fresh, empty database for one test file: its settings and how to drop it. */
export interface TestDatabase {
  dialect: 'sqlite' | 'pg';
  env: { DATA_DIR: string; DATABASE_URL?: string };
  drop(): Promise<void>;
}

/** Creates a new PostgreSQL database, or a new SQLite folder. */
export async function createTestDatabase(dialect: 'sqlite' | 'pg'): Promise<TestDatabase> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-test-'));
  if (dialect === 'sqlite') {
    return {
      dialect,
      env: { DATA_DIR: dataDir },
      drop: () => {
        fs.rmSync(dataDir, { recursive: true, force: true });
        return Promise.resolve();
      },
    };
  }
  const database = await createPgDatabase('sl_test');
  return {
    dialect,
    env: { DATA_DIR: dataDir, DATABASE_URL: database.url },
    drop: async () => {
      await database.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const pgProblem = await postgresProblem();
if (pgProblem && isCi) {
  throw new Error(`${pgProblem}; CI=true needs PostgreSQL for the integration tests.`);
}
if (pgProblem) console.warn(`Skipping the PostgreSQL half of the integration tests: ${pgProblem}.`);

/** Runs a suite once on SQLite and once on PostgreSQL. */
export function describeEachDb(name: string, suite: (dialect: 'sqlite' | 'pg') => void): void {
  describe.each(['sqlite', 'pg'] as const)(`${name} [%s]`, (dialect) => {
    if (dialect === 'pg' && pgProblem) {
      // Only on a machine without PostgreSQL: under CI=true this module threw above.
      describe.skip(`PostgreSQL unavailable: ${pgProblem}`, () => undefined);
      return;
    }
    suite(dialect);
  });
}

/** Runs a suite on PostgreSQL only (skipped with a reason on a bare laptop, never in CI). */
export function describePg(name: string, suite: () => void): void {
  if (pgProblem) {
    // Only on a machine without PostgreSQL: under CI=true this module threw above.
    describe.skip(`${name}: PostgreSQL unavailable: ${pgProblem}`, () => undefined);
    return;
  }
  describe(name, suite);
}

import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A role that may create databases, for tests and benchmarks. */
export const PG_ADMIN_URL =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A new, empty PostgreSQL database: its URL and name, and how to drop it. */
export async function createPgDatabase(
  prefix: string,
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/**
 * Awaits `work`; if it has not settled after `afterMs`, prints what the database's sessions
 * are doing (state, what each waits on, who blocks it), so a hang in a test run names its
 * cause instead of only timing out. Does not change the outcome.
 */
export async function reportIfStalled<T>(
  label: string,
  databaseUrl: string | undefined,
  work: Promise<T>,
  afterMs = 10_000,
): Promise<T> {
  if (databaseUrl === undefined) return work;
  const timer = setTimeout(() => {
    void (async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      try {
        await client.connect();
        const { rows } = await client.query(
          `select pid, state, wait_event_type, wait_event, pg_blocking_pids(pid) as blocked_by,
                  now() - xact_start as in_transaction, left(query, 160) as query
             from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`,
        );
        console.warn(`STALLED ${String(afterMs)} ms: ${label}; sessions:\n${JSON.stringify(rows)}`);
      } catch (error) {
        console.warn(`STALLED ${String(afterMs)} ms: ${label}; sessions unknown: ${String(error)}`);
      } finally {
        await client.end().catch(() => undefined);
      }
    })();
  }, afterMs);
  try {
    return await work;
  } finally {
    clearTimeout(timer);
  }
}

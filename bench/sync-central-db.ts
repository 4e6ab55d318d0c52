/**
 * Central's database as the sync benchmark seeds and checks it, behind central's back: PostgreSQL
 * (production), or the SQLite file a central started without DATABASE_URL keeps in its data
 * folder (the default installation). Members are inserted straight into the table, with
 * balance 0 and no ledger entries, and stamped with change numbers as central would.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';

export type CentralDialect = 'pg' | 'sqlite';

export interface CentralTables {
  readonly dialect: CentralDialect;
  /** Central's change head. */
  head(): Promise<number>;
  /** Every member's id, balance and change number, by id. */
  balances(): Promise<{ id: number; balance: number; seq: number }[]>;
  /** Inserts `count` members numbered from `from` (see bulkMobile) and moves the head past them. */
  bulkMembers(from: number, count: number): Promise<void>;
  /** The number of sales whose bill number starts with `prefix`. */
  salesWithBillPrefix(prefix: string): Promise<number>;
  memberCount(): Promise<number>;
  /** Writes what the setup wrote to the database files, so the kernel does not mid-measure. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** Names of bulk members: first name by number modulo 12, surname by number ÷ 12. */
export const FIRST_NAMES = [
  'Aarav',
  'Priya',
  'Rohan',
  'Ananya',
  'Vikram',
  'Meena',
  'Arjun',
  'Kavya',
  'Ishaan',
  'Divya',
  'अमित',
  'सुनीता',
];
export const LAST_NAMES = [
  'Sharma',
  'Iyer',
  'Reddy',
  'Patel',
  'Singh',
  'Nair',
  'Gupta',
  'Das',
  'Khan',
  'Rao',
  'वर्मा',
  'जोशी',
];

/** The mobile of bulk member number i. */
export const bulkMobile = (i: number) => `+918${String(i).padStart(9, '0')}`;

export async function openPgTables(url: string): Promise<CentralTables> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const one = async (sql: string, params: unknown[] = []) =>
    Number(Object.values((await client.query(sql, params)).rows[0] as object)[0]);
  return {
    dialect: 'pg',
    head: () => one('select head from change_seq where id = 1'),
    async balances() {
      const rows = (await client.query('select id, balance, seq from members order by id'))
        .rows as { id: string; balance: string; seq: string }[];
      return rows.map((r) => ({
        id: Number(r.id),
        balance: Number(r.balance),
        seq: Number(r.seq),
      }));
    },
    async bulkMembers(from, count) {
      await client.query('begin');
      await client.query(
        `insert into members (mobile, name, sms_consent, consent_at, enrolled_at, balance, tier, seq, updated_at)
         select '+918' || lpad(g::text, 9, '0'),
                ($3::text[])[1 + g % array_length($3::text[], 1)] || ' ' || ($4::text[])[1 + (g / 12) % array_length($4::text[], 1)],
                g % 3 <> 0, now(), now(), 0, 'base', h.head + g - $1 + 1, now()
           from generate_series($1::int, $1::int + $2::int - 1) g,
                (select head from change_seq where id = 1) h`,
        [from, count, FIRST_NAMES, LAST_NAMES],
      );
      await client.query('update change_seq set head = head + $1 where id = 1', [count]);
      await client.query('commit');
      // As after any bulk load: without statistics the planner takes the table for a few pages
      // and scans it whole for a one-member update (3 ms at 11,000 members), until autovacuum
      // analyses it.
      await client.query('analyze members');
    },
    salesWithBillPrefix: (prefix) =>
      one('select count(*) from sales where bill_number like $1', [`${prefix}%`]),
    memberCount: () => one('select count(*) from members'),
    async flush() {
      await client.query('CHECKPOINT');
    },
    async close() {
      await client.end();
    },
  };
}

/** The SQLite database of a central process whose data folder is `dataDir`, opened beside it. */
export function openSqliteTables(dataDir: string): CentralTables {
  const db = new Database(path.join(dataDir, 'central.sqlite'));
  // Central holds the write lock for one batch at a time: wait for it, as its own readers do.
  db.pragma('busy_timeout = 10000');
  const one = (sql: string, ...params: unknown[]) =>
    Number(Object.values(db.prepare(sql).get(...params) as object)[0]);
  const insert = db.prepare<
    [{ from: number; count: number; first: string; last: string; at: string }]
  >(
    `with recursive g(n) as (
       select cast(@from as integer) union all select n + 1 from g where n < @from + @count - 1)
     insert into members (mobile, name, sms_consent, consent_at, enrolled_at, balance, tier, seq, updated_at)
     select '+918' || substr('000000000' || n, -9),
            json_extract(@first, '$[' || (n % json_array_length(@first)) || ']') || ' ' ||
              json_extract(@last, '$[' || ((n / 12) % json_array_length(@last)) || ']'),
            n % 3 <> 0, @at, @at, 0, 'base', h.head + n - cast(@from as integer) + 1, @at
       from g, (select head from change_seq where id = 1) h`,
  );
  return {
    dialect: 'sqlite',
    head: () => Promise.resolve(one('select head from change_seq where id = 1')),
    balances: () =>
      Promise.resolve(
        db.prepare('select id, balance, seq from members order by id').all() as {
          id: number;
          balance: number;
          seq: number;
        }[],
      ),
    bulkMembers(from, count) {
      if (count <= 0) return Promise.resolve(); // the recursive query yields its first row anyway
      db.transaction(() => {
        // Central keeps instants as ISO-8601 text in SQLite (toDbTime).
        const at = new Date().toISOString();
        insert.run({
          from,
          count,
          first: JSON.stringify(FIRST_NAMES),
          last: JSON.stringify(LAST_NAMES),
          at,
        });
        db.prepare('update change_seq set head = head + ? where id = 1').run(count);
      }).immediate();
      // No ANALYZE, unlike on PostgreSQL: central never runs it on SQLite, whose plans here come
      // from the indexes alone, and the benchmark measures the installation as it is.
      return Promise.resolve();
    },
    salesWithBillPrefix: (prefix) =>
      Promise.resolve(one('select count(*) from sales where bill_number like ?', `${prefix}%`)),
    memberCount: () => Promise.resolve(one('select count(*) from members')),
    flush() {
      db.pragma('wal_checkpoint(PASSIVE)');
      return Promise.resolve();
    },
    close() {
      db.close();
      return Promise.resolve();
    },
  };
}

/**
 * Central's database as the sync benchmark seeds and checks it, behind central's back, through
 * central's own connection (openDb): PostgreSQL (production), or the SQLite file a central
 * started without DATABASE_URL keeps in its data folder (the default installation). Members are
 * inserted straight into the table, with balance 0 and no ledger entries, and stamped with
 * change numbers as central would.
 */
import type { Db } from '../central/db/connect.ts';

/** Names of bulk members: first name by number, surname by number ÷ 12. */
const FIRST_NAMES = [
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
const LAST_NAMES = [
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

/** The mobile of bulk member number i: +918 followed by nine digits. */
export const bulkMobile = (i: number) => `+918${String(i).padStart(9, '0')}`;

/**
 * Bulk members numbered from..from+count-1, one SELECT per dialect: mobile, name, consent, when,
 * and k, the member's place in the series from 1 (its change number: the head before it plus k).
 */
const BULK_SELECT: Record<Db['dialect'], string> = {
  pg: `select '+918' || lpad(n::text, 9, '0') as mobile,
              (:first::text[])[1 + n % array_length(:first::text[], 1)] || ' ' ||
                (:last::text[])[1 + (n / 12) % array_length(:last::text[], 1)] as name,
              n % 3 <> 0 as consent, now() as at, n - :from::int + 1 as k
         from generate_series(:from::int, :from::int + :count::int - 1) n`,
  // SQLite binds a JS number as a real: the cast keeps n an integer, so n / 12 divides as above.
  // Central keeps instants as ISO-8601 text in SQLite (toDbTime).
  sqlite: `with recursive g(n) as (
             select cast(:from as integer) union all select n + 1 from g where n < :from + :count - 1)
           select '+918' || substr('000000000' || n, -9) as mobile,
                  json_extract(:first, '$[' || (n % json_array_length(:first)) || ']') || ' ' ||
                    json_extract(:last, '$[' || ((n / 12) % json_array_length(:last)) || ']') as name,
                  n % 3 <> 0 as consent, :at as at, n - cast(:from as integer) + 1 as k
             from g`,
};

/** Inserts `count` members numbered from `from` (see bulkMobile) and moves the head past them. */
export async function bulkMembers(db: Db, from: number, count: number): Promise<void> {
  if (count <= 0) return;
  const bindings =
    db.dialect === 'pg'
      ? { first: FIRST_NAMES, last: LAST_NAMES, from, count }
      : {
          first: JSON.stringify(FIRST_NAMES),
          last: JSON.stringify(LAST_NAMES),
          from,
          count,
          at: new Date().toISOString(),
        };
  await db.knex.transaction(async (trx) => {
    // The head first: its row lock (SQLite: the write lock) keeps central from stamping changes
    // with the numbers given here before this commits.
    const [moved] = await trx('change_seq')
      .where('id', 1)
      .increment('head', count)
      .returning<{ head: number }[]>('head');
    const head = moved?.head;
    if (head === undefined) throw new Error('central has no change_seq row');
    await trx.raw(
      `insert into members (mobile, name, sms_consent, consent_at, enrolled_at, balance, tier, seq, updated_at)
       select b.mobile, b.name, b.consent, b.at, b.at, 0, 'base', cast(:before as bigint) + b.k, b.at
         from (${BULK_SELECT[db.dialect]}) b`,
      { ...bindings, before: head - count },
    );
  });
  // As after any bulk load on PostgreSQL: without statistics its planner takes the table for a
  // few pages and scans it whole for a one-member update (3 ms at 11,000 members), until
  // autovacuum analyses it. Not on SQLite, where central never runs ANALYZE: the benchmark
  // measures the installation as it is.
  if (db.dialect === 'pg') await db.knex.raw('analyze members');
}

/** Every member's id, balance and change number, by id. */
export function balances(db: Db): Promise<{ id: number; balance: number; seq: number }[]> {
  return db.knex('members').orderBy('id').select('id', 'balance', 'seq');
}

/** The number of sales whose bill number starts with `prefix`. */
export async function salesWithBillPrefix(db: Db, prefix: string): Promise<number> {
  const row = await db.knex('sales').where('bill_number', 'like', `${prefix}%`).count({ n: '*' });
  return Number(row[0]?.n ?? 0);
}

export async function memberCount(db: Db): Promise<number> {
  const row = await db.knex('members').count({ n: '*' });
  return Number(row[0]?.n ?? 0);
}

/** Writes what the setup wrote into the database files, so the kernel does not mid-measure. */
export async function flushCentralDb(db: Db): Promise<void> {
  await db.knex.raw(db.dialect === 'pg' ? 'CHECKPOINT' : 'PRAGMA wal_checkpoint(PASSIVE)');
}

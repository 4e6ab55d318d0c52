import { rowsOf, type Db } from '../db/connect.ts';

/** What `verify` found: totals, and every member whose stored figures disagree with the ledger. */
export interface VerifyReport {
  members: number;
  entries: number;
  outstandingPoints: number;
  balanceDrift: { memberId: number; stored: number; ledger: number }[];
  runningDrift: { entryId: number; memberId: number; stored: number; recomputed: number }[];
}

/** Recomputes every balance and every running balance from the ledger entries. */
export async function verifyLedger(db: Db): Promise<VerifyReport> {
  const [counts] = await db.knex
    .raw(
      `select (select count(*) from members) as members,
            (select count(*) from ledger_entries) as entries,
            (select coalesce(sum(balance), 0) from members) as outstanding`,
    )
    .then((r: unknown) =>
      rowsOf<{
        members: number | string;
        entries: number | string;
        outstanding: number | string;
      }>(db, r),
    );
  const balanceDrift = (
    await db.knex
      .raw(
        `select m.id as member_id, m.balance as stored, coalesce(t.total, 0) as ledger
         from members m
         left join (select member_id, sum(points) as total from ledger_entries group by member_id) t
           on t.member_id = m.id
        where m.balance <> coalesce(t.total, 0)
        order by m.id limit 1000`,
      )
      .then((r: unknown) =>
        rowsOf<{
          member_id: number;
          stored: number | string;
          ledger: number | string;
        }>(db, r),
      )
  ).map((r) => ({
    memberId: r.member_id,
    stored: Number(r.stored),
    ledger: Number(r.ledger),
  }));
  const runningDrift = (
    await db.knex
      .raw(
        `select id, member_id, balance_after, running from (
         select id, member_id, balance_after,
                sum(points) over (partition by member_id order by id rows unbounded preceding) as running
           from ledger_entries) x
        where balance_after <> running
        order by id limit 1000`,
      )
      .then((r: unknown) =>
        rowsOf<{
          id: number;
          member_id: number;
          balance_after: number | string;
          running: number | string;
        }>(db, r),
      )
  ).map((r) => ({
    entryId: r.id,
    memberId: r.member_id,
    stored: Number(r.balance_after),
    recomputed: Number(r.running),
  }));
  return {
    members: Number(counts?.members ?? 0),
    entries: Number(counts?.entries ?? 0),
    outstandingPoints: Number(counts?.outstanding ?? 0),
    balanceDrift,
    runningDrift,
  };
}

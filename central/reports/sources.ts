import type { Knex } from 'knex';
import { INTERNAL_KEY_PREFIX } from '../../shared/protocol/api.ts';
import type { Db } from '../db/connect.ts';
import { nextDay, startOfDay } from '../time.ts';
import { daySql } from './sql.ts';

/**
 * Where a report reads its daily figures: the rollup tables, or the same relations computed
 * straight from the ledger, sales and members (the "truth" the rollups are checked against,
 * and the benchmarks' baseline). Both have the rollups' columns; a raw relation has one row
 * per fact (a sale, a line, an entry), a rollup one per day and key, so sum() reads both.
 */
export interface Source {
  kind: 'rollups' | 'ledger';
  bills: string;
  sales: string;
  points: string;
  enrolments: string;
}

/** The rollup tables. */
export const ROLLUPS: Source = {
  kind: 'rollups',
  bills: 'report_bills_daily',
  sales: 'report_sales_daily',
  points: 'report_points_daily',
  enrolments: 'report_enrolments_daily',
};

/** An instant as an SQL literal (ISO text on SQLite, timestamptz on PostgreSQL). */
export function instantSql(db: Db, at: Date): string {
  const iso = at.toISOString();
  return db.dialect === 'pg' ? `timestamptz '${iso}'` : `'${iso}'`;
}

/** The instants a range of calendar days starts and ends at (end excluded). */
export function boundsOf(from: string, to: string, zone: string): { start: Date; end: Date } {
  return { start: startOfDay(from, zone), end: startOfDay(nextDay(to), zone) };
}

const CANCEL_PREFIX = `${INTERNAL_KEY_PREFIX}redeem-cancel:`;
const REDEEM_PREFIX = `${INTERNAL_KEY_PREFIX}redeem:`;

/**
 * The rollups' relations computed from the facts recorded in the range of days (all of them
 * when no bound is given): what the rollups must hold for those days.
 */
export function ledgerSource(
  db: Db,
  zone: string,
  range: { from?: string; to?: string } = {},
  /** How `day` is computed: the calendar day as text (the default), or its day number. */
  dayOf: (column: string) => string = (column) => daySql(db, column, zone),
): Source & { memberShowrooms: string; memberStats: string } {
  const end =
    range.to === undefined ? undefined : instantSql(db, startOfDay(nextDay(range.to), zone));
  const start = range.from === undefined ? undefined : instantSql(db, startOfDay(range.from, zone));
  const within = (column: string) =>
    [
      end === undefined ? 'true' : `${column} < ${end}`,
      start === undefined ? 'true' : `${column} >= ${start}`,
    ].join(' and ');
  const d = dayOf;
  const memberShowrooms = `(select member_id, showroom_id, min(day) as first_day,
                                   max(day) as last_day, count(distinct day) as visits,
                                   count(*) as bills, sum(amount_paise) as spend_paise
                              from (select member_id, showroom_id, amount_paise,
                                           ${d('recorded_at')} as day
                                      from sales where ${within('recorded_at')}) x
                             group by member_id, showroom_id)`;
  return {
    kind: 'ledger',
    bills: `(select ${d('s.recorded_at')} as day, s.showroom_id, 1 as bills,
                    s.amount_paise, s.points, 0 as returns, 0 as returned_amount_paise,
                    0 as returned_points
               from sales s where ${within('s.recorded_at')}
             union all
             select ${d('r.recorded_at')}, r.showroom_id, 0, 0, 0, 1, r.amount_paise, r.points
               from sale_returns r where ${within('r.recorded_at')})`,
    sales: `(select ${d('s.recorded_at')} as day, s.showroom_id, l.category_id, 1 as lines,
                    l.amount_paise, l.points, 0 as returned_lines, 0 as returned_amount_paise,
                    0 as returned_points
               from sale_lines l join sales s on s.id = l.sale_id where ${within('s.recorded_at')}
             union all
             select ${d('r.recorded_at')}, r.showroom_id, l.category_id, 0, 0, 0, 1,
                    rl.amount_paise, rl.points
               from return_lines rl join sale_returns r on r.id = rl.return_id
               join sale_lines l on l.id = rl.sale_line_id
              where ${within('r.recorded_at')})`,
    points: `(select ${d('e.created_at')} as day, coalesce(e.showroom_id, 0) as showroom_id,
                     case when e.kind = 'reverse' and e.return_id is not null then 'return'
                          when e.kind = 'reverse' and e.idempotency_key like '${CANCEL_PREFIX}%'
                            then 'redeem-cancel'
                          else e.kind end as movement,
                     1 as entries, e.points,
                     case when e.kind = 'redeem' then -coalesce(r.value_paise, 0)
                          else coalesce(r.value_paise, 0) end as value_paise
                from ledger_entries e
                left join redemptions r on r.id = case
                  when e.kind = 'redeem' and e.idempotency_key like '${REDEEM_PREFIX}%'
                    then cast(substr(e.idempotency_key, ${REDEEM_PREFIX.length + 1}) as bigint)
                  when e.kind = 'reverse' and e.return_id is null
                       and e.idempotency_key like '${CANCEL_PREFIX}%'
                    then cast(substr(e.idempotency_key, ${CANCEL_PREFIX.length + 1}) as bigint)
                  end
               where ${within('e.created_at')})`,
    enrolments: `(select ${d('enrolled_at')} as day, coalesce(enrolled_showroom_id, 0) as showroom_id,
                         1 as enrolments
                    from members where ${within('enrolled_at')})`,
    memberShowrooms,
    // The showroom of the member's latest bill (by id, the order central wrote them).
    memberStats: `(select a.member_id, a.first_day, a.last_day, a.visits, a.bills, a.spend_paise,
                          a.showrooms, s.showroom_id as last_showroom_id
                     from (select m.member_id, min(m.first_day) as first_day,
                                  max(m.last_day) as last_day, max(x.visits) as visits,
                                  sum(m.bills) as bills, sum(m.spend_paise) as spend_paise,
                                  count(*) as showrooms, max(x.last_id) as last_id
                             from ${memberShowrooms} m
                             join (select member_id, max(id) as last_id,
                                          count(distinct ${d('recorded_at')}) as visits
                                     from sales where ${within('recorded_at')}
                                    group by member_id) x on x.member_id = m.member_id
                            group by m.member_id) a
                     join sales s on s.id = a.last_id)`,
  };
}

/** `from` for a knex query on a source's relation. */
export function relation(q: Knex | Knex.Transaction, sql: string): Knex.Raw | string {
  return sql.startsWith('(') ? q.raw(`${sql} as r`) : sql;
}

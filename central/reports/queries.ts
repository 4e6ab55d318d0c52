import type { Knex } from 'knex';
import type {
  ChurnRiskRow,
  LiabilityReport,
  LiabilityReportQuery,
  LiabilityReportRow,
  MembersReport,
  MembersReportQuery,
  MembersReportRow,
  PatternsReport,
  PatternsReportQuery,
  RfmRow,
  RfmSegment,
  SalesReport,
  SalesReportQuery,
  SalesReportRow,
  SmsReport,
  SmsReportQuery,
  SmsReportRow,
  TodayQuery,
  TodaySummary,
} from '../../shared/protocol/reports.ts';
import type { Db } from '../db/connect.ts';
import { loadProgramSettings } from '../db/settings-store.ts';
import { AppError } from '../errors.ts';
import type { Clock } from '../time.ts';
import { addDays, dayOf, periodIndexer, periodsOf, type Period } from './days.ts';
import { boundsOf, instantSql, ledgerSource, relation, ROLLUPS, type Source } from './sources.ts';
import {
  bitCountSql,
  bitOrSql,
  cumAtSql,
  dayNumber,
  dayNumberSql,
  meetsSql,
  rankSql,
  shorterSide,
  windowSql,
  withinSql,
} from './sql.ts';

/** What the report queries need. */
export interface ReportDeps {
  db: Db;
  timeZone: string;
  clock: Clock;
}

/** A member is at churn risk when days since the last visit exceed CHURN_K × the usual interval. */
export const CHURN_K = 2;
/** Visits (days with a bill) a member needs before their usual interval means anything. */
export const CHURN_MIN_VISITS = 3;
/** Recency bands of the RFM segments: a last visit in the range's last 30 days, or last 90. */
export const RFM_RECENT_DAYS = 30;
export const RFM_LAPSING_DAYS = 90;
/** Frequency bands: 1 visit; 2–3; RFM_FREQUENT_VISITS or more. */
export const RFM_FREQUENT_VISITS = 4;

interface Named {
  id: number;
  code: string;
  name: string;
}

/** The showroom filter of a query: the showrooms picked, or (ids null) the whole chain. */
export interface Filter {
  all: Named[];
  selected: Named[];
  ids: number[] | null;
}

type Q = Knex | Knex.Transaction;
type Sums = Record<string, unknown>;

/** A sum as a safe integer (PostgreSQL's sum of bigint is numeric, read as text). */
function int(value: unknown): number {
  if (value === null || value === undefined) return 0;
  const n = Number(value);
  if (!Number.isSafeInteger(n))
    throw new RangeError(`not a safe integer: ${JSON.stringify(value)}`);
  return n;
}

/** Rows of a raw query: an array on SQLite, `{ rows }` on PostgreSQL. */
function rowsOf(result: unknown): Sums[] {
  if (Array.isArray(result)) return result as Sums[];
  return (result as { rows: Sums[] }).rows;
}

/** Rows of a query builder. */
async function fetch(qb: Knex.QueryBuilder): Promise<Sums[]> {
  const rows: unknown = await qb;
  return rows as Sums[];
}

async function named(q: Q, table: 'showrooms' | 'categories'): Promise<Named[]> {
  return q(table).orderBy('code').select('id', 'code', 'name');
}

/** Resolves showroom codes; an unknown one is refused, naming the parameter. */
export async function resolveFilter(db: Db, codes: string[]): Promise<Filter> {
  const all = await named(db.knex, 'showrooms');
  if (codes.length === 0) return { all, selected: all, ids: null };
  const byCode = new Map(all.map((s) => [s.code, s]));
  const unknown = codes.filter((c) => !byCode.has(c));
  if (unknown.length > 0) {
    throw new AppError(
      'unknown-showroom',
      `There is no showroom ${unknown.join(', ')}; see GET /api/showrooms for the codes.`,
      [{ pointer: 'query:showrooms', message: `unknown showroom ${unknown.join(', ')}` }],
    );
  }
  const picked = new Set(codes);
  const selected = all.filter((s) => picked.has(s.code));
  return { all, selected, ids: selected.map((s) => s.id) };
}

/** Whether the filter takes every showroom (so chain-wide figures apply). */
const isWholeChain = (f: Filter) => f.ids === null || f.selected.length === f.all.length;

function header(deps: ReportDeps, q: { from: string; to: string }, f: Filter, notes: string[]) {
  return {
    from: q.from,
    to: q.to,
    showrooms: f.ids === null ? [] : f.selected.map((s) => s.code),
    timeZone: deps.timeZone,
    generatedAt: deps.clock.now().toISOString(),
    notes,
  };
}

/** A query on a source's relation for the days of the range and the filter's showrooms. */
function daily(db: Db, sql: string, from: string, to: string, f: Filter): Knex.QueryBuilder {
  const qb = db.knex.from(relation(db.knex, sql)).whereBetween('day', [from, to]);
  return f.ids === null ? qb : qb.whereIn('showroom_id', f.ids);
}

const sum = (db: Db, column: string, as = column) => db.knex.raw(`sum(${column}) as ${as}`);

const DATE_NOTE = (zone: string) =>
  `Each sale, return, redemption and enrolment counts on the calendar day (${zone}) central recorded it; a sale a counter sent late from its outbox counts on the day it arrived.`;

// ---------------------------------------------------------------------------------------------
// Loyalty sales vs redemption

const salesZero = () => ({
  bills: 0,
  lines: 0,
  salesPaise: 0,
  returnedPaise: 0,
  netSalesPaise: 0,
  pointsEarned: 0,
  pointsReversed: 0,
  pointsRedeemed: 0,
  redeemedValuePaise: 0,
});

const salesKeyNull = {
  period: null,
  periodEnd: null,
  showroomCode: null,
  showroomName: null,
  categoryCode: null,
  categoryName: null,
};

/** Loyalty sales vs redemption, from the rollups (or, for checking, straight from the ledger). */
export async function salesReport(
  deps: ReportDeps,
  query: SalesReportQuery,
  source: Source = ROLLUPS,
): Promise<SalesReport> {
  const { db } = deps;
  const f = await resolveFilter(db, query.showrooms);
  const { from, to, dimension } = query;
  const g = dimension === 'time' ? 'day' : dimension === 'showroom' ? 'showroom_id' : 'category_id';
  const rows = new Map<string, SalesReportRow>();
  const notes = [DATE_NOTE(deps.timeZone)];
  const keyOf: (raw: unknown) => string = (raw) => String(raw);

  let rowKey: (raw: unknown) => string = keyOf;
  if (dimension === 'time') {
    const periods = periodsOf(from, to, query.granularity);
    const indexOf = periodIndexer(periods);
    for (const p of periods) rows.set(p.period, { ...salesKeyNull, ...p, ...salesZero() });
    rowKey = (raw) => (periods[indexOf(String(raw))] as Period).period;
  } else if (dimension === 'showroom') {
    for (const s of f.selected) {
      rows.set(String(s.id), {
        ...salesKeyNull,
        showroomCode: s.code,
        showroomName: s.name,
        ...salesZero(),
      });
    }
  } else {
    for (const c of await named(db.knex, 'categories')) {
      rows.set(String(c.id), {
        ...salesKeyNull,
        categoryCode: c.code,
        categoryName: c.name,
        ...salesZero(),
        bills: null,
        pointsRedeemed: null,
        redeemedValuePaise: null,
      });
    }
    rows.set('redemptions', {
      ...salesKeyNull,
      categoryName: 'Redemptions (paid against whole bills, not categories)',
      ...salesZero(),
      bills: null,
    });
    notes.push(
      'A redemption pays for a whole bill, not for a category: redeemed points are on their own row, not spread over categories. Bills span categories, so bills are not counted by category.',
    );
  }
  const rowFor = (raw: unknown): SalesReportRow => {
    const key = rowKey(raw);
    let row = rows.get(key);
    if (!row) {
      // Figures at no showroom (0), or a category or showroom made since: shown, never dropped.
      row = {
        ...salesKeyNull,
        ...(dimension === 'showroom'
          ? { showroomCode: null, showroomName: '(no showroom)' }
          : { categoryCode: null, categoryName: `(category ${key})` }),
        ...salesZero(),
      };
      rows.set(key, row);
    }
    return row;
  };

  const [bills, lines, points] = await Promise.all([
    dimension === 'category'
      ? Promise.resolve([] as Sums[])
      : fetch(
          daily(db, source.bills, from, to, f)
            .groupBy(g)
            .select(
              db.knex.raw(`${g} as g`),
              sum(db, 'bills'),
              sum(db, 'amount_paise'),
              sum(db, 'returned_amount_paise'),
            ),
        ),
    fetch(
      daily(db, source.sales, from, to, f)
        .groupBy(g)
        .select(
          db.knex.raw(`${g} as g`),
          sum(db, 'lines'),
          sum(db, 'amount_paise'),
          sum(db, 'points'),
          sum(db, 'returned_amount_paise'),
          sum(db, 'returned_points'),
        ),
    ),
    fetch(
      dimension === 'category'
        ? daily(db, source.points, from, to, f)
            .whereIn('movement', ['redeem', 'redeem-cancel'])
            .select(db.knex.raw(`'redemptions' as g`), sum(db, 'points'), sum(db, 'value_paise'))
        : daily(db, source.points, from, to, f)
            .whereIn('movement', ['earn', 'return', 'redeem', 'redeem-cancel'])
            .groupBy(g, 'movement')
            .select(
              db.knex.raw(`${g} as g`),
              'movement',
              sum(db, 'points'),
              sum(db, 'value_paise'),
            ),
    ),
  ]);
  for (const b of bills) {
    const row = rowFor(b.g);
    row.bills = (row.bills ?? 0) + int(b.bills);
    row.salesPaise += int(b.amount_paise);
    row.returnedPaise += int(b.returned_amount_paise);
  }
  for (const l of lines) {
    const row = rowFor(l.g);
    row.lines += int(l.lines);
    if (dimension === 'category') {
      row.salesPaise += int(l.amount_paise);
      row.returnedPaise += int(l.returned_amount_paise);
      row.pointsEarned += int(l.points);
      row.pointsReversed += int(l.returned_points);
    }
  }
  for (const p of points) {
    if (dimension === 'category' && p.points === null) continue;
    const row = rowFor(p.g);
    const movement = (p.movement as string | undefined) ?? 'redeem';
    if (movement === 'earn') row.pointsEarned += int(p.points);
    else if (movement === 'return') row.pointsReversed -= int(p.points);
    else {
      row.pointsRedeemed = (row.pointsRedeemed ?? 0) - int(p.points);
      row.redeemedValuePaise = (row.redeemedValuePaise ?? 0) - int(p.value_paise);
    }
  }
  const totals = salesZero();
  for (const row of rows.values()) {
    row.netSalesPaise = row.salesPaise - row.returnedPaise;
    totals.bills += row.bills ?? 0;
    totals.lines += row.lines;
    totals.salesPaise += row.salesPaise;
    totals.returnedPaise += row.returnedPaise;
    totals.netSalesPaise += row.netSalesPaise;
    totals.pointsEarned += row.pointsEarned;
    totals.pointsReversed += row.pointsReversed;
    totals.pointsRedeemed += row.pointsRedeemed ?? 0;
    totals.redeemedValuePaise += row.redeemedValuePaise ?? 0;
  }
  if (dimension === 'category') {
    // Bills are not by category, but the range still has a number of bills.
    const [b] = await fetch(daily(db, source.bills, from, to, f).select(sum(db, 'bills')));
    totals.bills = int(b?.bills);
  }
  notes.push(
    'Returns count on the day they were recorded; pointsReversed are the points they took back. Points redeemed are net of cancelled redemptions, valued at the point value of the day each was redeemed.',
  );
  return {
    ...header(deps, query, f, notes),
    granularity: query.granularity,
    dimension,
    rows: [...rows.values()],
    totals,
  };
}

// ---------------------------------------------------------------------------------------------
// Points liability

type MovementColumn =
  'earnPoints' | 'redeemPoints' | 'reversePoints' | 'adjustPoints' | 'expirePoints' | 'bonusPoints';
const MOVEMENT_COLUMN: Record<string, MovementColumn> = {
  earn: 'earnPoints',
  redeem: 'redeemPoints',
  'redeem-cancel': 'reversePoints',
  return: 'reversePoints',
  reverse: 'reversePoints',
  adjust: 'adjustPoints',
  expire: 'expirePoints',
  bonus: 'bonusPoints',
};

const liabilityZero = () => ({
  openingPoints: 0,
  earnPoints: 0,
  redeemPoints: 0,
  reversePoints: 0,
  adjustPoints: 0,
  expirePoints: 0,
  bonusPoints: 0,
  netPoints: 0,
  closingPoints: 0,
  closingValuePaise: 0,
  entries: 0,
});

/** Points liability: opening, movements by kind, closing and its value, per period. */
export async function liabilityReport(
  deps: ReportDeps,
  query: LiabilityReportQuery,
  source: Source = ROLLUPS,
): Promise<LiabilityReport> {
  const { db } = deps;
  const f = await resolveFilter(db, query.showrooms);
  const { from, to } = query;
  const settings = await loadProgramSettings(db.knex);
  const before = db.knex.from(relation(db.knex, source.points)).where('day', '<', from);
  const [opening] = await fetch(
    (f.ids === null ? before : before.whereIn('showroom_id', f.ids)).select(sum(db, 'points')),
  );
  const moved = await fetch(
    daily(db, source.points, from, to, f)
      .groupBy('day', 'movement')
      .select('day', 'movement', sum(db, 'entries'), sum(db, 'points')),
  );
  const periods = periodsOf(from, to, query.granularity);
  const indexOf = periodIndexer(periods);
  const rows: LiabilityReportRow[] = periods.map((p) => ({ ...p, ...liabilityZero() }));
  for (const m of moved) {
    const row = rows[indexOf(String(m.day))] as LiabilityReportRow;
    const column = MOVEMENT_COLUMN[String(m.movement)] ?? 'adjustPoints';
    row[column] += int(m.points);
    row.entries += int(m.entries);
  }
  let running = int(opening?.points);
  const totals = { ...liabilityZero(), openingPoints: running };
  for (const row of rows) {
    row.openingPoints = running;
    row.netPoints =
      row.earnPoints +
      row.redeemPoints +
      row.reversePoints +
      row.adjustPoints +
      row.expirePoints +
      row.bonusPoints;
    running += row.netPoints;
    row.closingPoints = running;
    row.closingValuePaise = running * settings.pointValuePaise;
    for (const k of [
      'earnPoints',
      'redeemPoints',
      'reversePoints',
      'adjustPoints',
      'expirePoints',
      'bonusPoints',
      'netPoints',
      'entries',
    ] as const) {
      totals[k] += row[k];
    }
  }
  totals.closingPoints = running;
  totals.closingValuePaise = running * settings.pointValuePaise;
  const notes = [
    DATE_NOTE(deps.timeZone),
    'Outstanding points are the sum of every ledger entry up to the day, which is the sum of the members\u2019 balances; a member who owes points after a return counts negative.',
    `The value is at today\u2019s point value, ${settings.pointValuePaise} paise a point.`,
    'reversePoints holds returns (negative) and cancelled redemptions (positive).',
  ];
  if (f.ids !== null) {
    notes.push(
      'Filtered by showroom: opening and closing are what the entries made at these showrooms add up to; entries made at no showroom (head-office adjustments, birthday bonuses, expiry) are left out, so the sum over every showroom is not the chain\u2019s liability.',
    );
  }
  return {
    ...header(deps, query, f, notes),
    granularity: query.granularity,
    pointValuePaise: settings.pointValuePaise,
    rows,
    totals,
  };
}

// ---------------------------------------------------------------------------------------------
// Enrolments and active members

/**
 * Distinct members with a bill in each period, counted straight from the sales (the truth the
 * rollups are checked against).
 */
async function activeFromSales(
  deps: ReportDeps,
  periods: Period[],
  ids: number[] | null,
  groupByShowroom: boolean,
): Promise<{ i: number; showroomId: number; members: number }[]> {
  const { db, timeZone } = deps;
  const values = periods
    .map((p, i) => {
      const { start, end } = boundsOf(p.period, p.periodEnd, timeZone);
      return `(${i}, ${instantSql(db, start)}, ${instantSql(db, end)})`;
    })
    .join(', ');
  const rows = rowsOf(
    await db.knex.raw(
      `with p(i, a, b) as (values ${values})
     select p.i as i, ${groupByShowroom ? 's.showroom_id' : '0'} as showroom_id,
            count(distinct s.member_id) as members
       from p join sales s on s.recorded_at >= p.a and s.recorded_at < p.b
      ${ids === null ? '' : `where s.showroom_id in (${ids.map(() => '?').join(', ')})`}
      group by p.i${groupByShowroom ? ', s.showroom_id' : ''}`,
      ids ?? [],
    ),
  );
  return rows.map((r) => ({
    i: int(r.i),
    showroomId: int(r.showroom_id),
    members: int(r.members),
  }));
}

/**
 * Active members per period from the visits rollup, for the chain (0) or each showroom given:
 * the visits in the period whose previous visit (there) was before it. Each day of the periods
 * is a row of a small VALUES list joined on the day (a hash join on PostgreSQL: one pass over
 * the rollup's days, where a range join per period re-read them for every period). Periods may
 * overlap (a day then counts for each).
 */
async function activeFromRollup(
  db: Db,
  periods: Period[],
  showroomIds: number[],
): Promise<{ i: number; showroomId: number; members: number }[]> {
  const days: string[] = [];
  let lo: string | undefined;
  let hi: string | undefined;
  periods.forEach((p, i) => {
    for (let day = p.period; day <= p.periodEnd; day = addDays(day, 1)) {
      days.push(`('${day}', ${i}, '${p.period}')`);
    }
    if (lo === undefined || p.period < lo) lo = p.period;
    if (hi === undefined || p.periodEnd > hi) hi = p.periodEnd;
  });
  if (days.length === 0 || showroomIds.length === 0) return [];
  const only = periods.length === 1 ? periods[0] : undefined;
  // One period: one range of the primary key per showroom.
  const rows = rowsOf(
    await db.knex.raw(
      only
        ? `select 0 as i, showroom_id, sum(members) as members from report_visits_daily
            where showroom_id in (${showroomIds.map(() => '?').join(', ')})
              and day >= ? and day <= ? and prev_day < ?
            group by showroom_id`
        : `with d(day, i, a) as (values ${days.join(', ')})
     select d.i as i, v.showroom_id, sum(v.members) as members
       from report_visits_daily v join d on d.day = v.day
      where v.showroom_id in (${showroomIds.map(() => '?').join(', ')})
        and v.day >= ? and v.day <= ? and v.prev_day < d.a
      group by d.i, v.showroom_id`,
      only
        ? [...showroomIds, only.period, only.periodEnd, only.period]
        : [...showroomIds, lo ?? '', hi ?? ''],
    ),
  );
  return rows.map((r) => ({
    i: int(r.i),
    showroomId: int(r.showroom_id),
    members: int(r.members),
  }));
}

/**
 * The showrooms not picked, when there are fewer of them than picked ones: a filter of most of
 * the chain is counted as the chain less the rest, which reads fewer rows.
 */
function othersIfFewer(showroomIds: number[], allIds: number[]): number[] | null {
  const picked = new Set(showroomIds);
  const others = allIds.filter((id) => !picked.has(id));
  return others.length > 0 && others.length * 3 <= showroomIds.length ? others : null;
}

/**
 * Active members per period at several showrooms (not the whole chain), from the rollups, with
 * no pass over the sales. Per showroom, report_visits_daily counts its active members; a
 * member with one showroom is counted at it alone, so only members with several (one in ten,
 * by the partial index on report_member_showrooms) need their per-showroom visit bits: in each
 * period, a of the picked showrooms and b of the others saw them.
 * - Sum over the picked showrooms, less a - 1 for each member with a >= 1.
 * - When most of the chain is picked: the chain's active members, less the sum over the other
 *   showrooms, plus b for each member seen at both sides, b - 1 for one seen at the others only.
 * Periods may overlap.
 */
async function activeOfSeveral(
  db: Db,
  periods: Period[],
  showroomIds: number[],
  allIds: number[],
): Promise<{ i: number; members: number }[]> {
  if (periods.length === 0) return [];
  const others = othersIfFewer(showroomIds, allIds);
  const counts = periods.map(() => 0);
  const addTo = (rows: { i: number; members: number }[], sign: number) => {
    for (const r of rows) counts[r.i] = (counts[r.i] ?? 0) + sign * r.members;
  };
  if (others) {
    addTo(await activeFromRollup(db, periods, [0]), 1);
    addTo(await activeFromRollup(db, periods, others), -1);
  } else {
    addTo(await activeFromRollup(db, periods, showroomIds), 1);
  }
  const f = Math.min(...periods.map((p) => dayNumber(p.period)));
  const t = Math.max(...periods.map((p) => dayNumber(p.periodEnd)));
  const values = periods
    .map((p, i) => `(${i}, ${dayNumber(p.period)}, ${dayNumber(p.periodEnd)})`)
    .join(', ');
  const rank = (n: string) => rankSql(db, 's.visit_bits', n);
  const inRange = `first_no <= ${t} and first_no + length(visit_bits) - 1 >= ${f}`;
  const columns = 'member_id, first_no, first_no + length(visit_bits) - 1 as last_no, visit_bits';
  // Each member's rows that saw them in each period: a here, b at the others.
  const seen = `x as (select p.i, s.member_id, sum(s.outside) as b, count(*) - sum(s.outside) as a
                        from r s join p on s.first_no <= p.b and s.last_no >= p.a
                       where ${rank('p.b + 1 - s.first_no')} > ${rank('p.a - s.first_no')}
                       group by p.i, s.member_id)`;
  const rows = rowsOf(
    await db.knex.raw(
      others
        ? `with p(i, a, b) as (values ${values}),
           c as (select distinct member_id from report_member_showrooms
                  where showroom_id in (${others.join(', ')}) and member_showrooms > 1),
           r as (select ${columns},
                        case when showroom_id in (${others.join(', ')}) then 1 else 0 end as outside
                   from ${
                     // Each member's rows by the primary key (on PostgreSQL a lateral subquery
                     // keeps that a nested loop rather than a pass over the table).
                     db.dialect === 'pg'
                       ? `c cross join lateral (select x.showroom_id, x.first_no, x.visit_bits
                                                  from report_member_showrooms x
                                                 where x.member_id = c.member_id offset 0) s`
                       : 'c join report_member_showrooms s using (member_id)'
                   }
                  where ${inRange}),
           ${seen}
           select i, sum(case when a = 0 then b - 1 else b end) as extra from x group by i`
        : `with p(i, a, b) as (values ${values}),
           r0 as (select ${columns}, count(*) over (partition by member_id) as n
                    from report_member_showrooms
                   where showroom_id in (${showroomIds.join(', ')}) and member_showrooms > 1
                     and ${inRange}),
           r as (select member_id, first_no, last_no, visit_bits, 0 as outside from r0 where n > 1),
           ${seen}
           select i, -sum(a - 1) as extra from x group by i`,
    ),
  );
  for (const r of rows) counts[int(r.i)] = (counts[int(r.i)] ?? 0) + int(r.extra);
  return counts.map((members, i) => ({ i, members }));
}

const membersKeyNull = { period: null, periodEnd: null, showroomCode: null, showroomName: null };

/** Enrolments, bills and active members, by showroom or by period. */
export async function membersReport(
  deps: ReportDeps,
  query: MembersReportQuery,
  source: Source = ROLLUPS,
): Promise<MembersReport> {
  const { db } = deps;
  const f = await resolveFilter(db, query.showrooms);
  const { from, to, dimension } = query;
  const byTime = dimension === 'time';
  const g = byTime ? 'day' : 'showroom_id';
  const periods = byTime
    ? periodsOf(from, to, query.granularity)
    : [{ period: from, periodEnd: to }];
  const indexOf = periodIndexer(periods);
  const rows = new Map<string, MembersReportRow>();
  if (byTime) {
    periods.forEach((p, i) => {
      rows.set(String(i), { ...membersKeyNull, ...p, enrolments: 0, activeMembers: 0, bills: 0 });
    });
  } else {
    for (const s of f.selected) {
      rows.set(String(s.id), {
        ...membersKeyNull,
        showroomCode: s.code,
        showroomName: s.name,
        enrolments: 0,
        activeMembers: 0,
        bills: 0,
      });
    }
  }
  const rowFor = (raw: unknown): MembersReportRow => {
    const key = byTime ? String(indexOf(String(raw))) : String(raw);
    let row = rows.get(key);
    if (!row) {
      row = {
        ...membersKeyNull,
        showroomName: '(no showroom)',
        enrolments: 0,
        activeMembers: 0,
        bills: 0,
      };
      rows.set(key, row);
    }
    return row;
  };
  const [enrolled, bills, atEnd] = await Promise.all([
    fetch(
      daily(db, source.enrolments, from, to, f)
        .groupBy(g)
        .select(db.knex.raw(`${g} as g`), sum(db, 'enrolments')),
    ),
    fetch(
      daily(db, source.bills, from, to, f)
        .groupBy(g)
        .select(db.knex.raw(`${g} as g`), sum(db, 'bills')),
    ),
    fetch(
      (f.ids === null
        ? db.knex.from(relation(db.knex, source.enrolments))
        : db.knex.from(relation(db.knex, source.enrolments)).whereIn('showroom_id', f.ids)
      )
        .where('day', '<=', to)
        .select(sum(db, 'enrolments', 'n')),
    ),
  ]);
  for (const e of enrolled) rowFor(e.g).enrolments += int(e.enrolments);
  for (const b of bills) rowFor(b.g).bills += int(b.bills);

  // Active members per row, and over the whole range.
  const whole = [{ period: from, periodEnd: to }];
  const single = f.ids !== null && f.ids.length === 1 ? (f.ids[0] as number) : undefined;
  const chainRows = isWholeChain(f) ? 0 : single;
  let totalActive: number;
  if (source.kind === 'rollups') {
    // The rows' periods and, last, the whole range, in one pass.
    const asked = byTime ? [...periods, ...whole] : whole;
    const active =
      chainRows === undefined
        ? await activeOfSeveral(
            db,
            asked,
            f.ids ?? [],
            f.all.map((s) => s.id),
          )
        : await activeFromRollup(db, asked, [chainRows]);
    totalActive = active.find((a) => a.i === asked.length - 1)?.members ?? 0;
    if (byTime) {
      for (const a of active) {
        const row = a.i < periods.length ? rows.get(String(a.i)) : undefined;
        if (row) row.activeMembers = a.members;
      }
    } else {
      const ids = f.selected.map((s) => s.id);
      for (const a of await activeFromRollup(db, whole, ids)) {
        const row = rows.get(String(a.showroomId));
        if (row) row.activeMembers = a.members;
      }
    }
  } else {
    const active = await activeFromSales(deps, periods, f.ids, !byTime);
    for (const a of active) {
      const row = rows.get(byTime ? String(a.i) : String(a.showroomId));
      if (row) row.activeMembers = a.members;
    }
    totalActive = (await activeFromSales(deps, whole, f.ids, false))[0]?.members ?? 0;
  }
  const list = [...rows.values()];
  return {
    ...header(deps, query, f, [
      DATE_NOTE(deps.timeZone),
      'A member is active in a period when they had at least one bill in it. The total counts each member once, so it is less than the sum of the rows when members bought in several periods or showrooms.',
      'membersAtEnd counts members enrolled by the end of the range (at the filtered showrooms).',
    ]),
    granularity: query.granularity,
    dimension,
    rows: list,
    totals: {
      enrolments: list.reduce((s, r) => s + r.enrolments, 0),
      bills: list.reduce((s, r) => s + r.bills, 0),
      activeMembers: totalActive,
      membersAtEnd: int(atEnd[0]?.n),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Buying patterns

const FREQUENCY_BUCKETS: { label: string; min: number; max: number | null }[] = [
  { label: '1', min: 1, max: 1 },
  { label: '2', min: 2, max: 2 },
  { label: '3', min: 3, max: 3 },
  { label: '4-5', min: 4, max: 5 },
  { label: '6-10', min: 6, max: 10 },
  { label: '11+', min: 11, max: null },
];

const RFM_DEFINITIONS: Record<RfmSegment, string> = {
  champions: `last visit in the range's last ${RFM_RECENT_DAYS} days, ${RFM_FREQUENT_VISITS}+ visits in the range, and spend at or above the average of the range's active members`,
  loyal: `2+ visits in the range and last visit in its last ${RFM_LAPSING_DAYS} days (champions aside)`,
  new: `one visit in the range, and the first ever (at the filtered showrooms), in its last ${RFM_RECENT_DAYS} days`,
  promising: `one visit in the range, in its last ${RFM_RECENT_DAYS} days, not their first ever`,
  'at-risk': `2+ visits in the range but none in its last ${RFM_LAPSING_DAYS} days`,
  hibernating: `one visit in the range, ${RFM_RECENT_DAYS + 1}–${RFM_LAPSING_DAYS} days before its end`,
  lost: `one visit in the range, more than ${RFM_LAPSING_DAYS} days before its end`,
};

const SEGMENTS = Object.keys(RFM_DEFINITIONS) as RfmSegment[];

/**
 * Per member of the range: visits, spend, bills, whether the last visit is in the range's last
 * 30 / 90 days, and whether the first visit ever (at the filtered showrooms) is in its last 30.
 * From the visit bits of report_member_stats (whole chain) or report_member_showrooms (the
 * showrooms picked): a member's visits up to a day are a bit count, their spend an array
 * subscript, so no pass over the sales. Counting bits is needed only where the range cuts a
 * member's history; a range ending after the last visit (the usual case) reads the totals as
 * they are. OFFSET 0 keeps PostgreSQL from inlining k and m, which would evaluate each rank
 * again at every use.
 *
 * With several showrooms, spend and bills add up over a member's rows, but two showrooms
 * visited on one day are one visit: a member with visits at more than one of them has the
 * range's part of each row's bits or'ed together and counted.
 */
function perMemberFromBits(
  db: Db,
  from: string,
  to: string,
  ids: number[] | null,
  allIds: number[],
) {
  const f = dayNumber(from);
  const t = dayNumber(to);
  const recentFrom = Math.max(f, t - (RFM_RECENT_DAYS - 1));
  const lapsingFrom = Math.max(f, t - (RFM_LAPSING_DAYS - 1));
  const rank = (n: string) => rankSql(db, 'visit_bits', n);
  const at = (cum: string, i: string) => cumAtSql(db, cum, i);
  // Visits on days before `day`, for a member whose history the day may cut.
  const before = (day: number) =>
    `case when first_no >= ${day} then 0 when last_no < ${day} then visits
          else ${rank(`${day} - first_no`)} end`;
  const hasVisitFrom = (day: number) =>
    `case when last_no <= ${t} then (case when last_no >= ${day} then 1 else 0 end)
          when ${before(t + 1)} > ${before(day)} then 1 else 0 end`;
  const noInline = db.dialect === 'pg' ? 'offset 0' : '';
  const firstRecent = (firstNo: string) =>
    `case when ${firstNo} >= ${t - (RFM_RECENT_DAYS - 1)} then 1 else 0 end`;
  const columns = `first_no, first_no + length(visit_bits) - 1 as last_no, visits, visit_bits,
                   spend_cum, bills_cum`;
  const ranks = `${before(t + 1)} as rb, ${before(f)} as ra, ${hasVisitFrom(recentFrom)} as recent,
                 ${hasVisitFrom(lapsingFrom)} as lapsing`;
  if (ids === null || ids.length === 1) {
    const where = ids === null ? '' : `showroom_id = ${String(ids[0])} and`;
    return `
    r as (select ${columns}
            from ${ids === null ? 'report_member_stats' : 'report_member_showrooms'}
           where ${where} first_no <= ${t} and first_no + length(visit_bits) - 1 >= ${f}),
    k as (select ${ranks}, ${firstRecent('first_no')} as first_recent, spend_cum, bills_cum
            from r ${noInline}),
    m as (select rb - ra as visits, ${at('spend_cum', 'rb')} - ${at('spend_cum', 'ra')} as spend,
                 ${at('bills_cum', 'rb')} - ${at('bills_cum', 'ra')} as bills, recent, lapsing,
                 first_recent
            from k where rb > ra ${noInline})`;
  }
  // A member whose showrooms all lie in the filter (nine in ten have one) has their chain
  // history (report_member_stats) there. The others (by the partial index, members with several
  // showrooms who also bought outside the filter) have their rows here grouped: spend and bills
  // add up, and the range's part of each row's bits is or'ed, since two showrooms visited on one
  // day are one visit. Rows before the range stay: their first day decides whether one is new.
  const length = t - f + 1;
  const window = windowSql(db, 'visit_bits', 'first_no', f, length);
  const inFilter = `in (${ids.join(', ')})`;
  const inRange = `first_no <= ${t} and first_no + length(visit_bits) - 1 >= ${f}`;
  // Counts over a member's rows as integers: sum() of bigints is numeric on PostgreSQL, slow to
  // compare and add again half a million times.
  const big = (x: string) => `cast(${x} as bigint)`;
  // Members who also bought outside the filter: when the other showrooms are fewer, those with a
  // row there (by the partial index, without reading the rows in the filter first); else by the
  // set on each row.
  const side = shorterSide(ids, allIds);
  const boughtOutside =
    'others' in side
      ? `member_id in (select member_id from report_member_showrooms
                        where showroom_id in (${side.others.join(', ')}) and member_showrooms > 1)`
      : `not (${withinSql(db, 'member_showroom_ids', ids, allIds)})`;
  return `
    r as (select ${columns} from report_member_stats
           where ((showrooms = 1 and last_showroom_id ${inFilter})
                  or (showrooms > 1 and ${withinSql(db, 'showroom_ids', ids, allIds)}))
             and ${inRange}),
    k as (select ${ranks}, ${firstRecent('first_no')} as first_recent, spend_cum, bills_cum
            from r ${noInline}),
    rs as (select member_id, ${columns}
             from report_member_showrooms
            where showroom_id ${inFilter} and member_showrooms > 1 and ${boughtOutside}
                  and first_no <= ${t}),
    ks as (select member_id, first_no, ${ranks}, spend_cum, bills_cum, visit_bits
             from rs ${noInline}),
    g as (select member_id, min(first_no) as first_no, ${big('sum(rb - ra)')} as row_visits,
                 sum(case when rb > ra then 1 else 0 end) as rows_in_range,
                 ${bitOrSql(db, `case when rb > ra then ${window} end`)} as merged,
                 ${big(`sum(${at('spend_cum', 'rb')} - ${at('spend_cum', 'ra')})`)} as spend,
                 ${big(`sum(${at('bills_cum', 'rb')} - ${at('bills_cum', 'ra')})`)} as bills,
                 max(recent) as recent, max(lapsing) as lapsing
            from ks group by member_id),
    m as (select rb - ra as visits, ${at('spend_cum', 'rb')} - ${at('spend_cum', 'ra')} as spend,
                 ${at('bills_cum', 'rb')} - ${at('bills_cum', 'ra')} as bills, recent, lapsing,
                 first_recent
            from k where rb > ra
          union all
          select case when rows_in_range = 1 then row_visits
                      else ${bitCountSql(db, 'merged', length)} end,
                 spend, bills, recent, lapsing, ${firstRecent('first_no')}
            from g where row_visits > 0)`;
}

/** The same from the sales themselves (the truth the rollups are checked against). */
function perMemberFromSales(
  db: Db,
  zone: string,
  from: string,
  to: string,
  ids: number[] | null,
): string {
  const { start, end } = boundsOf(from, to, zone);
  const dno = dayNumberSql(db, 's.recorded_at', zone);
  const where = ids === null ? '' : `and s.showroom_id in (${ids.join(', ')})`;
  const t = dayNumber(to);
  return `
    md as (select s.member_id, ${dno} as dno, count(*) as bills, sum(s.amount_paise) as spend
             from sales s
            where s.recorded_at >= ${instantSql(db, start)} and s.recorded_at < ${instantSql(db, end)}
                  ${where}
            group by s.member_id, ${dno}),
    fv as (select s.member_id, min(${dno}) as first_no from sales s
            where s.recorded_at < ${instantSql(db, end)} ${where} group by s.member_id),
    m as (select md.member_id, count(*) as visits, sum(md.spend) as spend, sum(md.bills) as bills,
                 case when max(md.dno) >= ${t - (RFM_RECENT_DAYS - 1)} then 1 else 0 end as recent,
                 case when max(md.dno) >= ${t - (RFM_LAPSING_DAYS - 1)} then 1 else 0 end as lapsing,
                 case when min(fv.first_no) >= ${t - (RFM_RECENT_DAYS - 1)} then 1 else 0 end
                   as first_recent
            from md join fv on fv.member_id = md.member_id
           group by md.member_id)`;
}

/**
 * In one pass over the members' histories (stats), by the showroom of each member's last bill
 * and their number of showrooms (4 for 4 or more): the members who have bought at the filtered
 * showrooms (all, for null) with their whole spend, for showrooms per member; and, for churn
 * risk as of `today` over each member's whole history, those with enough visits and those at
 * risk, whose rows are kept only for the filtered showrooms (a member at one of them has bought
 * there). `fromLedger`: stats is the ledger's relation, with dates and no sets of showrooms.
 */
async function spreadAndChurn(
  db: Db,
  stats: string,
  fromLedger: boolean,
  today: string,
  ids: number[] | null,
  allIds: number[],
): Promise<Sums[]> {
  const dayNo = (col: string) =>
    db.dialect === 'pg'
      ? `(${col}::date - date '1970-01-01')`
      : `cast(julianday(${col}) - 2440587.5 as integer)`;
  // The rollup has the first day's number and the visit bits (whose length runs to the last
  // visit): integer arithmetic, no dates to parse a million times.
  const firstNo = fromLedger ? dayNo('first_day') : 'first_no';
  const lastNo = fromLedger ? dayNo('last_day') : '(first_no + length(visit_bits) - 1)';
  // A member with one showroom bought only at their last bill's; the others (one in ten) have
  // their set of showrooms.
  const ofFilter =
    ids === null
      ? ''
      : fromLedger
        ? `where st.member_id in (select member_id from sales
                                   where showroom_id in (${ids.join(', ')}))`
        : `where (st.showrooms = 1 and st.last_showroom_id in (${ids.join(', ')}))
              or (st.showrooms > 1 and ${meetsSql(db, 'st.showroom_ids', ids, allIds)})`;
  const spreadKey = 'case when st.showrooms >= 4 then 4 else st.showrooms end';
  const history = `st.visits >= ${CHURN_MIN_VISITS}`;
  const atRisk = `${history} and (${dayNumber(today)} - ${lastNo}) * (st.visits - 1)
                    > ${CHURN_K} * (${lastNo} - ${firstNo})`;
  return rowsOf(
    await db.knex.raw(
      `select st.last_showroom_id as showroom_id, ${spreadKey} as k, count(*) as members,
              sum(st.spend_paise) as spend,
              sum(case when ${history} then 1 else 0 end) as with_history,
              sum(case when ${atRisk} then 1 else 0 end) as at_risk,
              sum(case when ${atRisk} then st.spend_paise else 0 end) as at_risk_spend
         from ${stats} st ${ofFilter}
        group by st.last_showroom_id, ${spreadKey}`,
    ),
  );
}

/** Category mix, visit frequency, RFM, showrooms per member and churn risk. */
export async function patternsReport(
  deps: ReportDeps,
  query: PatternsReportQuery,
  source: Source = ROLLUPS,
): Promise<PatternsReport> {
  const { db, timeZone } = deps;
  const f = await resolveFilter(db, query.showrooms);
  const { from, to } = query;
  const isPg = db.dialect === 'pg';
  const ids = isWholeChain(f) ? null : f.ids;

  // Showrooms per member and churn risk run while the rest is computed: two streams of
  // queries, one per core.
  const truth = source.kind === 'rollups' ? undefined : ledgerSource(db, timeZone);
  const today = dayOf(deps.clock.now(), timeZone);
  const allIds = f.all.map((s) => s.id);
  const sideP = spreadAndChurn(
    db,
    truth?.memberStats ?? 'report_member_stats',
    truth !== undefined,
    today,
    ids,
    allIds,
  );
  // Awaited below; marked handled so a failure before then is not an unhandled rejection.
  sideP.catch(() => undefined);

  // Category mix, from the daily sales, also runs beside the rest; the range's gross sales (for
  // RFM, below) come first.
  const mixP = Promise.all([
    named(db.knex, 'categories'),
    fetch(
      daily(db, source.sales, from, to, f)
        .groupBy('category_id')
        .select('category_id', sum(db, 'lines'), sum(db, 'amount_paise')),
    ),
  ]);
  mixP.catch(() => undefined);
  const [gross] = await fetch(daily(db, source.bills, from, to, f).select(sum(db, 'amount_paise')));

  // Members of the range by visits and by RFM segment, in one pass over the members. The
  // average spend that makes a champion is the range's gross sales over its active members.
  const totalSpend = int(gross?.amount_paise);
  const fromBits = source.kind === 'rollups';
  const perMember = fromBits
    ? perMemberFromBits(db, from, to, ids, allIds)
    : perMemberFromSales(db, timeZone, from, to, ids);
  const bucket = `case ${FREQUENCY_BUCKETS.map(
    (b, i) =>
      `when m.visits >= ${b.min}${b.max === null ? '' : ` and m.visits <= ${b.max}`} then ${i}`,
  ).join(' ')} end`;
  // The segment as its index in SEGMENTS; grouped with the bucket as one small integer, which
  // lets PostgreSQL aggregate in its parallel workers.
  const segmentOf = (members: number | string) => `case
      when m.visits = 1 and m.first_recent = 1 and m.recent = 1 then ${SEGMENTS.indexOf('new')}
      when m.recent = 1 and m.visits >= ${RFM_FREQUENT_VISITS}
           and m.spend * ${members} >= ${totalSpend} then ${SEGMENTS.indexOf('champions')}
      when m.visits >= 2 and m.lapsing = 1 then ${SEGMENTS.indexOf('loyal')}
      when m.visits >= 2 then ${SEGMENTS.indexOf('at-risk')}
      when m.recent = 1 then ${SEGMENTS.indexOf('promising')}
      when m.lapsing = 1 then ${SEGMENTS.indexOf('hibernating')}
      else ${SEGMENTS.indexOf('lost')} end`;
  const active = async (): Promise<number> => {
    const counted = rowsOf(await db.knex.raw(`with ${perMember} select count(*) as n from m`));
    return int(counted[0]?.n);
  };
  // Active members come from the visits rollup (cheap) for the chain or one showroom; with
  // several, m counts them in the grid's own query (counting them apart with activeOfSeveral
  // cost up to a third of a second more with 51 to 68 of 69 showrooms; keeping only those who
  // may be champions apart, grouped by their spend, more still); for the ledger's truth, counted
  // beforehand.
  const several = fromBits && ids !== null && ids.length > 1;
  const activeMembers: number | string = several
    ? 'n.n'
    : fromBits
      ? ((await activeFromRollup(db, [{ period: from, periodEnd: to }], [ids?.[0] ?? 0]))[0]
          ?.members ?? 0)
      : await active();
  const grid = rowsOf(
    await db.knex.transaction(async (trx): Promise<unknown> => {
      // JIT compiling these expressions costs more than it saves (a quarter of a second).
      if (isPg) await trx.raw(`set local work_mem = '128MB'; set local jit = off`);
      return trx.raw(
        `with ${perMember}${several ? ', n as (select count(*) as n from m)' : ''}
         select (${bucket}) * 10 + (${segmentOf(activeMembers)}) as cell, count(*) as members,
                sum(m.spend) as spend, sum(m.visits) as visits, sum(m.bills) as bills
           from m${several ? ' cross join n' : ''}
          group by (${bucket}) * 10 + (${segmentOf(activeMembers)})`,
      );
    }),
  );
  const [categories, mix] = await mixP;
  const mixById = new Map(mix.map((m) => [int(m.category_id), m]));
  const mixTotal = mix.reduce((s, m) => s + int(m.amount_paise), 0);
  const categoryMix = categories.map((c) => {
    const m = mixById.get(c.id);
    const salesPaise = int(m?.amount_paise);
    return {
      categoryCode: c.code,
      categoryName: c.name,
      lines: int(m?.lines),
      salesPaise,
      shareBasisPoints: mixTotal === 0 ? 0 : Math.round((salesPaise * 10_000) / mixTotal),
    };
  });
  const visitFrequency = FREQUENCY_BUCKETS.map((b, i) => {
    const cells = grid.filter((g) => Math.floor(int(g.cell) / 10) === i);
    return {
      visits: b.label,
      minVisits: b.min,
      maxVisits: b.max,
      members: cells.reduce((s, g) => s + int(g.members), 0),
      salesPaise: cells.reduce((s, g) => s + int(g.spend), 0),
    };
  });
  const rfm: RfmRow[] = SEGMENTS.map((segmentName) => {
    const cells = grid.filter((g) => int(g.cell) % 10 === SEGMENTS.indexOf(segmentName));
    return {
      segment: segmentName,
      definition: RFM_DEFINITIONS[segmentName],
      members: cells.reduce((s, g) => s + int(g.members), 0),
      salesPaise: cells.reduce((s, g) => s + int(g.spend), 0),
      visits: cells.reduce((s, g) => s + int(g.visits), 0),
    };
  });
  const totals = {
    activeMembers: grid.reduce((s, g) => s + int(g.members), 0),
    visits: grid.reduce((s, g) => s + int(g.visits), 0),
    bills: grid.reduce((s, g) => s + int(g.bills), 0),
    salesPaise: grid.reduce((s, g) => s + int(g.spend), 0),
    multiShowroomMembers: 0,
  };

  const sideRows = await sideP;
  const showroomsPerMember = [1, 2, 3, 4].map((k) => {
    const rows = sideRows.filter((x) => int(x.k) === k);
    return {
      showrooms: k === 4 ? '4+' : String(k),
      members: rows.reduce((sum, r) => sum + int(r.members), 0),
      salesPaise: rows.reduce((sum, r) => sum + int(r.spend), 0),
    };
  });
  totals.multiShowroomMembers = showroomsPerMember.slice(1).reduce((s, r) => s + r.members, 0);

  const byShowroom = new Map(f.all.map((s) => [s.id, s]));
  const churnList: ChurnRiskRow[] = f.selected.map((s) => ({
    showroomCode: s.code,
    showroomName: s.name,
    membersWithHistory: 0,
    membersAtRisk: 0,
    atRiskSpendPaise: 0,
  }));
  const picked = new Set(f.ids ?? allIds);
  for (const c of sideRows) {
    const id = int(c.showroom_id);
    // Members of the filter whose last bill was elsewhere count in showrooms per member only.
    if (byShowroom.has(id) && !picked.has(id)) continue;
    const s = byShowroom.get(id);
    let row = churnList.find((r) => r.showroomCode === (s?.code ?? null));
    if (!row) {
      row = {
        showroomCode: s?.code ?? null,
        showroomName: s?.name ?? '(no showroom)',
        membersWithHistory: 0,
        membersAtRisk: 0,
        atRiskSpendPaise: 0,
      };
      churnList.push(row);
    }
    row.membersWithHistory += int(c.with_history);
    row.membersAtRisk += int(c.at_risk);
    row.atRiskSpendPaise += int(c.at_risk_spend);
  }
  return {
    ...header(deps, query, f, [
      DATE_NOTE(timeZone),
      'A visit is a calendar day on which the member had at least one bill (at the filtered showrooms). Visit frequency and RFM cover the members active in the range; with one showroom picked, a "new" member is one whose first visit to that showroom is recent.',
      `RFM segments: recency from the member's last visit in the range to its end (${RFM_RECENT_DAYS} and ${RFM_LAPSING_DAYS} days), frequency from visits in the range (1, 2-3, ${RFM_FREQUENT_VISITS}+), monetary from gross spend in the range against the average of the range's active members. Each member is in exactly one segment, tested in the order listed.`,
      'Showrooms per member: the members who have bought at the filtered showrooms, by how many of the chain\u2019s showrooms they have bought at over their whole history to now, with their whole spend.',
      `Churn risk is judged today (${today}) over each member's whole history: a member with at least ${CHURN_MIN_VISITS} visits is at risk when the days since their last visit exceed ${CHURN_K} times their usual interval (first to last visit, divided by visits - 1). Rows are by the showroom of the member's last bill.`,
    ]),
    categoryMix,
    visitFrequency,
    rfm,
    showroomsPerMember,
    churnRisk: {
      asOf: today,
      k: CHURN_K,
      minVisits: CHURN_MIN_VISITS,
      rows: churnList,
      totals: {
        membersWithHistory: churnList.reduce((s, r) => s + r.membersWithHistory, 0),
        membersAtRisk: churnList.reduce((s, r) => s + r.membersAtRisk, 0),
        atRiskSpendPaise: churnList.reduce((s, r) => s + r.atRiskSpendPaise, 0),
      },
    },
    totals,
  };
}

// ---------------------------------------------------------------------------------------------
// SMS

const smsZero = () => ({
  total: 0,
  pending: 0,
  sent: 0,
  failed: 0,
  refused: 0,
  unknown: 0,
  expired: 0,
  sentSegments: 0,
});

/** SMS created in the range, by kind and by where each stands now. */
export async function smsReport(deps: ReportDeps, query: SmsReportQuery): Promise<SmsReport> {
  const { db } = deps;
  const f = await resolveFilter(db, query.showrooms);
  const { start, end } = boundsOf(query.from, query.to, deps.timeZone);
  let qb = db
    .knex('sms_outbox as o')
    // The outbox binds times as Date on both databases (milliseconds on SQLite): compare alike.
    .where('o.created_at', '>=', start)
    .where('o.created_at', '<', end);
  if (f.ids !== null) {
    qb = qb.join('members as m', 'm.id', 'o.member_id').whereIn('m.enrolled_showroom_id', f.ids);
  }
  const counted = await fetch(
    qb
      .groupBy('o.kind', 'o.status')
      .select(
        'o.kind',
        'o.status',
        db.knex.raw('count(*) as n'),
        db.knex.raw('sum(o.segments) as segments'),
      ),
  );
  const rows = new Map<string, SmsReportRow>();
  for (const c of counted) {
    const kind = String(c.kind);
    let row = rows.get(kind);
    if (!row) {
      row = { kind, ...smsZero() };
      rows.set(kind, row);
    }
    const n = int(c.n);
    row.total += n;
    const status = String(c.status);
    if (status === 'sent') row.sentSegments += int(c.segments);
    if (status === 'queued' || status === 'sending' || status === 'retrying') row.pending += n;
    else if (
      status === 'sent' ||
      status === 'failed' ||
      status === 'refused' ||
      status === 'unknown' ||
      status === 'expired'
    ) {
      row[status] += n;
    }
  }
  const list = [...rows.values()].sort((a, b) => (a.kind < b.kind ? -1 : 1));
  const totals = smsZero();
  for (const r of list)
    for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r[k];
  return {
    ...header(deps, query, f, [
      `Messages created in the range (days in ${deps.timeZone}), by where each stands now. "sent" means the SMS provider accepted the message; the outbox keeps no delivery receipts.`,
      ...(f.ids === null
        ? []
        : [
            'Filtered by showroom: messages to members enrolled at these showrooms (OTPs and notices to members of other showrooms who bought here are not counted).',
          ]),
    ]),
    rows: list,
    totals,
  };
}

// ---------------------------------------------------------------------------------------------
// Today

/** The dashboard's figures for today, from the rollups (and today's SMS and sales). */
export async function todaySummary(deps: ReportDeps, query: TodayQuery): Promise<TodaySummary> {
  const { db, timeZone } = deps;
  const f = await resolveFilter(db, query.showrooms);
  const now = deps.clock.now();
  const today = dayOf(now, timeZone);
  const [bills, points, enrolled, sms] = await Promise.all([
    fetch(
      daily(db, 'report_bills_daily', today, today, f).select(
        sum(db, 'bills'),
        sum(db, 'amount_paise'),
        sum(db, 'returned_amount_paise'),
      ),
    ),
    fetch(
      daily(db, 'report_points_daily', today, today, f)
        .whereIn('movement', ['earn', 'redeem', 'redeem-cancel'])
        .groupBy('movement')
        .select('movement', sum(db, 'points'), sum(db, 'value_paise')),
    ),
    fetch(daily(db, 'report_enrolments_daily', today, today, f).select(sum(db, 'enrolments'))),
    smsReport(deps, { from: today, to: today, showrooms: query.showrooms }),
  ]);
  const single = f.ids !== null && f.ids.length === 1 ? (f.ids[0] as number) : undefined;
  const chainRows = isWholeChain(f) ? 0 : single;
  const whole = [{ period: today, periodEnd: today }];
  const members =
    chainRows === undefined
      ? ((
          await activeOfSeveral(
            db,
            whole,
            f.ids ?? [],
            f.all.map((s) => s.id),
          )
        )[0]?.members ?? 0)
      : ((await activeFromRollup(db, whole, [chainRows]))[0]?.members ?? 0);
  const moved = (m: string, col: string) => int(points.find((p) => p.movement === m)?.[col]);
  return {
    date: today,
    timeZone,
    showrooms: f.ids === null ? [] : f.selected.map((s) => s.code),
    generatedAt: now.toISOString(),
    bills: int(bills[0]?.bills),
    salesPaise: int(bills[0]?.amount_paise),
    returnedPaise: int(bills[0]?.returned_amount_paise),
    members,
    pointsEarned: moved('earn', 'points'),
    pointsRedeemed: -(moved('redeem', 'points') + moved('redeem-cancel', 'points')),
    redeemedValuePaise: -(moved('redeem', 'value_paise') + moved('redeem-cancel', 'value_paise')),
    enrolments: int(enrolled[0]?.enrolments),
    smsSent: sms.totals.sent,
    smsFailed: sms.totals.failed + sms.totals.refused + sms.totals.expired + sms.totals.unknown,
    smsPending: sms.totals.pending,
  };
}

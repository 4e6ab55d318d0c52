import type { Db } from '../db/connect.ts';
import { dayOf, daysBetween } from './days.ts';

/** Day numbers count from this day (in the chain's zone). */
export const DAY_ZERO = '1970-01-01';

/** The day number of a calendar day. */
export function dayNumber(day: string): number {
  return daysBetween(DAY_ZERO, day);
}

/** Only IANA-style names reach SQL text (they are checked by Intl too). */
export function checkZone(zone: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_+/-]{0,63}$/.test(zone)) throw new Error(`bad time zone ${zone}`);
  new Intl.DateTimeFormat('en', { timeZone: zone });
  return zone;
}

/** The better-sqlite3 connection calls the registration needs. */
export interface RawSqlite {
  function(
    name: string,
    options: { deterministic: boolean },
    fn: (...args: unknown[]) => unknown,
  ): void;
  aggregate(
    name: string,
    options: {
      start: () => unknown;
      step: (total: unknown, ...args: unknown[]) => unknown;
      result: (total: unknown) => unknown;
    },
  ): void;
}

/** Counts the 1s among the first `n` characters of a text of 0s and 1s. */
function rank(bits: string, n: number): number {
  let ones = 0;
  const end = Math.min(n, bits.length);
  for (let i = 0; i < end; i += 1) if (bits.charCodeAt(i) === 49) ones += 1;
  return ones;
}

/**
 * SQLite has no time zones, bit strings or arrays: the reports' SQL calls functions that run
 * here instead (report_day, report_dno, report_rank, report_window, report_at and the
 * aggregates report_bits, report_bit_or and report_cum). openDb registers them on every SQLite
 * connection it creates, so no query can reach one that lacks them.
 */
export function registerReportFunctions(conn: RawSqlite): void {
  conn.function('report_day', { deterministic: true }, (at, zone) =>
    typeof at === 'string' && typeof zone === 'string' ? dayOf(at, zone) : null,
  );
  conn.function('report_dno', { deterministic: true }, (at, zone) =>
    typeof at === 'string' && typeof zone === 'string' ? dayNumber(dayOf(at, zone)) : null,
  );
  conn.function('report_rank', { deterministic: true }, (bits, n) =>
    typeof bits === 'string' ? rank(bits, Number(n)) : 0,
  );
  conn.function('report_window', { deterministic: true }, (bits, firstNo, from, length) =>
    typeof bits === 'string' ? windowOf(bits, Number(firstNo), Number(from), Number(length)) : null,
  );
  conn.function('report_at', { deterministic: true }, (cum, i) => {
    const list = JSON.parse(String(cum)) as number[];
    return list[Number(i)] ?? 0;
  });
  // Whether a JSON array of showroom ids lies inside (or meets) another.
  // The filter is the same literal on every row of a query: parsed once.
  const ids = (list: unknown) => JSON.parse(String(list)) as number[];
  let filterText = '';
  let filter = new Set<number>();
  const filterOf = (of: unknown) => {
    if (String(of) !== filterText) {
      filterText = String(of);
      filter = new Set(ids(of));
    }
    return filter;
  };
  conn.function('report_subset', { deterministic: true }, (set, of) => {
    const within = filterOf(of);
    return ids(set).every((id) => within.has(id)) ? 1 : 0;
  });
  conn.function('report_overlaps', { deterministic: true }, (set, of) => {
    const within = filterOf(of);
    return ids(set).some((id) => within.has(id)) ? 1 : 0;
  });
  // The bits of a set of day numbers (order of rows does not matter).
  conn.aggregate('report_bits', {
    start: () => [] as number[],
    step: (days, dno) => {
      (days as number[]).push(Number(dno));
      return days;
    },
    result: (days) => bitsOf(days as number[]),
  });
  // The bitwise or of equally long bit texts (nulls skipped; null when all are).
  conn.aggregate('report_bit_or', {
    start: () => null,
    step: (acc, bits) => {
      if (typeof bits !== 'string') return acc;
      if (typeof acc !== 'string') return bits;
      let out = '';
      for (let i = 0; i < bits.length; i += 1) {
        out += acc.charCodeAt(i) === 49 || bits.charCodeAt(i) === 49 ? '1' : '0';
      }
      return out;
    },
    result: (acc) => acc,
  });
  // The running totals of (day number, amount) pairs, in day order, from a leading 0.
  conn.aggregate('report_cum', {
    start: () => [] as [number, number][],
    step: (pairs, dno, amount) => {
      (pairs as [number, number][]).push([Number(dno), Number(amount)]);
      return pairs;
    },
    result: (pairs) => {
      const sorted = (pairs as [number, number][]).sort((a, b) => a[0] - b[0]);
      let total = 0;
      return JSON.stringify([0, ...sorted.map(([, amount]) => (total += amount))]);
    },
  });
}

/** The bit text of a set of distinct day numbers: from the first, a 1 for each day in it. */
export function bitsOf(days: number[]): string {
  if (days.length === 0) return '';
  const sorted = [...days].sort((a, b) => a - b);
  const first = sorted[0] as number;
  const chars = new Array<string>((sorted.at(-1) as number) - first + 1).fill('0');
  for (const d of sorted) chars[d - first] = '1';
  return chars.join('');
}

/**
 * The part of a visit bit text starting on day number `firstNo` that covers the `length` days
 * from day number `from`, as a bit text of exactly that length (days outside it are 0).
 */
export function windowOf(bits: string, firstNo: number, from: number, length: number): string {
  let out = '';
  for (let day = from; day < from + length; day += 1) {
    out += bits.charAt(day - firstNo) === '1' ? '1' : '0';
  }
  return out;
}

/** SQL for windowOf: `length` bits from day number `from` of the bits starting at `firstNo`. */
export function windowSql(
  db: Db,
  bits: string,
  firstNo: string,
  from: number,
  length: number,
): string {
  if (db.dialect !== 'pg') return `report_window(${bits}, ${firstNo}, ${from}, ${length})`;
  // Zeros before (when the history starts later) and after (when it ends sooner), then cut.
  const zeros = `0::bit(${length})::varbit`;
  return `substring(substring(${zeros} from 1 for greatest(${firstNo} - ${from}, 0)) || ${bits}
            || ${zeros} from greatest(${from} - ${firstNo}, 0) + 1 for ${length})::bit(${length})`;
}

/** SQL for the bitwise or of a column of equally long bit strings (an aggregate). */
export function bitOrSql(db: Db, bits: string): string {
  return db.dialect === 'pg' ? `bit_or(${bits})` : `report_bit_or(${bits})`;
}

/** SQL for the number of 1s in a bit string `length` long. */
export function bitCountSql(db: Db, bits: string, length: number): string {
  return db.dialect === 'pg' ? `bit_count(${bits})` : `report_rank(${bits}, ${length})`;
}

const containedSql = (db: Db, set: string, ids: number[]) =>
  db.dialect === 'pg'
    ? `${set} <@ '{${ids.join(',')}}'::int[]`
    : `report_subset(${set}, '[${ids.join(',')}]') = 1`;

const overlapSql = (db: Db, set: string, ids: number[]) =>
  db.dialect === 'pg'
    ? `${set} && '{${ids.join(',')}}'::int[]`
    : `report_overlaps(${set}, '[${ids.join(',')}]') = 1`;

/**
 * The shorter of the picked showrooms and the others: a set column (a member's showrooms, all
 * among `allIds`) lies inside the filter exactly when it meets none of the others, and
 * PostgreSQL compares arrays element by element (69 showrooms less one: 2 comparisons a member,
 * not 68).
 */
export function shorterSide(
  ids: number[],
  allIds: number[],
): { others: number[] } | { picked: number[] } {
  const picked = new Set(ids);
  const others = allIds.filter((id) => !picked.has(id));
  return others.length < ids.length ? { others } : { picked: ids };
}

/**
 * SQL: every showroom in the set column `set` is one of `ids` (`allIds`: every showroom). An
 * empty set passes: callers test only members with a showroom (their sets are never empty).
 */
export function withinSql(db: Db, set: string, ids: number[], allIds: number[]): string {
  const side = shorterSide(ids, allIds);
  return 'others' in side
    ? `not (${overlapSql(db, set, side.others)})`
    : containedSql(db, set, side.picked);
}

/** SQL: some showroom in the set column `set` is one of `ids` (`allIds`: every showroom). */
export function meetsSql(db: Db, set: string, ids: number[], allIds: number[]): string {
  const side = shorterSide(ids, allIds);
  return 'others' in side
    ? `not (${containedSql(db, set, side.others)})`
    : overlapSql(db, set, side.picked);
}

/** SQL for the calendar day (YYYY-MM-DD) of a time column in the zone. */
export function daySql(db: Db, column: string, zone: string): string {
  checkZone(zone);
  return db.dialect === 'pg'
    ? `to_char(${column} at time zone '${zone}', 'YYYY-MM-DD')`
    : `report_day(${column}, '${zone}')`;
}

/** SQL for the day number of a time column in the zone. */
export function dayNumberSql(db: Db, column: string, zone: string): string {
  checkZone(zone);
  return db.dialect === 'pg'
    ? `((${column} at time zone '${zone}')::date - date '${DAY_ZERO}')`
    : `report_dno(${column}, '${zone}')`;
}

/** SQL for the calendar day (YYYY-MM-DD) of a day number. */
export function dayTextSql(db: Db, dno: string): string {
  return db.dialect === 'pg'
    ? `to_char(date '${DAY_ZERO}' + (${dno}), 'YYYY-MM-DD')`
    : `date((${dno}) * 86400, 'unixepoch')`;
}

/** SQL for the visits among the first `n` days of a visit bit string. */
export function rankSql(db: Db, bits: string, n: string): string {
  return db.dialect === 'pg'
    ? `bit_count(substring(${bits} from 1 for greatest(${n}, 0)))`
    : `report_rank(${bits}, ${n})`;
}

/** SQL for element `i` (from 0) of a running-total array. */
export function cumAtSql(db: Db, cum: string, i: string): string {
  return db.dialect === 'pg' ? `${cum}[(${i}) + 1]` : `report_at(${cum}, ${i})`;
}

import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { INTERNAL_KEY_PREFIX } from '../../shared/protocol/api.ts';
import type { Db } from '../db/connect.ts';
import type { Q } from '../db/ledger-store.ts';
import {
  transactionConnection,
  writeNowOrIn,
  type Later,
  type StatementBatch,
} from '../db/statement-batch.ts';
import type { BatchFacts, RollupPipe } from '../ledger/writer.ts';
import type { Logger } from '../log.ts';
import { dayOf } from './days.ts';
import { ledgerSource } from './sources.ts';
import { checkZone, dayNumber, dayNumberSql, dayTextSql } from './sql.ts';

/** The meta key holding the time zone the rollups' days are in. */
export const ZONE_META_KEY = 'reports.time_zone';

/** The rollup tables, in the order a batch writes them (a fixed order: no lock cycles). */
export const ROLLUP_TABLES = [
  'report_bills_daily',
  'report_enrolments_daily',
  'report_member_showrooms',
  'report_member_stats',
  'report_points_daily',
  'report_sales_daily',
  'report_visits_daily',
] as const;

/** A ledger entry's kind, with 'reverse' split by what it reverses. */
export type Movement =
  'earn' | 'redeem' | 'redeem-cancel' | 'return' | 'reverse' | 'adjust' | 'expire' | 'bonus';

const REDEEM_PREFIX = `${INTERNAL_KEY_PREFIX}redeem:`;
const CANCEL_PREFIX = `${INTERNAL_KEY_PREFIX}redeem-cancel:`;

/** What an entry moved: its kind, a reversal told apart by its return or its key. */
export function movementOf(entry: {
  kind: string;
  returnId: number | null;
  key: string | null;
}): Movement {
  if (entry.kind === 'reverse') {
    if (entry.returnId !== null) return 'return';
    if (entry.key?.startsWith(CANCEL_PREFIX)) return 'redeem-cancel';
  }
  return entry.kind as Movement;
}

/** The redemption a redeem or redeem-cancel entry belongs to, from its key. */
export function redemptionIdOf(movement: Movement, key: string | null): number | undefined {
  const prefix =
    movement === 'redeem' ? REDEEM_PREFIX : movement === 'redeem-cancel' ? CANCEL_PREFIX : null;
  if (prefix === null || !key?.startsWith(prefix)) return undefined;
  const id = Number(key.slice(prefix.length));
  return Number.isSafeInteger(id) ? id : undefined;
}

/** A member's purchases (anywhere, or at one showroom), as report_member_* keep them. */
interface History {
  member_id: number;
  first_no: number;
  first_day: string;
  last_day: string;
  visits: number;
  bills: number;
  spend_paise: number;
  /** Bit i: a visit on day first_no + i. */
  visit_bits: string;
  /** Element j: the total after the j-th visit day (element 0 is 0). */
  spend_cum: number[];
  bills_cum: number[];
}

interface MemberStats extends History {
  showrooms: number;
  last_showroom_id: number;
  /** The member's showrooms, sorted. */
  showroom_ids: number[];
}

interface MemberShowroom extends History {
  showroom_id: number;
  /** The member's number of showrooms and their set, sorted (the same on each of their rows). */
  member_showrooms: number;
  member_showroom_ids: number[];
}

type Row = Record<string, string | number | number[]>;

/** A table's change: rows added to what is stored, or rows that replace it. */
interface TableDelta {
  table: (typeof ROLLUP_TABLES)[number];
  keys: string[];
  /** Column → SQL type, keys first. */
  columns: Record<string, 'text' | 'int' | 'bigint' | 'varbit' | 'bigint[]' | 'int[]'>;
  mode: 'add' | 'replace';
  rows: Map<string, Row>;
}

function tableDelta(
  table: TableDelta['table'],
  keys: string[],
  columns: TableDelta['columns'],
  mode: TableDelta['mode'],
): TableDelta {
  return { table, keys, columns, mode, rows: new Map() };
}

/** Adds `values` to the row with `key` (creating it). */
function add(delta: TableDelta, key: Row, values: Record<string, number>): void {
  const id = delta.keys.map((k) => key[k]).join('\u0000');
  let row = delta.rows.get(id);
  if (!row) {
    row = { ...key };
    for (const c of Object.keys(delta.columns)) if (!delta.keys.includes(c)) row[c] = 0;
    delta.rows.set(id, row);
  }
  for (const [c, v] of Object.entries(values)) row[c] = (row[c] as number) + v;
}

/** Everything a batch changes in the rollups. */
export class RollupDelta {
  readonly points = tableDelta(
    'report_points_daily',
    ['day', 'showroom_id', 'movement'],
    {
      day: 'text',
      showroom_id: 'int',
      movement: 'text',
      entries: 'bigint',
      points: 'bigint',
      value_paise: 'bigint',
    },
    'add',
  );
  readonly sales = tableDelta(
    'report_sales_daily',
    ['day', 'showroom_id', 'category_id'],
    {
      day: 'text',
      showroom_id: 'int',
      category_id: 'int',
      lines: 'bigint',
      amount_paise: 'bigint',
      points: 'bigint',
      returned_lines: 'bigint',
      returned_amount_paise: 'bigint',
      returned_points: 'bigint',
    },
    'add',
  );
  readonly bills = tableDelta(
    'report_bills_daily',
    ['day', 'showroom_id'],
    {
      day: 'text',
      showroom_id: 'int',
      bills: 'bigint',
      amount_paise: 'bigint',
      points: 'bigint',
      returns: 'bigint',
      returned_amount_paise: 'bigint',
      returned_points: 'bigint',
    },
    'add',
  );
  readonly enrolments = tableDelta(
    'report_enrolments_daily',
    ['day', 'showroom_id'],
    { day: 'text', showroom_id: 'int', enrolments: 'bigint' },
    'add',
  );
  readonly visits = tableDelta(
    'report_visits_daily',
    ['showroom_id', 'day', 'prev_day'],
    { showroom_id: 'int', day: 'text', prev_day: 'text', members: 'bigint' },
    'add',
  );
  readonly memberStats = tableDelta(
    'report_member_stats',
    ['member_id'],
    {
      member_id: 'bigint',
      first_no: 'int',
      first_day: 'text',
      last_day: 'text',
      visits: 'int',
      bills: 'int',
      spend_paise: 'bigint',
      visit_bits: 'varbit',
      spend_cum: 'bigint[]',
      bills_cum: 'bigint[]',
      showrooms: 'int',
      last_showroom_id: 'int',
      showroom_ids: 'int[]',
    },
    'replace',
  );
  readonly memberShowrooms = tableDelta(
    'report_member_showrooms',
    ['member_id', 'showroom_id'],
    {
      member_id: 'bigint',
      showroom_id: 'int',
      first_no: 'int',
      first_day: 'text',
      last_day: 'text',
      visits: 'int',
      bills: 'int',
      spend_paise: 'bigint',
      visit_bits: 'varbit',
      spend_cum: 'bigint[]',
      bills_cum: 'bigint[]',
      member_showrooms: 'int',
      member_showroom_ids: 'int[]',
    },
    'replace',
  );

  /** In the fixed table order. */
  tables(): TableDelta[] {
    return [
      this.bills,
      this.enrolments,
      this.memberShowrooms,
      this.memberStats,
      this.points,
      this.sales,
      this.visits,
    ];
  }

  get isEmpty(): boolean {
    return this.tables().every((t) => t.rows.size === 0);
  }
}

/** The members' purchase histories a batch builds on (as stored before it). */
export interface MemberHistory {
  stats: Map<number, MemberStats>;
  showrooms: Map<string, MemberShowroom>;
}

const showroomKey = (memberId: number, showroomId: number) => `${memberId}:${showroomId}`;

/**
 * The rollup changes of one batch. All its rows are dated `facts.now`; `history` is updated in
 * place (so a rebuild can feed batches through it one after another).
 */
export function deltaOf(
  facts: Omit<BatchFacts, 'stamped'>,
  zone: string,
  redemptionValues: Map<number, number>,
  history: MemberHistory,
  delta = new RollupDelta(),
): RollupDelta {
  const day = dayOf(facts.now, zone);
  for (const e of facts.entries) {
    const movement = movementOf(e);
    const redemptionId = redemptionIdOf(movement, e.key);
    const value = redemptionId === undefined ? 0 : (redemptionValues.get(redemptionId) ?? 0);
    add(
      delta.points,
      { day, showroom_id: e.showroomId ?? 0, movement },
      { entries: 1, points: e.points, value_paise: movement === 'redeem' ? -value : value },
    );
  }
  for (const s of facts.sales) {
    add(
      delta.bills,
      { day, showroom_id: s.showroomId },
      { bills: 1, amount_paise: s.amountPaise, points: s.points },
    );
    for (const l of s.lines) {
      add(
        delta.sales,
        { day, showroom_id: s.showroomId, category_id: l.categoryId },
        { lines: 1, amount_paise: l.amountPaise, points: l.points },
      );
    }
    visit(delta, history, day, s.memberId, s.showroomId, s.amountPaise);
  }
  for (const r of facts.returns) {
    add(
      delta.bills,
      { day, showroom_id: r.showroomId },
      { returns: 1, returned_amount_paise: r.amountPaise, returned_points: r.points },
    );
    for (const l of r.lines) {
      add(
        delta.sales,
        { day, showroom_id: r.showroomId, category_id: l.categoryId },
        { returned_lines: 1, returned_amount_paise: l.amountPaise, returned_points: l.points },
      );
    }
  }
  for (const e of facts.enrolments) {
    add(delta.enrolments, { day, showroom_id: e.showroomId }, { enrolments: 1 });
  }
  return delta;
}

/**
 * A bill of a member at a showroom on `day`: a visit (chain-wide, and at the showroom) unless
 * the member already bought that day. Days never go backwards for a member: central dates
 * every row by its own clock, and a batch's members are locked while it writes.
 */
function visit(
  delta: RollupDelta,
  history: MemberHistory,
  day: string,
  memberId: number,
  showroomId: number,
  amountPaise: number,
): void {
  let all = history.stats.get(memberId);
  if (!all) {
    all = {
      ...emptyHistory(memberId, day),
      showrooms: 0,
      last_showroom_id: showroomId,
      showroom_ids: [],
    };
    history.stats.set(memberId, all);
  }
  const key = showroomKey(memberId, showroomId);
  let here = history.showrooms.get(key);
  if (!here) {
    all.showrooms += 1;
    all.showroom_ids = [...all.showroom_ids, showroomId].sort((a, b) => a - b);
    here = {
      ...emptyHistory(memberId, day),
      showroom_id: showroomId,
      member_showrooms: 0,
      member_showroom_ids: [],
    };
    history.showrooms.set(key, here);
    // Every row of the member carries their showrooms (rarely changes: rewrite all).
    for (const [k, row] of history.showrooms) {
      if (row.member_id !== memberId) continue;
      row.member_showrooms = all.showrooms;
      row.member_showroom_ids = all.showroom_ids;
      delta.memberShowrooms.rows.set(k, rowOf(row));
    }
  }
  const prevHere = record(here, day, amountPaise);
  if (prevHere !== undefined) {
    add(delta.visits, { showroom_id: showroomId, day, prev_day: prevHere }, { members: 1 });
  }
  delta.memberShowrooms.rows.set(key, rowOf(here));

  const prevAll = record(all, day, amountPaise);
  if (prevAll !== undefined) {
    add(delta.visits, { showroom_id: 0, day, prev_day: prevAll }, { members: 1 });
  }
  all.last_showroom_id = showroomId;
  delta.memberStats.rows.set(String(memberId), rowOf(all));
}

function emptyHistory(memberId: number, day: string): History {
  return {
    member_id: memberId,
    first_no: dayNumber(day),
    first_day: day,
    last_day: '',
    visits: 0,
    bills: 0,
    spend_paise: 0,
    visit_bits: '',
    spend_cum: [0],
    bills_cum: [0],
  };
}

/**
 * Adds a bill on `day`. When it is a new visit (the member's first bill that day), returns the
 * day of the visit before ('' for the first); else undefined.
 */
function record(h: History, day: string, amountPaise: number): string | undefined {
  const prev = h.last_day < day ? h.last_day : undefined;
  if (prev !== undefined) {
    const offset = dayNumber(day) - h.first_no;
    h.visit_bits += `${'0'.repeat(offset - h.visit_bits.length)}1`;
    h.spend_cum.push(h.spend_cum.at(-1) as number);
    h.bills_cum.push(h.bills_cum.at(-1) as number);
    h.visits += 1;
    h.last_day = day;
  }
  // Days never go back for a member (see above), so a bill belongs to the last visit.
  const last = h.spend_cum.length - 1;
  h.spend_cum[last] = (h.spend_cum[last] as number) + amountPaise;
  h.bills_cum[last] = (h.bills_cum[last] as number) + 1;
  h.bills += 1;
  h.spend_paise += amountPaise;
  return prev;
}

/** A history as the row to write: the object itself, so the batch writes its final state. */
function rowOf(h: History): Row {
  return h as unknown as Row;
}

const HISTORY_COLUMNS = [
  'member_id',
  'first_no',
  'first_day',
  'last_day',
  'visits',
  'bills',
  'spend_paise',
  'visit_bits',
  'spend_cum',
  'bills_cum',
];
const STATS_COLUMNS = [...HISTORY_COLUMNS, 'showrooms', 'last_showroom_id', 'showroom_ids'];

/** The stored histories of these members. */
export async function loadHistory(db: Db, q: Q, memberIds: number[]): Promise<MemberHistory> {
  if (memberIds.length === 0) return { stats: new Map(), showrooms: new Map() };
  // Both tables in one query, a showroom's row in the stats' shape (its showroom in
  // last_showroom_id).
  let rows: (MemberStats & { part: number })[];
  if (db.dialect === 'pg') {
    const result = await pgQuery(q, historySql('select u.id from unnest($1::bigint[]) as u(id)'), [
      memberIds,
    ]);
    rows = result.rows as (MemberStats & { part: number })[];
  } else {
    rows = (await q
      .select(q.raw('0 as part'), ...STATS_COLUMNS)
      .from('report_member_stats')
      .whereIn('member_id', memberIds)
      .unionAll(
        q
          .select(
            q.raw('1 as part'),
            ...HISTORY_COLUMNS,
            q.raw('member_showrooms as showrooms'),
            'showroom_id',
            'member_showroom_ids',
          )
          .from('report_member_showrooms')
          .whereIn('member_id', memberIds),
      )) as (MemberStats & { part: number })[];
  }
  return historyRows(rows);
}

/**
 * The writer's read of the histories of the members a sales batch locks (PostgreSQL), in the
 * statement batch that locks them: `memberIds` selects them.
 */
export function prefetchHistory(
  batch: StatementBatch,
  memberIds: Knex.QueryBuilder,
): Later<MemberHistory> {
  const ids = memberIds.toSQL().toNative();
  return batch.addText(historySql(ids.sql), ids.bindings, (rows) =>
    historyRows(rows as unknown as (MemberStats & { part: number })[]),
  );
}

/** Both history tables for the members `ids` selects (PostgreSQL). */
function historySql(ids: string): string {
  const cols = (list: string[]) => list.map((c) => `m.${c}`).join(', ');
  return `select 0 as part, ${cols(STATS_COLUMNS)}
         from report_member_stats m where m.member_id in (${ids})
       union all
       select 1, ${cols(HISTORY_COLUMNS)}, m.member_showrooms, m.showroom_id,
              m.member_showroom_ids
         from report_member_showrooms m where m.member_id in (${ids})`;
}

function historyRows(rows: (MemberStats & { part: number })[]): MemberHistory {
  const history: MemberHistory = { stats: new Map(), showrooms: new Map() };
  // int8 columns arrive as numbers (see db/connect.ts), SQLite integers too; arrays of int8
  // as text (PostgreSQL) or JSON (SQLite).
  const numbers = (value: unknown): number[] =>
    (typeof value === 'string' ? (JSON.parse(value) as unknown[]) : (value as unknown[])).map(
      Number,
    );
  for (const { part, ...raw } of rows) {
    const r = {
      ...raw,
      spend_cum: numbers(raw.spend_cum),
      bills_cum: numbers(raw.bills_cum),
      showroom_ids: numbers(raw.showroom_ids),
    };
    if (part === 0) {
      history.stats.set(r.member_id, r);
    } else {
      const showroomId = r.last_showroom_id;
      history.showrooms.set(showroomKey(r.member_id, showroomId), {
        member_id: r.member_id,
        showroom_id: showroomId,
        first_no: r.first_no,
        first_day: r.first_day,
        last_day: r.last_day,
        visits: r.visits,
        bills: r.bills,
        spend_paise: r.spend_paise,
        visit_bits: r.visit_bits,
        spend_cum: r.spend_cum,
        bills_cum: r.bills_cum,
        member_showrooms: r.showrooms,
        member_showroom_ids: r.showroom_ids,
      });
    }
  }
  return history;
}

/** Histories read in two parts (members' rows are apart, so neither overwrites the other). */
function mergeHistories(a: MemberHistory, b: MemberHistory): MemberHistory {
  if (b.stats.size === 0 && b.showrooms.size === 0) return a;
  return {
    stats: new Map([...a.stats, ...b.stats]),
    showrooms: new Map([...a.showrooms, ...b.showrooms]),
  };
}

/** Rupee values of redemptions, paise. */
async function loadRedemptionValues(q: Q, ids: number[]): Promise<Map<number, number>> {
  const values = new Map<number, number>();
  if (ids.length === 0) return values;
  const rows: { id: number; value_paise: number }[] = await q('redemptions')
    .whereIn('id', ids)
    .select('id', 'value_paise');
  for (const r of rows) values.set(r.id, r.value_paise);
  return values;
}

/**
 * Runs SQL on PostgreSQL; inside a transaction, as a named statement on the transaction's own
 * connection: the writer runs the same few statements for every batch, and planning them again
 * each time cost more than running them.
 */
async function pgQuery(q: Q, text: string, values: unknown[]): Promise<{ rows: unknown[] }> {
  if (!('isTransaction' in q) || !q.isTransaction) {
    const bindings: unknown[] = [];
    const result: unknown = await q.raw(
      text.replace(/\$(\d+)/g, (_, n: string) => {
        bindings.push(values[Number(n) - 1]);
        return '?';
      }),
      bindings as Knex.RawBinding[],
    );
    return result as { rows: unknown[] };
  }
  const connection = await transactionConnection(q as Knex.Transaction); // a transaction (above)
  const name = `rollup_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
  return connection.query({ name, text, values });
}

/** Writes tables of a delta: one statement on PostgreSQL, one upsert per table on SQLite. */
export async function applyDelta(
  db: Db,
  q: Q,
  delta: RollupDelta,
  which: TableDelta[] = delta.tables(),
  batch?: StatementBatch,
): Promise<void> {
  const tables = which.filter((t) => t.rows.size > 0);
  if (tables.length === 0) return;
  const sorted = (t: TableDelta) =>
    [...t.rows.values()].sort((a, b) => {
      for (const k of t.keys) {
        const x = a[k] as string | number;
        const y = b[k] as string | number;
        if (x !== y) return x < y ? -1 : 1;
      }
      return 0;
    });
  const setOf = (t: TableDelta, excluded: string) =>
    Object.keys(t.columns)
      .filter((c) => !t.keys.includes(c))
      .map((c) =>
        t.mode === 'add' ? `${c} = ${t.table}.${c} + ${excluded}.${c}` : `${c} = ${excluded}.${c}`,
      )
      .join(', ');
  if (db.dialect === 'pg') {
    const parts: string[] = [];
    const bindings: string[] = [];
    tables.forEach((t, i) => {
      const columns = Object.keys(t.columns);
      const types = columns.map((c) => `${c} ${t.columns[c] as string}`).join(', ');
      parts.push(
        `t${i} as (insert into ${t.table} (${columns.join(', ')})
           select ${columns.join(', ')} from jsonb_to_recordset($${i + 1}::jsonb) as x(${types})
           on conflict (${t.keys.join(', ')}) do update set ${setOf(t, 'excluded')})`,
      );
      bindings.push(JSON.stringify(sorted(t)));
    });
    const text = `with ${parts.join(',\n')} select 1`;
    if (batch) batch.addText(text, bindings);
    else await pgQuery(q, text, bindings);
    return;
  }
  for (const t of tables) {
    // SQLite keeps arrays as JSON text.
    const rows = sorted(t).map((r) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [k, Array.isArray(v) ? JSON.stringify(v) : v]),
      ),
    );
    const per = Math.max(1, Math.floor(900 / Object.keys(t.columns).length));
    for (let i = 0; i < rows.length; i += per) {
      await q(t.table)
        .insert(rows.slice(i, i + per))
        .onConflict(t.keys)
        .merge(
          Object.fromEntries(
            Object.keys(t.columns)
              .filter((c) => !t.keys.includes(c))
              .map((c) => [
                c,
                q.raw(t.mode === 'add' ? `${t.table}.${c} + excluded.${c}` : `excluded.${c}`),
              ]),
          ),
        );
    }
  }
}

/** The tables a batch writes before its stamp, and after it (see rollupHook). */
const MEMBER_TABLES = ['report_member_showrooms', 'report_member_stats'] as const;
const DAILY_TABLES = ROLLUP_TABLES.filter((t) => !(MEMBER_TABLES as readonly string[]).includes(t));

/**
 * The writer's hook: keeps the rollups in the batch's own transaction, in two steps.
 *
 * Before the stamp: each member's history (visits, bits, running totals), read and written
 * for the batch's members only, whom the batch has locked, so no other batch waits for them.
 * After the stamp: the daily rows every batch adds to (today's sums), in one statement; on
 * PostgreSQL the batch then holds the change-sequence row lock, so batches already pass here
 * one at a time and these rows add no new contention nor any lock cycle (a batch that stamped
 * nothing takes that lock itself).
 *
 * So a batch takes its locks in this order: the member tables, the change-sequence row, the
 * daily tables; a rebuild takes them in the same order (see rebuildRollups), so no two can
 * each wait for the other.
 */
export function rollupHook(
  db: Db,
  zone: string,
): (
  trx: Knex.Transaction,
  facts: BatchFacts,
  pipe?: RollupPipe,
) => Promise<(stamped: boolean) => Promise<void>> {
  return async (trx, facts, pipe) => {
    if (
      facts.sales.length === 0 &&
      facts.entries.length === 0 &&
      facts.returns.length === 0 &&
      facts.enrolments.length === 0
    ) {
      return () => Promise.resolve();
    }
    const pg = db.dialect === 'pg';
    const redemptionIds = facts.entries.flatMap((e) => {
      const id = redemptionIdOf(movementOf(e), e.key);
      return id === undefined ? [] : [id];
    });
    const memberIds = [...new Set(facts.sales.map((s) => s.memberId))];
    const read = pipe?.history;
    const [values, loaded] = await Promise.all([
      loadRedemptionValues(trx, redemptionIds),
      loadHistory(db, trx, read ? memberIds.filter((id) => !read.memberIds.has(id)) : memberIds),
    ]);
    const history = read ? mergeHistories(read.value as MemberHistory, loaded) : loaded;
    const delta = deltaOf(facts, zone, values, history);
    const writes = pipe?.writes;
    await applyDelta(db, trx, delta, [delta.memberShowrooms, delta.memberStats], writes);
    return async (stamped) => {
      const daily = [delta.bills, delta.enrolments, delta.points, delta.sales, delta.visits];
      if (daily.every((t) => t.rows.size === 0)) return;
      if (pg && !stamped)
        await writeNowOrIn(trx.raw('select head from change_seq where id = 1 for update'), writes);
      await applyDelta(db, trx, delta, daily, writes);
    };
  };
}

/**
 * Recomputes every rollup from the ledger, sales and members in one transaction, in `zone`,
 * and records the zone. On PostgreSQL it first locks the rollup tables (SHARE: batches that
 * write them finish first, later ones wait) and the change-sequence row, in the writer's order,
 * so no batch writes rollups meanwhile; batches that commit after it add their changes on top.
 * It deletes rather than truncates: TRUNCATE's lock would also wait for batches that have only
 * read a member's history, and they wait for the rebuild.
 */
export async function rebuildRollups(
  db: Db,
  zone: string,
  progress: (step: string, ms: number) => void = () => undefined,
): Promise<void> {
  checkZone(zone);
  await db.knex.transaction(async (trx) => {
    const step = async (name: string, sql: string) => {
      const started = performance.now();
      await trx.raw(sql);
      progress(name, performance.now() - started);
    };
    if (db.dialect === 'pg') {
      await trx.raw(`lock table ${MEMBER_TABLES.join(', ')} in share mode`);
      await trx.raw('select head from change_seq where id = 1 for update');
      await trx.raw(`lock table ${DAILY_TABLES.join(', ')} in share mode`);
      await trx.raw(`set local work_mem = '256MB'`);
    }
    for (const t of ROLLUP_TABLES) await trx(t).delete();
    // Grouped by day number (cheap), turned into text once per group.
    const raw = ledgerSource(db, zone, {}, (column) => dayNumberSql(db, column, zone));
    const d = (dno: string) => dayTextSql(db, dno);
    await step(
      'points',
      `insert into report_points_daily (day, showroom_id, movement, entries, points, value_paise)
       select ${d('day')}, showroom_id, movement, n, points, value_paise from (
         select day, showroom_id, movement, count(*) as n, sum(points) as points,
                sum(value_paise) as value_paise
           from ${raw.points} r group by day, showroom_id, movement) g`,
    );
    await step(
      'sales',
      `insert into report_sales_daily (day, showroom_id, category_id, lines, amount_paise, points,
                                       returned_lines, returned_amount_paise, returned_points)
       select ${d('day')}, showroom_id, category_id, lines, amount_paise, points, returned_lines,
              returned_amount_paise, returned_points from (
         select day, showroom_id, category_id, sum(lines) as lines,
                sum(amount_paise) as amount_paise, sum(points) as points,
                sum(returned_lines) as returned_lines,
                sum(returned_amount_paise) as returned_amount_paise,
                sum(returned_points) as returned_points
           from ${raw.sales} r group by day, showroom_id, category_id) g`,
    );
    await step(
      'bills',
      `insert into report_bills_daily (day, showroom_id, bills, amount_paise, points, returns,
                                       returned_amount_paise, returned_points)
       select ${d('day')}, showroom_id, bills, amount_paise, points, returns,
              returned_amount_paise, returned_points from (
         select day, showroom_id, sum(bills) as bills, sum(amount_paise) as amount_paise,
                sum(points) as points, sum(returns) as returns,
                sum(returned_amount_paise) as returned_amount_paise,
                sum(returned_points) as returned_points
           from ${raw.bills} r group by day, showroom_id) g`,
    );
    await step(
      'enrolments',
      `insert into report_enrolments_daily (day, showroom_id, enrolments)
       select ${d('day')}, showroom_id, n from (
         select day, showroom_id, count(*) as n from ${raw.enrolments} r
          group by day, showroom_id) g`,
    );
    // Each member's bills and spend by day and showroom, then by day: the visits, and each
    // member's history with its visit bits and running totals, come from these two.
    const pg = db.dialect === 'pg';
    const temp = (name: string, sql: string) =>
      step(name, `create temp table ${name} ${pg ? 'on commit drop ' : ''}as ${sql}`);
    await temp(
      'rebuild_msd',
      `select member_id, showroom_id, dno, count(*) as bills, sum(amount_paise) as spend,
              max(id) as last_id
         from (select id, member_id, showroom_id, amount_paise,
                      ${dayNumberSql(db, 'recorded_at', zone)} as dno from sales) s
        group by member_id, showroom_id, dno`,
    );
    await temp(
      'rebuild_md',
      `select member_id, dno, sum(bills) as bills, sum(spend) as spend, max(last_id) as last_id
         from rebuild_msd group by member_id, dno`,
    );
    await step(
      'visits',
      `insert into report_visits_daily (showroom_id, day, prev_day, members)
       select 0, ${d('dno')}, coalesce(${d('prev')}, ''), n from (
         select dno, prev, count(*) as n from (
           select dno, lag(dno) over (partition by member_id order by dno) as prev from rebuild_md
         ) v group by dno, prev) g
       union all
       select showroom_id, ${d('dno')}, coalesce(${d('prev')}, ''), n from (
         select showroom_id, dno, prev, count(*) as n from (
           select showroom_id, dno,
                  lag(dno) over (partition by member_id, showroom_id order by dno) as prev
             from rebuild_msd
         ) v group by showroom_id, dno, prev) g`,
    );
    const bits = pg
      ? `string_agg(repeat('0', dno - coalesce(prev, dno - 1) - 1) || '1', '' order by dno)::varbit`
      : 'report_bits(dno)';
    const cum = (value: string, running: string) =>
      pg
        ? `array[0::bigint] || array_agg(${running}::bigint order by dno)`
        : `report_cum(dno, ${value})`;
    const history = (table: string, partition: string) =>
      `select ${partition}, min(dno) as first_no, max(dno) as last_no, count(*) as visits,
              sum(bills) as bills, sum(spend) as spend, max(last_id) as last_id,
              ${bits} as visit_bits, ${cum('spend', 'spend_run')} as spend_cum,
              ${cum('bills', 'bills_run')} as bills_cum
         from (select t.*, lag(dno) over w as prev, sum(spend) over w as spend_run,
                      sum(bills) over w as bills_run
                 from ${table} t window w as (partition by ${partition} order by dno)) x
        group by ${partition}`;
    // Each member's showrooms, sorted (a window over their rows).
    const showroomSet = pg ? 'array_agg(showroom_id)' : 'json_group_array(showroom_id)';
    await step(
      'member showrooms',
      `insert into report_member_showrooms (member_id, showroom_id, first_no, first_day, last_day,
                                            visits, bills, spend_paise, visit_bits, spend_cum,
                                            bills_cum, member_showrooms, member_showroom_ids)
       select member_id, showroom_id, first_no, ${d('first_no')}, ${d('last_no')}, visits, bills,
              spend, visit_bits, spend_cum, bills_cum, count(*) over member, ${showroomSet} over member
         from (${history('rebuild_msd', 'member_id, showroom_id')}) h
       window member as (partition by member_id order by showroom_id
                         rows between unbounded preceding and unbounded following)`,
    );
    await step(
      'member stats',
      `insert into report_member_stats (member_id, first_no, first_day, last_day, visits, bills,
                                        spend_paise, visit_bits, spend_cum, bills_cum, showrooms,
                                        last_showroom_id, showroom_ids)
       select h.member_id, h.first_no, ${d('h.first_no')}, ${d('h.last_no')}, h.visits, h.bills,
              h.spend, h.visit_bits, h.spend_cum, h.bills_cum, c.member_showrooms, s.showroom_id,
              c.member_showroom_ids
         from (${history('rebuild_md', 'member_id')}) h
         join report_member_showrooms c
           on c.member_id = h.member_id
              and c.showroom_id = ${pg ? 'c.member_showroom_ids[1]' : "c.member_showroom_ids ->> '$[0]'"}
         join sales s on s.id = h.last_id`,
    );
    if (!pg) {
      await trx.raw('drop table rebuild_msd');
      await trx.raw('drop table rebuild_md');
    }
    await trx('meta')
      .insert({ key: ZONE_META_KEY, value: zone })
      .onConflict('key')
      .merge(['value']);
  });
}

/** The zone the stored rollups are in, if they were ever built. */
export async function rollupZone(q: Q): Promise<string | undefined> {
  const row: { value: string } | undefined = await q('meta')
    .where('key', ZONE_META_KEY)
    .first('value');
  return row?.value;
}

/** Rebuilds the rollups when they were never built or were built in another time zone. */
export async function ensureRollups(db: Db, zone: string, log: Logger): Promise<void> {
  const stored = await rollupZone(db.knex);
  if (stored === zone) return;
  const started = performance.now();
  log.info(
    { event: 'reports:rebuild', from: stored ?? null, to: zone },
    stored === undefined
      ? 'building the report rollups from the ledger'
      : `the time zone changed from ${stored} to ${zone}: rebuilding the report rollups`,
  );
  await rebuildRollups(db, zone);
  log.info(
    { event: 'reports:rebuilt', ms: Math.round(performance.now() - started) },
    'report rollups built',
  );
}

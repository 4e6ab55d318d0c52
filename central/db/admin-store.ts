import type { Knex } from 'knex';
import type { StaffRole } from '../../shared/protocol/api.ts';
import type { StaffAdminView } from '../../shared/protocol/admin.ts';
import { fromDbBool, fromDbTime, rowsOf, toDbTime, type Db } from './connect.ts';
import type { Q } from './ledger-store.ts';
import { bumpRulesRevision } from './rules-revision.ts';

/**
 * Work a caller adds to a store function's transaction (an audit row): it runs after the change,
 * before the commit, so both are written or neither.
 */
export type InTransaction<T = undefined> = (trx: Knex.Transaction, result: T) => Promise<void>;

// ---------------------------------------------------------------- showrooms

export interface ShowroomRow {
  id: number;
  code: string;
  name: string;
  city: string;
}

export async function findShowroom(q: Q, code: string): Promise<ShowroomRow | undefined> {
  return q('showrooms').where('code', code).first('id', 'code', 'name', 'city');
}

/** Renames a showroom or changes its city (the terminals' rules list them). */
export async function updateShowroom(
  q: Q,
  id: number,
  patch: { name?: string | undefined; city?: string | undefined },
): Promise<void> {
  const set: Record<string, string> = {};
  if (patch.name !== undefined) set.name = patch.name;
  if (patch.city !== undefined) set.city = patch.city;
  await q('showrooms').where('id', id).update(set);
  await bumpRulesRevision(q);
}

// ---------------------------------------------------------------- staff

interface StaffAdminRow {
  id: number;
  username: string;
  name: string;
  role: StaffRole;
  showroom_id: number | null;
  showroom_code: string | null;
  active: boolean | number;
  has_pin: boolean | number;
  created_at: unknown;
}

function staffAdminQuery(q: Q) {
  return q('staff as st')
    .leftJoin('showrooms as s', 's.id', 'st.showroom_id')
    .select(
      'st.id',
      'st.username',
      'st.name',
      'st.role',
      'st.showroom_id',
      's.code as showroom_code',
      'st.active',
      q.raw('case when st.pin_hash is null then 0 else 1 end as has_pin'),
      'st.created_at',
    );
}

/** A staff member as the console shows them, with the showroom's id for checks. */
export type StaffAdminRecord = StaffAdminView & { showroomId: number | null };

function toAdminRecord(r: StaffAdminRow): StaffAdminRecord {
  return {
    id: r.id,
    username: r.username,
    name: r.name,
    role: r.role,
    showroomCode: r.showroom_code,
    showroomId: r.showroom_id,
    active: fromDbBool(r.active),
    hasPin: Number(r.has_pin) === 1,
    createdAt: fromDbTime(r.created_at),
  };
}

/** The view the console shows (no showroom id). */
export function toStaffAdminView(r: StaffAdminRecord): StaffAdminView {
  return {
    id: r.id,
    username: r.username,
    name: r.name,
    role: r.role,
    showroomCode: r.showroomCode,
    active: r.active,
    hasPin: r.hasPin,
    createdAt: r.createdAt,
  };
}

/** Every staff member, active or not, by username. */
export async function listStaff(db: Db): Promise<StaffAdminRecord[]> {
  const rows: StaffAdminRow[] = await staffAdminQuery(db.knex).orderBy('st.username');
  return rows.map(toAdminRecord);
}

/** One staff member; `lock` holds the row until the transaction ends (PostgreSQL). */
export async function findStaffAdmin(
  db: Db,
  q: Q,
  username: string,
  lock = false,
): Promise<StaffAdminRecord | undefined> {
  const query = staffAdminQuery(q).where('st.username', username);
  if (lock && db.dialect === 'pg') void query.forUpdate('st');
  const row: StaffAdminRow | undefined = await query.first();
  return row ? toAdminRecord(row) : undefined;
}

/**
 * Active admins other than `exceptId`, counted with their rows locked (PostgreSQL), so two
 * admins demoting each other at once cannot leave the chain with none.
 */
export async function countOtherActiveAdmins(db: Db, q: Q, exceptId: number): Promise<number> {
  const query = q('staff')
    .where({ role: 'admin', active: true })
    .whereNot('id', exceptId)
    .select('id');
  if (db.dialect === 'pg') void query.forUpdate();
  const rows: unknown[] = await query;
  return rows.length;
}

/** Changes a staff member's profile; the terminals' rules move (staff with a PIN are in them). */
export async function updateStaff(
  q: Q,
  id: number,
  patch: { name?: string; role?: StaffRole; showroomId?: number | null; active?: boolean },
): Promise<void> {
  const set: Record<string, unknown> = {};
  if (patch.name !== undefined) set.name = patch.name;
  if (patch.role !== undefined) set.role = patch.role;
  if (patch.showroomId !== undefined) set.showroom_id = patch.showroomId;
  if (patch.active !== undefined) set.active = patch.active;
  if (Object.keys(set).length === 0) return;
  await q('staff').where('id', id).update(set);
  await bumpRulesRevision(q);
}

export async function setPasswordHash(q: Q, id: number, passwordHash: string): Promise<void> {
  await q('staff').where('id', id).update({ password_hash: passwordHash });
}

/** Ends a staff member's sessions (but `keepHash`, the caller's own); returns the ended ones' hashes. */
export async function endSessions(
  q: Q,
  staffId: number,
  keepHash: string | undefined,
): Promise<string[]> {
  const query = q('staff_sessions').where('staff_id', staffId);
  if (keepHash) void query.whereNot('token_hash', keepHash);
  const rows: { token_hash: string }[] = await query.clone().select('token_hash');
  if (rows.length > 0) await query.del();
  return rows.map((r) => r.token_hash);
}

/** Hashes of a staff member's sessions (to forget them in a process's cache of sessions). */
export async function sessionHashesOf(q: Q, staffId: number): Promise<string[]> {
  const rows: { token_hash: string }[] = await q('staff_sessions')
    .where('staff_id', staffId)
    .select('token_hash');
  return rows.map((r) => r.token_hash);
}

// ---------------------------------------------------------------- categories and rates

export interface RateRow {
  id: number;
  categoryCode: string;
  categoryName: string;
  pointsPer100Rupees: number;
  effectiveFrom: string;
  createdAt: string;
  createdBy: string | null;
}

/** Every category (with no rate too) and every rate, by category code then start. */
export async function listRateHistory(
  db: Db,
): Promise<{ categories: { code: string; name: string }[]; rates: RateRow[] }> {
  const categories: { code: string; name: string }[] = await db
    .knex('categories')
    .select('code', 'name')
    .orderBy('code');
  const rows: {
    id: number;
    code: string;
    name: string;
    points_per_100_rupees: number;
    effective_from: unknown;
    created_at: unknown;
    username: string | null;
  }[] = await db
    .knex('category_rates as r')
    .join('categories as c', 'c.id', 'r.category_id')
    .leftJoin('staff as st', 'st.id', 'r.created_by')
    .select(
      'r.id',
      'c.code',
      'c.name',
      'r.points_per_100_rupees',
      'r.effective_from',
      'r.created_at',
      'st.username',
    )
    .orderBy(['c.code', 'r.effective_from']);
  return {
    categories,
    rates: rows.map((r) => ({
      id: r.id,
      categoryCode: r.code,
      categoryName: r.name,
      pointsPer100Rupees: r.points_per_100_rupees,
      effectiveFrom: fromDbTime(r.effective_from),
      createdAt: fromDbTime(r.created_at),
      createdBy: r.username,
    })),
  };
}

export async function findCategory(
  q: Q,
  code: string,
): Promise<{ id: number; code: string; name: string } | undefined> {
  return q('categories').where('code', code).first('id', 'code', 'name');
}

/** Categories by code, for the preview. */
export async function listCategoryIds(
  db: Db,
): Promise<{ id: number; code: string; name: string }[]> {
  return db.knex('categories').select('id', 'code', 'name').orderBy('code');
}

export async function renameCategory(q: Q, id: number, name: string): Promise<void> {
  await q('categories').where('id', id).update({ name });
  await bumpRulesRevision(q);
}

/** One rate of a category, locked until the transaction ends (PostgreSQL). */
export async function findRate(
  db: Db,
  q: Q,
  categoryId: number,
  rateId: number,
): Promise<{ id: number; pointsPer100Rupees: number; effectiveFrom: string } | undefined> {
  const query = q('category_rates')
    .where({ id: rateId, category_id: categoryId })
    .first('id', 'points_per_100_rupees', 'effective_from');
  if (db.dialect === 'pg') void query.forUpdate();
  const row: { id: number; points_per_100_rupees: number; effective_from: unknown } | undefined =
    await query;
  return row
    ? {
        id: row.id,
        pointsPer100Rupees: row.points_per_100_rupees,
        effectiveFrom: fromDbTime(row.effective_from),
      }
    : undefined;
}

/** Removes a rate that has not started (the caller checks); the terminals' rules move. */
export async function deleteRate(q: Q, rateId: number): Promise<void> {
  await q('category_rates').where('id', rateId).del();
  await bumpRulesRevision(q);
}

// ---------------------------------------------------------------- rate-change preview

/** Sales lines of a period by category: what they earned, and what proposed rates would have. */
export interface PreviewRow {
  categoryId: number;
  lines: number;
  amountPaise: number;
  pointsEarned: number;
  pointsProposed: number;
}

function safeInt(value: unknown, what: string): number {
  const n = Number(value ?? 0);
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} ${String(value)} is beyond 2^53`);
  return n;
}

/**
 * One aggregate over the period's sale lines (sales found by sold_at through its index). Each
 * line of a proposed category is re-earned as floor(amount × rate / 10,000) on its own, as
 * shared/points/earn.ts pointsForAmount does: integer division of non-negative integers, in
 * both databases; other categories keep the points they earned.
 */
export async function previewAggregate(
  db: Db,
  from: Date,
  to: Date,
  proposed: Map<number, number>,
): Promise<{ sales: number; rows: PreviewRow[] }> {
  // The period's sales ids first (index-only on sales(sold_at, id)): ids grow with time, so the
  // lines are then read by a range of sale_lines' (sale_id, line_no) index, not a full scan.
  const span: { lo: unknown; hi: unknown; n: unknown } | undefined = await db
    .knex('sales')
    .where('sold_at', '>=', toDbTime(db, from))
    .andWhere('sold_at', '<', toDbTime(db, to))
    .first(db.knex.raw('min(id) as lo, max(id) as hi, count(*) as n'));
  const sales = safeInt(span?.n, 'sales');
  if (sales === 0) return { sales, rows: [] };
  const cases = [...proposed.entries()];
  const caseSql =
    cases.length === 0
      ? 'l.points'
      : `case l.category_id ${cases.map(() => 'when ? then (l.amount_paise * cast(? as integer)) / 10000').join(' ')} else l.points end`;
  const caseBindings = cases.flatMap(([id, rate]) => [id, rate]);
  const sql = `select l.category_id as category_id, count(*) as lines,
                      sum(l.amount_paise) as amount, sum(l.points) as earned,
                      sum(${caseSql}) as proposed
                 from sales s join sale_lines l on l.sale_id = s.id
                where l.sale_id between ? and ? and s.sold_at >= ? and s.sold_at < ?
                group by l.category_id`;
  const bindings = [
    ...caseBindings,
    safeInt(span?.lo, 'id'),
    safeInt(span?.hi, 'id'),
    toDbTime(db, from),
    toDbTime(db, to),
  ];
  const result: unknown = await db.knex.raw(sql, bindings);
  const rows = rowsOf<{
    category_id: unknown;
    lines: unknown;
    amount: unknown;
    earned: unknown;
    proposed: unknown;
  }>(db, result);
  return {
    sales,
    rows: rows.map((r) => ({
      categoryId: Number(r.category_id),
      lines: safeInt(r.lines, 'lines'),
      amountPaise: safeInt(r.amount, 'amount'),
      pointsEarned: safeInt(r.earned, 'points'),
      pointsProposed: safeInt(r.proposed, 'points'),
    })),
  };
}

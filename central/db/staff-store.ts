import type { Knex } from 'knex';
import type { StaffRole, StaffView } from '../../shared/protocol/api.ts';
import { fromDbBool, fromDbTime, toDbTime, type Db } from './connect.ts';
import { bumpRulesRevision } from './rules-revision.ts';
import type { InTransaction } from './admin-store.ts';

export interface StaffRecord extends StaffView {
  passwordHash: string;
  pinHash: string | null;
  showroomId: number | null;
  active: boolean;
}

interface StaffRow {
  id: number;
  username: string;
  name: string;
  role: StaffRole;
  password_hash: string;
  pin_hash: string | null;
  showroom_id: number | null;
  showroom_code: string | null;
  active: boolean | number;
}

function staffQuery(db: Db) {
  return db
    .knex('staff as st')
    .leftJoin('showrooms as s', 's.id', 'st.showroom_id')
    .select(
      'st.id',
      'st.username',
      'st.name',
      'st.role',
      'st.password_hash',
      'st.pin_hash',
      'st.showroom_id',
      's.code as showroom_code',
      'st.active',
    );
}

function toRecord(r: StaffRow): StaffRecord {
  return {
    id: r.id,
    username: r.username,
    name: r.name,
    role: r.role,
    showroomCode: r.showroom_code,
    passwordHash: r.password_hash,
    pinHash: r.pin_hash,
    showroomId: r.showroom_id,
    active: fromDbBool(r.active),
  };
}

/** Public part of a staff record. */
export function toStaffView(s: StaffRecord): StaffView {
  return {
    id: s.id,
    username: s.username,
    name: s.name,
    role: s.role,
    showroomCode: s.showroomCode,
  };
}

export async function findStaffByUsername(
  db: Db,
  username: string,
): Promise<StaffRecord | undefined> {
  const row: StaffRow | undefined = await staffQuery(db).where('st.username', username).first();
  return row ? toRecord(row) : undefined;
}

export async function insertStaff(
  db: Db,
  staff: {
    username: string;
    name: string;
    role: StaffRole;
    passwordHash: string;
    pinHash: string | null;
    showroomId: number | null;
  },
  at: Date,
  also?: InTransaction<number>,
): Promise<number> {
  return db.knex.transaction(async (trx) => {
    const rows: { id: number }[] = await trx('staff')
      .insert({
        username: staff.username,
        name: staff.name,
        role: staff.role,
        password_hash: staff.passwordHash,
        pin_hash: staff.pinHash,
        showroom_id: staff.showroomId,
        active: true,
        created_at: toDbTime(db, at),
      })
      .returning('id');
    const [row] = rows;
    if (!row) throw new Error('insert into staff returned no id');
    // Staff are part of the terminals' rules (those with a PIN are listed there).
    await bumpRulesRevision(trx);
    await also?.(trx, row.id);
    return row.id;
  });
}

export async function insertSession(
  db: Db,
  tokenHash: string,
  staffId: number,
  at: Date,
  expiresAt: Date,
  csrfHash: string | null = null,
  q: Knex | Knex.Transaction = db.knex,
): Promise<void> {
  await q('staff_sessions').insert({
    token_hash: tokenHash,
    staff_id: staffId,
    created_at: toDbTime(db, at),
    expires_at: toDbTime(db, expiresAt),
    csrf_hash: csrfHash,
  });
}

/** Ends a session (signing out): its token stops working at once on this process. */
export async function deleteSession(db: Db, tokenHash: string): Promise<void> {
  await db.knex('staff_sessions').where('token_hash', tokenHash).del();
}

/**
 * The active staff member holding an unexpired session token, when the session ends, and the
 * hash of its CSRF token (console sessions only).
 */
export async function findSessionStaff(
  db: Db,
  tokenHash: string,
  at: Date,
): Promise<{ staff: StaffRecord; expiresAt: string; csrfHash: string | null } | undefined> {
  const row: (StaffRow & { expires_at: unknown; csrf_hash: string | null }) | undefined =
    await staffQuery(db)
      .join('staff_sessions as ss', 'ss.staff_id', 'st.id')
      .where('ss.token_hash', tokenHash)
      .andWhere('ss.expires_at', '>', toDbTime(db, at))
      .first('ss.expires_at', 'ss.csrf_hash');
  if (!row) return undefined;
  const record = toRecord(row);
  return record.active
    ? { staff: record, expiresAt: fromDbTime(row.expires_at), csrfHash: row.csrf_hash }
    : undefined;
}

export async function findShowroomId(db: Db, code: string): Promise<number | undefined> {
  const row: { id: number } | undefined = await db
    .knex('showrooms')
    .where('code', code)
    .first('id');
  return row?.id;
}

/** Sets a staff member's PIN hash (the terminals' rules change); false when there is no such username. */
export async function setStaffPin(
  db: Db,
  username: string,
  pinHash: string,
  also?: InTransaction,
): Promise<boolean> {
  return db.knex.transaction(async (trx) => {
    const n = await trx('staff').where('username', username).update({ pin_hash: pinHash });
    if (n > 0) await bumpRulesRevision(trx);
    if (n > 0) await also?.(trx, undefined);
    return n > 0;
  });
}

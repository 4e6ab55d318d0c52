import type { Knex } from 'knex';
import { fromDbTime, toDbTime, type Db } from '../db/connect.ts';

type Q = Knex | Knex.Transaction;

/** Who made a change: the signed-in staff member (or 'system' for the CLI). */
export interface AuditActor {
  staffId: number | null;
  username: string;
  role: string;
  ip?: string | null;
}

/** One change: written in the same transaction as the change itself. */
export interface AuditChange {
  /** `domain.verb`, e.g. 'member.adjust', 'settings.update', 'terminal.revoke'. */
  action: string;
  targetType: string;
  targetId: string | number;
  before?: unknown;
  after?: unknown;
}

/** An audit row as the console shows it. */
export interface AuditEntry {
  id: number;
  at: string;
  staffId: number | null;
  username: string;
  role: string;
  action: string;
  targetType: string;
  targetId: string;
  before: unknown;
  after: unknown;
  ip: string | null;
}

/** Appends one audit row; pass the change's own transaction so both commit or neither. */
export async function recordAudit(
  db: Db,
  q: Q,
  actor: AuditActor,
  change: AuditChange,
  at: Date,
): Promise<void> {
  await q('audit_log').insert({
    at: toDbTime(db, at),
    staff_id: actor.staffId,
    username: actor.username,
    role: actor.role,
    action: change.action,
    target_type: change.targetType,
    target_id: String(change.targetId),
    before: change.before === undefined ? null : JSON.stringify(change.before),
    after: change.after === undefined ? null : JSON.stringify(change.after),
    ip: actor.ip ?? null,
  });
}

interface AuditRow {
  id: number;
  at: unknown;
  staff_id: number | null;
  username: string;
  role: string;
  action: string;
  target_type: string;
  target_id: string;
  before: string | null;
  after: string | null;
  ip: string | null;
}

/** Newest first, filtered; `beforeId` pages backwards. */
export async function listAudit(
  db: Db,
  filter: {
    targetType?: string;
    targetId?: string;
    action?: string;
    username?: string;
    beforeId?: number;
    limit: number;
  },
): Promise<AuditEntry[]> {
  let query = db.knex<AuditRow>('audit_log').orderBy('id', 'desc').limit(filter.limit);
  if (filter.targetType) query = query.where('target_type', filter.targetType);
  if (filter.targetId) query = query.where('target_id', filter.targetId);
  if (filter.action) query = query.where('action', filter.action);
  if (filter.username) query = query.where('username', filter.username);
  if (filter.beforeId) query = query.where('id', '<', filter.beforeId);
  const rows: AuditRow[] = await query.select('*');
  return rows.map((r) => ({
    id: r.id,
    at: fromDbTime(r.at),
    staffId: r.staff_id,
    username: r.username,
    role: r.role,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    before: r.before === null ? null : (JSON.parse(r.before) as unknown),
    after: r.after === null ? null : (JSON.parse(r.after) as unknown),
    ip: r.ip,
  }));
}

/** The audit actor for a signed-in staff member making a request from `ip`. */
export function auditActorOf(
  staff: { id: number; username: string; role: string },
  ip?: string | null,
): AuditActor {
  return { staffId: staff.id, username: staff.username, role: staff.role, ip: ip ?? null };
}

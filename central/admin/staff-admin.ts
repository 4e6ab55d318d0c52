import type { StaffAdminView, UpdateStaffRequest } from '../../shared/protocol/admin.ts';
import { recordAudit, type AuditActor } from '../audit/audit-log.ts';
import * as adminStore from '../db/admin-store.ts';
import type { Db } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { hashSecret } from '../staff/secrets.ts';

/** What a staff change needs: the database, who makes it and when. */
export interface AdminContext {
  db: Db;
  actor: AuditActor;
  now: Date;
}

const PIN_NEEDS_SHOWROOM =
  'A cashier with a PIN signs in only at the counters of their own showroom: keep a showroom for this cashier.';

/**
 * Changes a staff member's name, role, showroom or active flag, with its audit row, in one
 * transaction. Deactivating ends their sessions; every change reaches the counters through
 * the rules' revision. No change may leave the chain without an active admin. Returns the
 * member as saved and the hashes of the sessions ended (for the caller's session cache).
 */
export async function updateStaffMember(
  ctx: AdminContext,
  username: string,
  patch: UpdateStaffRequest,
): Promise<{ staff: StaffAdminView; endedSessions: string[] }> {
  const { db } = ctx;
  return db.knex.transaction(async (trx) => {
    const before = await adminStore.findStaffAdmin(db, trx, username, true);
    if (!before) throw new AppError('not-found', `There is no staff member ${username}.`);
    let showroomId = before.showroomId;
    if (patch.showroomCode !== undefined) {
      if (patch.showroomCode === null) showroomId = null;
      else {
        const showroom = await adminStore.findShowroom(trx, patch.showroomCode);
        if (!showroom) {
          throw new AppError('unknown-showroom', `There is no showroom ${patch.showroomCode}.`, [
            { pointer: '/showroomCode', message: 'no such showroom' },
          ]);
        }
        showroomId = showroom.id;
      }
    }
    const role = patch.role ?? before.role;
    const active = patch.active ?? before.active;
    if (before.role === 'admin' && before.active && (role !== 'admin' || !active)) {
      const others = await adminStore.countOtherActiveAdmins(db, trx, before.id);
      if (others === 0) {
        const self = ctx.actor.staffId === before.id;
        throw new AppError(
          'last-admin',
          `${self ? 'You are' : `${username} is`} the last active admin: ${!active ? 'deactivating' : 'demoting'} ${self ? 'yourself' : 'them'} would leave nobody able to run the program. Make another staff member an admin first.`,
          [{ pointer: !active ? '/active' : '/role', message: 'the last active admin' }],
        );
      }
    }
    if (role === 'cashier' && showroomId === null && before.hasPin) {
      throw new AppError('pin-needs-showroom', PIN_NEEDS_SHOWROOM, [
        { pointer: '/showroomCode', message: 'a cashier with a PIN belongs to a showroom' },
      ]);
    }
    const changes = {
      ...(patch.name !== undefined && patch.name !== before.name ? { name: patch.name } : {}),
      ...(role !== before.role ? { role } : {}),
      ...(showroomId !== before.showroomId ? { showroomId } : {}),
      ...(active !== before.active ? { active } : {}),
    };
    if (Object.keys(changes).length === 0) {
      return { staff: adminStore.toStaffAdminView(before), endedSessions: [] };
    }
    await adminStore.updateStaff(trx, before.id, changes);
    // A deactivated person is signed out everywhere, console and counter alike.
    const endedSessions =
      before.active && !active ? await adminStore.endSessions(trx, before.id, undefined) : [];
    const after = await adminStore.findStaffAdmin(db, trx, username);
    if (!after) throw new Error(`staff ${username} vanished inside its own update`);
    const beforeView = adminStore.toStaffAdminView(before);
    const afterView = adminStore.toStaffAdminView(after);
    await recordAudit(
      db,
      trx,
      ctx.actor,
      {
        action: 'staff.update',
        targetType: 'staff',
        targetId: username,
        before: pick(beforeView, Object.keys(changes)),
        after: {
          ...pick(afterView, Object.keys(changes)),
          ...(endedSessions.length > 0 ? { sessionsEnded: endedSessions.length } : {}),
        },
      },
      ctx.now,
    );
    return { staff: afterView, endedSessions };
  });
}

/** Fields of a staff view by the names of the changes (showroomId is shown as showroomCode). */
function pick(view: StaffAdminView, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (key === 'showroomId') out.showroomCode = view.showroomCode;
    else out[key] = view[key as keyof StaffAdminView];
  }
  return out;
}

/**
 * Sets a new password for a staff member and ends their sessions (but the caller's own, when
 * they reset their own password). The audit row says it happened, never what it is.
 */
export async function resetPassword(
  ctx: AdminContext,
  username: string,
  password: string,
  callerSessionHash: string | undefined,
): Promise<{ endedSessions: string[] }> {
  const passwordHash = await hashSecret(password);
  const { db } = ctx;
  return db.knex.transaction(async (trx) => {
    const staff = await adminStore.findStaffAdmin(db, trx, username, true);
    if (!staff) throw new AppError('not-found', `There is no staff member ${username}.`);
    await adminStore.setPasswordHash(trx, staff.id, passwordHash);
    const endedSessions = await adminStore.endSessions(trx, staff.id, callerSessionHash);
    await recordAudit(
      db,
      trx,
      ctx.actor,
      {
        action: 'staff.password-reset',
        targetType: 'staff',
        targetId: username,
        after: { passwordReset: true, sessionsEnded: endedSessions.length },
      },
      ctx.now,
    );
    return { endedSessions };
  });
}

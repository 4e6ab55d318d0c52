import type { MergeResult } from '../../shared/protocol/members-admin.ts';
import { auditActorOf, recordAudit } from '../audit/audit-log.ts';
import * as ledgerStore from '../db/ledger-store.ts';
import * as store from '../db/member-admin-store.ts';
import { AppError } from '../errors.ts';
import { hashRequest } from '../ledger/writer.ts';
import type { MemberAdminDeps, StaffActor } from './deps.ts';

/** Longest reason a ledger entry holds. */
const ENTRY_REASON_MAX = 500;

const fit = (text: string) =>
  text.length <= ENTRY_REASON_MAX ? text : `${text.slice(0, ENTRY_REASON_MAX - 1)}…`;

/**
 * Merges the member `sourceId` into `targetId`, keeping every fact: the source's balance moves
 * by a pair of ledger entries (the target's refers to the source's), the source row is marked
 * merged into the target (its ledger and sales stay as they were and show in the target's
 * history), members merged into the source follow it, and both members' states replicate so
 * counters show only the target. Refused for a member into itself, a member already merged,
 * and while either member has a live redemption OTP or a change of mobile under way. One
 * transaction with both members locked, audited on both. A retry of the same merge replays it.
 */
export async function mergeMembers(
  deps: MemberAdminDeps,
  request: { targetId: number; sourceId: number; reason: string },
  staff: StaffActor,
): Promise<MergeResult> {
  const { db, writer } = deps;
  const { targetId, sourceId, reason } = request;
  if (targetId === sourceId) {
    throw new AppError('merge-not-possible', 'A member cannot be merged into itself.', [
      { pointer: '/sourceMemberId', message: 'the same member as the target' },
    ]);
  }
  const [target, source] = await Promise.all([
    store.memberRow(db, db.knex, targetId),
    store.memberRow(db, db.knex, sourceId),
  ]);
  if (!target) throw new AppError('not-found', `There is no member ${targetId}.`);
  if (!source) {
    throw new AppError('not-found', `There is no member ${sourceId} to merge.`, [
      { pointer: '/sourceMemberId', message: 'no such member' },
    ]);
  }
  if (target.mergedIntoId !== null) {
    throw new AppError(
      'member-merged',
      `Member ${targetId} was itself merged into member ${target.mergedIntoId}; merge into member ${target.mergedIntoId} instead.`,
    );
  }
  // Merged into this very target already: the writer replays the first answer.
  if (source.mergedIntoId !== null && source.mergedIntoId !== targetId) {
    throw alreadyMerged(sourceId, source.mergedIntoId);
  }
  const followers = await store.membersMergedInto(db.knex, sourceId);
  const keys = store.mergeKeys(sourceId);
  const actor = auditActorOf(staff, staff.ip);
  try {
    await writer.write({
      kind: 'member-op',
      operation: 'merge',
      key: keys.operation,
      // The reason is not part of the merge's identity: a retry with other words replays it.
      requestHash: hashRequest({ sourceId, targetId }),
      memberId: targetId,
      alsoLock: [sourceId, ...followers],
      actor: { staffId: staff.id, role: staff.role, showroomId: staff.showroomId },
      run: async (ctx) => {
        const { trx, now } = ctx;
        if (ctx.member.id !== targetId) {
          throw new AppError(
            'member-merged',
            `Member ${targetId} was merged into member ${ctx.member.id} a moment ago; merge into member ${ctx.member.id} instead.`,
          );
        }
        const from = ctx.other(sourceId);
        if (!from) throw new AppError('not-found', `There is no member ${sourceId} to merge.`);
        if (from.mergedIntoId !== null) throw alreadyMerged(sourceId, from.mergedIntoId);
        const nowFollowing = await store.membersMergedInto(trx, sourceId);
        if (nowFollowing.some((id) => !followers.includes(id))) {
          throw new AppError(
            'merge-not-possible',
            `Another record was merged into member ${sourceId} a moment ago; try the merge again.`,
          );
        }
        const pending = await store.pendingRedemptionOf(trx, [targetId, sourceId], now);
        if (pending) {
          throw new AppError(
            'merge-not-possible',
            `Member ${pending.memberId} has a redemption waiting for its OTP (redemption ${pending.redemptionId}, until ${pending.expiresAt}); let it finish or expire, then merge.`,
          );
        }
        for (const id of [targetId, sourceId]) {
          const open = await store.openMobileChange(trx, id);
          if (open && open.expiresAt > now) {
            throw new AppError(
              'merge-not-possible',
              `Member ${id} has a change of mobile under way (change ${open.id}); confirm or cancel it first.`,
            );
          }
        }
        const points = from.balance;
        if (points !== 0) {
          ctx.post({
            memberId: sourceId,
            kind: 'adjust',
            points: -points,
            key: keys.out,
            showroomId: null,
            terminalId: null,
            reason: fit(`merged into member ${targetId}: ${reason}`),
          });
          ctx.post({
            kind: 'adjust',
            points,
            key: keys.in,
            refersToKey: keys.out,
            showroomId: null,
            terminalId: null,
            reason: fit(`merged from member ${sourceId}: ${reason}`),
          });
        }
        const mergeId = await store.insertMerge(
          db,
          trx,
          { sourceId, targetId, pointsMoved: points, reason, staffId: staff.id },
          now,
        );
        await ctx.mergeInto([sourceId, ...nowFollowing], targetId);
        await recordAudit(
          db,
          trx,
          actor,
          {
            action: 'member.merge',
            targetType: 'member',
            targetId,
            before: { balance: ctx.member.balance },
            after: {
              balance: ctx.member.balance + points,
              mergeId,
              sourceMemberId: sourceId,
              pointsMoved: points,
              reason,
            },
          },
          now,
        );
        await recordAudit(
          db,
          trx,
          actor,
          {
            action: 'member.merged-into',
            targetType: 'member',
            targetId: sourceId,
            before: { balance: points, mergedIntoId: null },
            after: {
              balance: 0,
              mergedIntoId: targetId,
              mergeId,
              alsoMoved: nowFollowing,
              reason,
            },
          },
          now,
        );
        return { status: 200, body: { mergeId } };
      },
    });
  } catch (error) {
    // The same source merged concurrently into another target: say it as it is.
    if (error instanceof AppError && error.code === 'idempotency-key-reused') {
      const now = await store.memberRow(db, db.knex, sourceId);
      throw alreadyMerged(sourceId, now?.mergedIntoId ?? 0);
    }
    throw error;
  }
  const [merge] = await store.mergesOf(db.knex, [sourceId]);
  const [targetView, sourceView] = await Promise.all([
    ledgerStore.findMemberById(db.knex, targetId),
    ledgerStore.findMemberById(db.knex, sourceId),
  ]);
  if (!merge || !targetView || !sourceView) throw new Error(`merge of ${sourceId} not found`);
  return { merge, target: targetView, source: sourceView };
}

function alreadyMerged(sourceId: number, into: number): AppError {
  return new AppError(
    'member-merged',
    `Member ${sourceId} was already merged into member ${into}; a record is merged once.`,
    [{ pointer: '/sourceMemberId', message: 'already merged' }],
  );
}

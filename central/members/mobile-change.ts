import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { maskMobile } from '../../shared/mobile.ts';
import type { ProgramSettings } from '../../shared/points/redeem.ts';
import { INTERNAL_KEY_PREFIX, type Member } from '../../shared/protocol/api.ts';
import type {
  MobileChangeConfirmResult,
  MobileChangeView,
} from '../../shared/protocol/members-admin.ts';
import { auditActorOf, recordAudit } from '../audit/audit-log.ts';
import * as ledgerStore from '../db/ledger-store.ts';
import * as store from '../db/member-admin-store.ts';
import * as smsStore from '../db/sms-store.ts';
import { AppError } from '../errors.ts';
import { hashRequest } from '../ledger/writer.ts';
import { newOtpCode } from '../redeem/otp.ts';
import { deliveryOf } from '../redeem/service.ts';
import { compose } from '../sms/messages.ts';
import { fitName } from '../sms/templates.ts';
import type { MemberAdminDeps, StaffActor } from './deps.ts';

const HOUR_MS = 3_600_000;

/** Which of the two numbers a code was sent to. */
type Side = 'old' | 'new';

/** What a change-of-mobile code is bound to: a code for one of these opens no other. */
interface CodeBinding {
  changeId: number;
  memberId: number;
  side: Side;
  mobile: string;
}

/** Keyed hash of a code with everything it is bound to (as redemption OTPs are kept). */
function hashCode(key: Buffer, b: CodeBinding, code: string): string {
  return createHmac('sha256', key)
    .update(['mobile-change', b.changeId, b.memberId, b.side, b.mobile, code].join('\u0000'))
    .digest('hex');
}

/** Constant-time comparison: the time taken says nothing about how close a guess was. */
function codeMatches(key: Buffer, b: CodeBinding, code: string, stored: string): boolean {
  const expected = Buffer.from(stored, 'hex');
  const actual = Buffer.from(hashCode(key, b, code), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Central's own key of a change's confirmation (a caller's key cannot begin like this). */
export const mobileChangeKey = (changeId: number) =>
  `${INTERNAL_KEY_PREFIX}mobile-change:${changeId}`;

/**
 * A member's change of mobile number, confirmed by a code sent to the old number and another
 * to the new one. Codes follow the redemption OTP's policy (program settings `otp`): six
 * digits, kept only as keyed hashes bound to the change, member and number, a few tries, an
 * expiry, throttled resends and a cap on codes per member an hour and a day. The confirmation
 * goes through the ledger writer with the member locked, so the new number replicates to every
 * counter with a new change number; the member id, ledger and purchases stay as they are.
 * Every step is audited in its own transaction.
 */
export class MobileChangeService {
  private readonly deps: MemberAdminDeps;

  constructor(deps: MemberAdminDeps) {
    this.deps = deps;
  }

  /** Starts a change: one code to each number. An earlier open change of the member is closed. */
  async request(memberId: number, newMobile: string, staff: StaffActor): Promise<MobileChangeView> {
    const { db, clock } = this.deps;
    const settings = await this.deps.settings.get(db.knex);
    const id = await db.knex.transaction(async (trx) => {
      const now = clock.now();
      const member = await store.memberRow(db, trx, memberId, true);
      if (!member) throw new AppError('not-found', `There is no member ${memberId}.`);
      if (member.mergedIntoId !== null) {
        throw new AppError(
          'member-merged',
          `Member ${memberId} was merged into member ${member.mergedIntoId}; change that member's mobile instead.`,
        );
      }
      if (member.mobile === newMobile) {
        throw new AppError(
          'validation',
          `${maskMobile(newMobile)} is already this member's mobile.`,
          [{ pointer: '/newMobile', message: 'the same as the current mobile' }],
        );
      }
      await refuseIfTaken(trx, memberId, newMobile);
      const earlier = await store.openMobileChange(trx, memberId);
      if (earlier) await this.close(trx, earlier, 'cancelled', now);
      await this.checkFlood(trx, memberId, settings, now);
      const changeId = await store.insertMobileChange(
        db,
        trx,
        {
          memberId,
          oldMobile: member.mobile,
          newMobile,
          staffId: staff.id,
          expiresAt: new Date(now.getTime() + settings.otp.ttlSeconds * 1000),
        },
        now,
      );
      await this.send(trx, changeId, member, newMobile, settings, 1, now);
      await recordAudit(
        db,
        trx,
        auditActorOf(staff, staff.ip),
        {
          action: 'member.mobile-change.request',
          targetType: 'member',
          targetId: memberId,
          before: { mobile: member.mobile },
          after: {
            changeId,
            newMobile,
            ...(earlier ? { replacedChangeId: earlier.id } : {}),
          },
        },
        now,
      );
      return changeId;
    });
    this.deps.wakeSms();
    return this.view(id, settings);
  }

  /** New codes to both numbers, within the resend limits; the earlier codes stop working. */
  async resend(memberId: number, changeId: number, staff: StaffActor): Promise<MobileChangeView> {
    const { db, clock } = this.deps;
    const settings = await this.deps.settings.get(db.knex);
    await db.knex.transaction(async (trx) => {
      const now = clock.now();
      const member = await store.memberRow(db, trx, memberId, true);
      const change = await changeOf(trx, memberId, changeId);
      if (!member) throw new AppError('not-found', `There is no member ${memberId}.`);
      await this.refuseUnlessOpen(trx, change, now);
      const resendsLeft = settings.otp.maxResends - (change.sends - 1);
      if (resendsLeft <= 0) {
        throw new AppError(
          'too-many-requests',
          `The codes were already resent ${settings.otp.maxResends} times; cancel and start the change again later.`,
        );
      }
      const resendAt = change.lastSentAt.getTime() + settings.otp.resendIntervalSeconds * 1000;
      if (now.getTime() < resendAt) {
        throw new AppError(
          'too-many-requests',
          `Wait ${Math.ceil((resendAt - now.getTime()) / 1000)} s before resending the codes.`,
        );
      }
      await this.checkFlood(trx, memberId, settings, now);
      await retireMessages(trx, change);
      await this.send(
        trx,
        changeId,
        { id: memberId, mobile: change.oldMobile, name: member.name },
        change.newMobile,
        settings,
        change.sends + 1,
        now,
      );
      await recordAudit(
        db,
        trx,
        auditActorOf(staff, staff.ip),
        {
          action: 'member.mobile-change.resend',
          targetType: 'member',
          targetId: memberId,
          after: { changeId, sends: change.sends + 1 },
        },
        now,
      );
    });
    this.deps.wakeSms();
    return this.view(changeId, settings);
  }

  /** Stops a change waiting for its codes; their messages, if not yet sent, are not sent. */
  async cancel(memberId: number, changeId: number, staff: StaffActor): Promise<MobileChangeView> {
    const { db, clock } = this.deps;
    const settings = await this.deps.settings.get(db.knex);
    await db.knex.transaction(async (trx) => {
      const now = clock.now();
      const change = await changeOf(trx, memberId, changeId);
      if (change.status !== 'awaiting-otp') {
        throw new AppError(
          'mobile-change-closed',
          `Change ${changeId} is ${change.status} already; there is nothing to cancel.`,
        );
      }
      await this.close(trx, change, 'cancelled', now);
      await recordAudit(
        db,
        trx,
        auditActorOf(staff, staff.ip),
        {
          action: 'member.mobile-change.cancel',
          targetType: 'member',
          targetId: memberId,
          before: { changeId, status: 'awaiting-otp' },
          after: { changeId, status: 'cancelled' },
        },
        now,
      );
    });
    return this.view(changeId, settings);
  }

  /**
   * Both codes right: the member's mobile becomes the new number (replicated with a new change
   * number). A wrong pair uses up a try (kept even though the request is refused); the last
   * try, or an expired change, closes it.
   */
  async confirm(
    memberId: number,
    changeId: number,
    codes: { oldCode: string; newCode: string },
    staff: StaffActor,
  ): Promise<MobileChangeConfirmResult> {
    const { db, writer } = this.deps;
    const settings = await this.deps.settings.get(db.knex);
    const known = await store.findMobileChange(db.knex, changeId);
    if (!known || known.memberId !== memberId) {
      throw new AppError('not-found', `Member ${memberId} has no change of mobile ${changeId}.`);
    }
    await writer.write({
      kind: 'member-op',
      operation: 'mobile-change',
      key: mobileChangeKey(changeId),
      // The codes are not part of the request's identity: a retry after a lost answer replays.
      requestHash: hashRequest({ changeId }),
      memberId,
      actor: { staffId: staff.id, role: staff.role, showroomId: staff.showroomId },
      run: async (ctx) => {
        const { trx, now } = ctx;
        const change = await changeOf(trx, memberId, changeId);
        if (ctx.member.id !== memberId) {
          throw new AppError(
            'member-merged',
            `Member ${memberId} was merged into member ${ctx.member.id}; its mobile can no longer change.`,
          );
        }
        await this.refuseUnlessOpen(trx, change, now);
        const binding = (side: Side): CodeBinding => ({
          changeId,
          memberId,
          side,
          mobile: side === 'old' ? change.oldMobile : change.newMobile,
        });
        // Both compared every time, so the answer and its timing say nothing about which failed.
        const oldOk = codeMatches(
          this.deps.otpKey,
          binding('old'),
          codes.oldCode,
          change.oldCodeHash,
        );
        const newOk = codeMatches(
          this.deps.otpKey,
          binding('new'),
          codes.newCode,
          change.newCodeHash,
        );
        if (!oldOk || !newOk) {
          const attempts = change.attempts + 1;
          const left = settings.otp.maxAttempts - attempts;
          await store.countMobileChangeAttempt(trx, changeId, attempts);
          if (left <= 0) {
            await this.close(trx, change, 'failed', now);
            throw new AppError(
              'otp-dead',
              `Wrong codes, and that was the last of ${settings.otp.maxAttempts} tries; start the change again.`,
            );
          }
          throw new AppError(
            'otp-wrong',
            `One or both codes are wrong; ${left} ${left === 1 ? 'try' : 'tries'} left.`,
            [
              { pointer: '/oldCode', message: 'check the code sent to the old number' },
              { pointer: '/newCode', message: 'check the code sent to the new number' },
            ],
          );
        }
        await refuseIfTaken(trx, memberId, change.newMobile);
        if (ctx.member.mobile !== change.oldMobile) {
          await this.close(trx, change, 'failed', now);
          throw new AppError(
            'mobile-change-closed',
            `Member ${memberId}'s mobile changed since this change was asked for; start again.`,
          );
        }
        await ctx.changeMobile(change.newMobile);
        await store.closeMobileChange(db, trx, changeId, 'confirmed', now);
        await recordAudit(
          db,
          trx,
          auditActorOf(staff, staff.ip),
          {
            action: 'member.mobile-change',
            targetType: 'member',
            targetId: memberId,
            before: { mobile: change.oldMobile },
            after: { mobile: change.newMobile, changeId },
          },
          now,
        );
        return { status: 200, body: { changeId } };
      },
    });
    const member: Member | undefined = await ledgerStore.findMemberById(db.knex, memberId);
    if (!member) throw new Error(`member ${memberId} vanished`);
    return { change: await this.view(changeId, settings), member };
  }

  /** A change as the console shows it (never its codes). */
  async view(changeId: number, settings?: ProgramSettings): Promise<MobileChangeView> {
    const { db } = this.deps;
    const s = settings ?? (await this.deps.settings.get(db.knex));
    const change = await store.findMobileChange(db.knex, changeId);
    if (!change) throw new AppError('not-found', `There is no change of mobile ${changeId}.`);
    return viewOf(db.knex, change, s, this.deps.clock.now());
  }

  /** Refuses a change that is closed, or closes it as expired (that sticks) and refuses. */
  private async refuseUnlessOpen(
    trx: Knex.Transaction,
    change: store.MobileChangeRow,
    now: Date,
  ): Promise<void> {
    if (change.status !== 'awaiting-otp') {
      throw new AppError(
        'otp-dead',
        `Change ${change.id} is ${change.status}; its codes no longer work. Start the change again.`,
      );
    }
    if (change.expiresAt.getTime() <= now.getTime()) {
      await this.close(trx, change, 'expired', now);
      throw new AppError(
        'otp-expired',
        `The codes of change ${change.id} expired at ${change.expiresAt.toISOString()}; start the change again.`,
      );
    }
  }

  private async close(
    trx: Knex.Transaction,
    change: store.MobileChangeRow,
    status: 'cancelled' | 'expired' | 'failed',
    now: Date,
  ): Promise<void> {
    await store.closeMobileChange(this.deps.db, trx, change.id, status, now);
    await retireMessages(trx, change);
  }

  /** Codes sent to one member are capped an hour and a day, as redemption OTPs are. */
  private async checkFlood(
    trx: Knex.Transaction,
    memberId: number,
    settings: ProgramSettings,
    now: Date,
  ): Promise<void> {
    const hour = await store.countMobileCodesSince(
      trx,
      memberId,
      new Date(now.getTime() - HOUR_MS),
    );
    if (hour + 2 > settings.otp.perMemberPerHour) {
      throw new AppError(
        'too-many-requests',
        `This member was sent ${hour} change-of-mobile codes in the last hour; at most ${settings.otp.perMemberPerHour} are allowed. Try again later.`,
      );
    }
    const day = await store.countMobileCodesSince(
      trx,
      memberId,
      new Date(now.getTime() - 24 * HOUR_MS),
    );
    if (day + 2 > settings.otp.perMemberPerDay) {
      throw new AppError(
        'too-many-requests',
        `This member was sent ${day} change-of-mobile codes in the last 24 hours; at most ${settings.otp.perMemberPerDay} are allowed. Try again tomorrow.`,
      );
    }
  }

  /** Two fresh codes, one to each number (sealed in the outbox), and their hashes stored. */
  private async send(
    trx: Knex.Transaction,
    changeId: number,
    member: { id: number; mobile: string; name: string },
    newMobile: string,
    settings: ProgramSettings,
    send: number,
    now: Date,
  ): Promise<void> {
    const { db, composer, otpKey } = this.deps;
    const expiresAt = new Date(now.getTime() + settings.otp.ttlSeconds * 1000);
    const sides: { side: Side; mobile: string }[] = [
      { side: 'old', mobile: member.mobile },
      { side: 'new', mobile: newMobile },
    ];
    const issued = new Map<Side, { hash: string; outboxId: number | null }>();
    for (const { side, mobile } of sides) {
      const code = newOtpCode();
      const row = compose(composer, {
        kind: 'mobile-otp',
        dedupeKey: `mobile-change:${changeId}:${send}:${side}`,
        memberId: member.id,
        mobile,
        values: {
          otp: code,
          from: maskMobile(member.mobile),
          to: maskMobile(newMobile),
          minutes: String(Math.round(settings.otp.ttlSeconds / 60)),
          name: fitName(member.name),
        },
        secret: ['otp'],
        expiresAt,
      });
      if (row.status === 'refused') {
        throw new AppError(
          'sms-template-missing',
          `The change-of-mobile code cannot be sent: ${row.lastError ?? 'no template'}. An admin must register a DLT template for "mobile-otp" in the SMS settings.`,
        );
      }
      const ids = await smsStore.insertOutbox(trx, [row], now);
      issued.set(side, {
        hash: hashCode(otpKey, { changeId, memberId: member.id, side, mobile }, code),
        outboxId: ids.get(row.dedupeKey) ?? null,
      });
    }
    await store.recordMobileChangeSend(
      db,
      trx,
      changeId,
      {
        oldCodeHash: issued.get('old')?.hash ?? '',
        newCodeHash: issued.get('new')?.hash ?? '',
        oldOutboxId: issued.get('old')?.outboxId ?? null,
        newOutboxId: issued.get('new')?.outboxId ?? null,
        sends: send,
        expiresAt,
      },
      now,
    );
  }
}

async function changeOf(
  q: Knex | Knex.Transaction,
  memberId: number,
  changeId: number,
): Promise<store.MobileChangeRow> {
  const change = await store.findMobileChange(q, changeId);
  if (!change || change.memberId !== memberId) {
    throw new AppError('not-found', `Member ${memberId} has no change of mobile ${changeId}.`);
  }
  return change;
}

/** A number another member holds cannot be given to this one. */
async function refuseIfTaken(
  q: Knex | Knex.Transaction,
  memberId: number,
  mobile: string,
): Promise<void> {
  const holder = await store.holderOfMobile(q, mobile);
  if (!holder || holder.id === memberId) return;
  const merged =
    holder.mergedIntoId === null ? '' : ` (a record merged into member ${holder.mergedIntoId})`;
  throw new AppError(
    'mobile-taken',
    `${maskMobile(mobile)} belongs to member ${holder.id}, ${holder.name}${merged}. A number belongs to one member: if both are the same person, merge the two records instead.`,
    [{ pointer: '/newMobile', message: `belongs to member ${holder.id}` }],
  );
}

/** The change's messages not yet sent are not sent (their codes no longer work). */
async function retireMessages(
  q: Knex | Knex.Transaction,
  change: store.MobileChangeRow,
): Promise<void> {
  for (const id of [change.oldOutboxId, change.newOutboxId]) {
    if (id !== null) await smsStore.retireOtpMessage(q, id);
  }
}

async function viewOf(
  q: Knex | Knex.Transaction,
  c: store.MobileChangeRow,
  settings: ProgramSettings,
  now: Date,
): Promise<MobileChangeView> {
  const delivery = async (id: number | null) =>
    deliveryOf(id === null ? undefined : (await smsStore.outboxStatus(q, id))?.status);
  // An open change past its expiry reads as expired (it is closed so on its next use).
  const status = c.status === 'awaiting-otp' && c.expiresAt <= now ? 'expired' : c.status;
  const open = status === 'awaiting-otp';
  const resendsLeft = open ? Math.max(0, settings.otp.maxResends - (c.sends - 1)) : 0;
  return {
    id: c.id,
    memberId: c.memberId,
    oldMobile: c.oldMobile,
    oldMaskedMobile: maskMobile(c.oldMobile),
    newMobile: c.newMobile,
    newMaskedMobile: maskMobile(c.newMobile),
    status,
    requestedAt: c.requestedAt.toISOString(),
    expiresAt: c.expiresAt.toISOString(),
    confirmedAt: c.confirmedAt?.toISOString() ?? null,
    closedAt: c.closedAt?.toISOString() ?? null,
    triesLeft: open ? Math.max(0, settings.otp.maxAttempts - c.attempts) : 0,
    resendsLeft,
    resendAt:
      open && resendsLeft > 0
        ? new Date(c.lastSentAt.getTime() + settings.otp.resendIntervalSeconds * 1000).toISOString()
        : null,
    delivery: { old: await delivery(c.oldOutboxId), new: await delivery(c.newOutboxId) },
    staffUsername: c.staffUsername,
  };
}

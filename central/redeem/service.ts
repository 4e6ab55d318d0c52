import type { Knex } from 'knex';
import { maskMobile } from '../../shared/mobile.ts';
import {
  quoteRedemption,
  refuseRedemption,
  type ProgramSettings,
} from '../../shared/points/redeem.ts';
import {
  CancelRequest,
  ConfirmRequest,
  QuoteRequest,
  RedeemRequest,
  RedemptionRef,
  type OtpDelivery,
  type QuoteResponse,
  type RedemptionOutcome,
  type RedemptionView,
} from '../../shared/protocol/redeem.ts';
import { INTERNAL_KEY_PREFIX } from '../../shared/protocol/api.ts';
import type { Db } from '../db/connect.ts';
import type { SettingsCache } from '../db/settings-store.ts';
import * as smsStore from '../db/sms-store.ts';
import { AppError } from '../errors.ts';
import {
  hashRequest,
  type LedgerWriter,
  type MemberOp,
  type MemberOpContext,
} from '../ledger/writer.ts';
import type { CounterRef } from '../sync/server.ts';
import type { Clock } from '../time.ts';
import { compose, rupeesText, type Composer } from '../sms/messages.ts';
import { fitName, fitRef } from '../sms/templates.ts';
import { hashOtp, newOtpCode, otpMatches, type OtpBinding } from './otp.ts';

export interface RedemptionDeps {
  db: Db;
  writer: LedgerWriter;
  clock: Clock;
  settings: SettingsCache;
  composer: Composer;
  otpKey: Buffer;
  /** Called after an OTP message is committed, so the SMS worker sends it now. */
  wakeSms: () => void;
}

interface RedemptionRow {
  id: number;
  member_id: number;
  showroom_id: number;
  terminal_id: string;
  bill_number: string;
  bill_amount_paise: number;
  points: number;
  value_paise: number;
  status: RedemptionView['status'];
  requested_at: Date | string | number;
  confirmed_at: Date | string | number | null;
  cancelled_at: Date | string | number | null;
  balance_after: number | null;
}

interface OtpRow {
  id: number;
  member_id: number;
  redemption_id: number;
  terminal_id: string;
  code_hash: string;
  state: 'live' | 'used' | 'dead' | 'expired' | 'superseded';
  attempts: number;
  sends: number;
  last_sent_at: Date | string | number;
  expires_at: Date | string | number;
  outbox_id: number | null;
}

interface MemberRow {
  id: number;
  mobile: string;
  name: string;
  balance: number;
  sms_consent: boolean | number;
}

const HOUR_MS = 3_600_000;
const iso = (v: Date | string | number) => new Date(v).toISOString();
const ms = (v: Date | string | number) => new Date(v).getTime();

/**
 * Redemption at central: quote, OTP, confirmation and cancellation. Points leave a member only
 * through the ledger writer with the member locked, against a live OTP bound to member,
 * terminal, points and bill; so two counters can never spend the same points.
 */
export class RedemptionService {
  private readonly deps: RedemptionDeps;

  constructor(deps: RedemptionDeps) {
    this.deps = deps;
  }

  /** What the member may redeem on this bill, and why not when nothing. */
  async quote(counter: CounterRef, raw: unknown): Promise<QuoteResponse> {
    const request = parse(QuoteRequest, raw, 'redeem:quote');
    const { db, settings } = this.deps;
    const member = await findMember(db.knex, request.mobile, false);
    const quote = quoteRedemption(
      await settings.get(db.knex),
      member.balance,
      request.billAmountPaise,
    );
    return {
      memberId: member.id,
      name: member.name,
      maskedMobile: maskMobile(member.mobile),
      ...quote,
    };
  }

  /** Checks the rules, records the redemption and sends the member an OTP, all in one commit. */
  async request(counter: CounterRef, raw: unknown): Promise<RedemptionView> {
    const request = parse(RedeemRequest, raw, 'redeem:request');
    const { db, clock, settings: cache } = this.deps;
    const settings = await cache.get(db.knex);
    // A cheap look first: while another counter holds the member's OTP, refuse without queueing
    // for the member's lock (the check under the lock below stays the one that decides).
    await this.refuseIfPendingElsewhere(db.knex, counter, request.mobile, clock.now());
    const view = await db.knex
      .transaction(async (trx) => {
        const now = clock.now();
        const member = await findMember(trx, request.mobile, db.dialect === 'pg');
        await this.checkFloods(trx, counter, member.id, settings, now);
        const quote = quoteRedemption(settings, member.balance, request.billAmountPaise);
        const refusal = refuseRedemption(quote, request.points);
        if (refusal) {
          throw new AppError(
            refusal.code === 'above-balance' ? 'insufficient-points' : 'redemption-not-allowed',
            refusal.message,
            [{ pointer: '/points', message: refusal.message }],
          );
        }
        await this.checkBillOpen(trx, counter, request.billNumber);
        await this.retireLiveOtp(trx, counter, member.id, now);
        const [inserted]: { id: number }[] = await trx('redemptions')
          .insert({
            member_id: member.id,
            showroom_id: counter.showroomId,
            terminal_id: counter.terminalId,
            bill_number: request.billNumber,
            bill_amount_paise: request.billAmountPaise,
            points: request.points,
            value_paise: request.points * settings.pointValuePaise,
            status: 'awaiting-otp',
            requested_at: now,
          })
          .returning('id');
        const redemptionId = Number(inserted?.id);
        const issued = await this.issueCode(trx, counter, member, settings, now, 1, {
          redemptionId,
          memberId: member.id,
          terminalId: counter.terminalId,
          points: request.points,
          billNumber: request.billNumber,
        });
        await trx('otps').insert({
          purpose: 'redeem',
          member_id: member.id,
          redemption_id: redemptionId,
          terminal_id: counter.terminalId,
          code_hash: issued.codeHash,
          state: 'live',
          attempts: 0,
          sends: 1,
          created_at: now,
          last_sent_at: now,
          expires_at: issued.expiresAt,
          outbox_id: issued.outboxId,
        });
        return this.view(trx, redemptionId, settings);
      })
      .catch(translateUniqueLive);
    this.deps.wakeSms();
    return view;
  }

  /** A new code for the same redemption, within the resend limits; the old code stops working. */
  async resend(counter: CounterRef, raw: unknown): Promise<RedemptionView> {
    const { redemptionId } = parse(RedemptionRef, raw, 'redeem:resend');
    const { db, clock, settings: cache } = this.deps;
    const settings = await cache.get(db.knex);
    const view = await db.knex.transaction(async (trx) => {
      const now = clock.now();
      const redemption = await this.redemptionOf(trx, counter, redemptionId, 'counter');
      const member = await lockMemberById(trx, db, redemption.member_id);
      const otp = await latestOtp(trx, redemptionId);
      if (
        redemption.status !== 'awaiting-otp' ||
        !otp ||
        otp.state !== 'live' ||
        ms(otp.expires_at) <= now.getTime()
      ) {
        throw new AppError(
          'otp-dead',
          'This redemption no longer waits for an OTP; start the redemption again.',
        );
      }
      const resendsLeft = settings.otp.maxResends - (otp.sends - 1);
      if (resendsLeft <= 0) {
        throw new AppError(
          'too-many-requests',
          `The OTP was already resent ${settings.otp.maxResends} times; start the redemption again later.`,
        );
      }
      const resendAt = ms(otp.last_sent_at) + settings.otp.resendIntervalSeconds * 1000;
      if (now.getTime() < resendAt) {
        throw new AppError(
          'too-many-requests',
          `Wait ${Math.ceil((resendAt - now.getTime()) / 1000)} s before resending the OTP.`,
        );
      }
      await this.checkMemberFlood(trx, member.id, settings, now);
      // The previous code stops working; its message, if still waiting, is not sent late.
      if (otp.outbox_id !== null) await smsStore.retireOtpMessage(trx, otp.outbox_id);
      const issued = await this.issueCode(
        trx,
        counter,
        member,
        settings,
        now,
        otp.sends + 1,
        bindingOf(redemption),
      );
      await trx('otps')
        .where({ id: otp.id, state: 'live' })
        .update({
          code_hash: issued.codeHash,
          sends: otp.sends + 1,
          last_sent_at: now,
          expires_at: issued.expiresAt,
          outbox_id: issued.outboxId,
        });
      return this.view(trx, redemptionId, settings);
    });
    this.deps.wakeSms();
    return view;
  }

  /** The right OTP writes the redeem entry; a wrong one uses up a try. */
  async confirm(counter: CounterRef, raw: unknown): Promise<RedemptionOutcome> {
    const { redemptionId, otp } = parse(ConfirmRequest, raw, 'redeem:confirm');
    const { db } = this.deps;
    const settings = await this.deps.settings.get(db.knex);
    const redemption = await this.redemptionOf(db.knex, counter, redemptionId, 'counter');
    const outcome = await this.writeOp(
      counter,
      'redeem',
      redeemKey(redemptionId),
      redemption,
      (ctx) => this.applyConfirm(ctx, counter, redemptionId, otp, settings),
    );
    this.deps.wakeSms();
    return outcome;
  }

  /**
   * A redemption's change to the member's points, through the ledger writer under its own key.
   * The OTP is not part of the request's identity: a retry after a lost answer replays it.
   */
  private async writeOp(
    counter: CounterRef,
    operation: 'redeem' | 'redeem-cancel',
    key: string,
    redemption: RedemptionRow,
    run: MemberOp['run'],
  ): Promise<RedemptionOutcome> {
    const outcome = await this.deps.writer.write({
      kind: 'member-op',
      operation,
      key,
      requestHash: hashRequest({ redemptionId: redemption.id }),
      memberId: redemption.member_id,
      actor: {
        staffId: null,
        role: 'cashier',
        showroomId: counter.showroomId,
        terminalId: counter.terminalId,
      },
      run,
    });
    const body = outcome.body as { redemption: RedemptionView };
    return { redemption: body.redemption, ...(outcome.state ? { state: outcome.state } : {}) };
  }

  private async applyConfirm(
    ctx: MemberOpContext,
    counter: CounterRef,
    redemptionId: number,
    code: string,
    settings: ProgramSettings,
  ): Promise<{ status: number; body: unknown }> {
    const { trx, now } = ctx;
    const redemption = await this.redemptionOf(trx, counter, redemptionId, 'counter');
    const otp = await latestOtp(trx, redemptionId);
    const close = async (otpState: OtpRow['state'], reason: string) => {
      if (otp) await trx('otps').where('id', otp.id).update({ state: otpState, closed_at: now });
      await trx('redemptions')
        .where({ id: redemptionId, status: 'awaiting-otp' })
        .update({ status: 'abandoned', abandoned_reason: reason });
    };
    if (redemption.status !== 'awaiting-otp' || !otp || otp.state !== 'live') {
      const why =
        otp?.state === 'superseded'
          ? 'a newer OTP was asked for; use the latest one'
          : otp?.state === 'dead'
            ? 'too many wrong OTPs were entered'
            : otp?.state === 'expired'
              ? 'its OTP expired'
              : `it is ${redemption.status}`;
      throw new AppError('otp-dead', `This redemption cannot be confirmed: ${why}. Start again.`);
    }
    if (ms(otp.expires_at) <= now.getTime()) {
      await close('expired', 'otp-expired');
      throw new AppError('otp-expired', 'The OTP has expired; start the redemption again.');
    }
    const binding = bindingOf(redemption);
    if (!otpMatches(this.deps.otpKey, binding, code, otp.code_hash)) {
      const attempts = otp.attempts + 1;
      const left = settings.otp.maxAttempts - attempts;
      if (left <= 0) {
        await trx('otps').where('id', otp.id).update({ attempts });
        await close('dead', 'too-many-tries');
        throw new AppError(
          'otp-dead',
          `Wrong OTP, and that was the last of ${settings.otp.maxAttempts} tries; start the redemption again.`,
        );
      }
      await trx('otps').where('id', otp.id).update({ attempts });
      throw new AppError('otp-wrong', `Wrong OTP; ${left} ${left === 1 ? 'try' : 'tries'} left.`, [
        { pointer: '/otp', message: 'wrong code' },
      ]);
    }
    if (ctx.member.balance < redemption.points) {
      await close('used', 'insufficient-points');
      throw new AppError(
        'insufficient-points',
        `The member now has ${ctx.member.balance} points, fewer than the ${redemption.points} asked; start again with fewer.`,
      );
    }
    await this.checkBillOpen(trx, counter, redemption.bill_number);
    const balanceAfter = ctx.post({
      kind: 'redeem',
      points: -redemption.points,
      key: redeemKey(redemptionId),
      showroomId: counter.showroomId,
      terminalId: counter.terminalId,
      reason: `bill ${redemption.bill_number}`,
    });
    await trx('otps').where('id', otp.id).update({ state: 'used', closed_at: now });
    await trx('redemptions')
      .where('id', redemptionId)
      .update({ status: 'confirmed', confirmed_at: now, balance_after: balanceAfter });
    if (settings.redeemNotices) {
      await this.queueNotice(trx, ctx.member.id, counter, {
        kind: 'redeem',
        dedupeKey: `redeem:${redemptionId}`,
        values: {
          points: String(redemption.points),
          rupees: rupeesText(redemption.value_paise),
          bill: fitRef(redemption.bill_number),
          balance: String(balanceAfter),
        },
        redemptionId,
        now,
      });
    }
    const view = await this.view(trx, redemptionId, settings);
    return { status: 201, body: { memberId: redemption.member_id, redemption: view } };
  }

  /** Gives the points back while the bill is still open (no sale recorded for it yet). */
  async cancel(counter: CounterRef, raw: unknown): Promise<RedemptionOutcome> {
    const { redemptionId, reason } = parse(CancelRequest, raw, 'redeem:cancel');
    const { db } = this.deps;
    const settings = await this.deps.settings.get(db.knex);
    const redemption = await this.redemptionOf(db.knex, counter, redemptionId, 'showroom');
    return this.writeOp(
      counter,
      'redeem-cancel',
      cancelKey(redemptionId),
      redemption,
      async (ctx) => {
        const { trx, now } = ctx;
        const current = await this.redemptionOf(trx, counter, redemptionId, 'showroom');
        if (current.status !== 'confirmed') {
          throw new AppError(
            'cancel-not-possible',
            `Redemption ${redemptionId} is ${current.status}; only a confirmed redemption can be cancelled.`,
          );
        }
        const age = now.getTime() - ms(current.confirmed_at ?? now);
        if (age > settings.cancelWithinMinutes * 60_000) {
          throw new AppError(
            'cancel-not-possible',
            `Redemption ${redemptionId} was confirmed more than ${settings.cancelWithinMinutes} minutes ago; a manager's adjustment can correct it.`,
          );
        }
        await this.checkBillOpen(trx, counter, current.bill_number, 'cancel');
        const entry: { id: number } | undefined = await trx('ledger_entries')
          .where('idempotency_key', redeemKey(redemptionId))
          .first('id');
        const balanceAfter = ctx.post({
          kind: 'reverse',
          points: current.points,
          key: cancelKey(redemptionId),
          refersToEntryId: entry ? entry.id : null,
          showroomId: counter.showroomId,
          terminalId: counter.terminalId,
          reason: reason ?? `redemption on bill ${current.bill_number} cancelled`,
        });
        await trx('redemptions')
          .where('id', redemptionId)
          .update({ status: 'cancelled', cancelled_at: now, balance_after: balanceAfter });
        const view = await this.view(trx, redemptionId, settings);
        return { status: 200, body: { memberId: current.member_id, redemption: view } };
      },
    );
  }

  /** Where a redemption stands, including whether its OTP's SMS went out. */
  async status(counter: CounterRef, raw: unknown): Promise<RedemptionView> {
    const { redemptionId } = parse(RedemptionRef, raw, 'redeem:status');
    const { db } = this.deps;
    await this.redemptionOf(db.knex, counter, redemptionId, 'showroom');
    return this.view(db.knex, redemptionId, await this.deps.settings.get(db.knex));
  }

  /**
   * A redemption as a counter may see it: only the counter that asked may use its OTP; any
   * counter of the same showroom may cancel it or ask how it stands.
   */
  private async redemptionOf(
    q: Knex | Knex.Transaction,
    counter: CounterRef,
    id: number,
    scope: 'counter' | 'showroom',
  ): Promise<RedemptionRow> {
    const row = (await q('redemptions').where('id', id).first()) as RedemptionRow | undefined;
    if (scope === 'counter') {
      if (!row) throw new AppError('redemption-not-found', `There is no redemption ${id}.`);
      if (row.terminal_id !== counter.terminalId) {
        throw new AppError(
          'otp-foreign',
          `Redemption ${id} was asked for at another counter; its OTP works only there.`,
        );
      }
    } else if (!row || row.showroom_id !== counter.showroomId) {
      throw new AppError(
        'redemption-not-found',
        `There is no redemption ${id} at ${counter.showroomCode}.`,
      );
    }
    return row;
  }

  /** A bill that already earned points at central is closed: its redemption is settled. */
  private async checkBillOpen(
    trx: Knex.Transaction,
    counter: CounterRef,
    billNumber: string,
    what: 'redeem' | 'cancel' = 'redeem',
  ): Promise<void> {
    const sale: { id: number } | undefined = await trx('sales')
      .where({ showroom_id: counter.showroomId, bill_number: billNumber })
      .first('id');
    if (sale) {
      throw new AppError(
        'bill-closed',
        what === 'cancel'
          ? `Bill ${billNumber} is closed (its sale is recorded); the redemption can no longer be cancelled. A manager's adjustment can correct it.`
          : `Bill ${billNumber} is closed (its sale is recorded); points can be redeemed only on an open bill.`,
      );
    }
    if (what === 'redeem') {
      const other: { id: number } | undefined = await trx('redemptions')
        .where({ showroom_id: counter.showroomId, bill_number: billNumber, status: 'confirmed' })
        .first('id');
      if (other) {
        throw new AppError(
          'redemption-not-allowed',
          `Points were already redeemed on bill ${billNumber} (redemption ${other.id}); cancel it first to redeem a different amount.`,
        );
      }
    }
  }

  /**
   * One live OTP per member: an expired one is closed; this counter's own earlier OTP is
   * replaced; another counter's live OTP refuses the request.
   */
  private async refuseIfPendingElsewhere(
    q: Knex,
    counter: CounterRef,
    mobile: string,
    now: Date,
  ): Promise<void> {
    const live: OtpRow | undefined = await q('otps')
      .join('members', 'members.id', 'otps.member_id')
      .where({ 'members.mobile': mobile, 'otps.state': 'live' })
      .whereNot('otps.terminal_id', counter.terminalId)
      .first('otps.*');
    if (live && ms(live.expires_at) > now.getTime()) await this.pendingElsewhere(q, live);
  }

  private async pendingElsewhere(q: Knex | Knex.Transaction, otp: OtpRow): Promise<never> {
    const at: { code: string; name: string } | undefined = await q('terminals')
      .join('showrooms', 'showrooms.id', 'terminals.showroom_id')
      .where('terminals.id', otp.terminal_id)
      .first('showrooms.code as code', 'terminals.name as name');
    const where = at ? `${at.name} at ${at.code}` : 'another counter';
    throw new AppError(
      'otp-pending-elsewhere',
      `An OTP for this member is pending at ${where} until ${iso(otp.expires_at)}; finish or let it expire there first.`,
    );
  }

  private async retireLiveOtp(
    trx: Knex.Transaction,
    counter: CounterRef,
    memberId: number,
    now: Date,
  ): Promise<void> {
    const live = (await trx('otps').where({ member_id: memberId, state: 'live' })) as OtpRow[];
    for (const otp of live) {
      const expired = ms(otp.expires_at) <= now.getTime();
      if (!expired && otp.terminal_id !== counter.terminalId) await this.pendingElsewhere(trx, otp);
      await trx('otps')
        .where('id', otp.id)
        .update({ state: expired ? 'expired' : 'superseded', closed_at: now });
      if (otp.outbox_id !== null) await smsStore.retireOtpMessage(trx, otp.outbox_id);
      await trx('redemptions')
        .where({ id: otp.redemption_id, status: 'awaiting-otp' })
        .update({ status: 'abandoned', abandoned_reason: expired ? 'otp-expired' : 'superseded' });
    }
  }

  /** OTP floods: too many for one member (from any counter) or from one terminal. */
  private async checkFloods(
    trx: Knex.Transaction,
    counter: CounterRef,
    memberId: number,
    settings: ProgramSettings,
    now: Date,
  ): Promise<void> {
    const since = new Date(now.getTime() - HOUR_MS);
    const row = (await trx('otps')
      .where('terminal_id', counter.terminalId)
      .where('created_at', '>', since)
      .count({ n: '*' })
      .first()) as { n: number | string } | undefined;
    if (Number(row?.n ?? 0) >= settings.otp.perTerminalPerHour) {
      throw new AppError(
        'too-many-requests',
        `This counter asked for ${settings.otp.perTerminalPerHour} OTPs in the last hour, the most allowed; ask a manager.`,
      );
    }
    await this.checkMemberFlood(trx, memberId, settings, now);
  }

  private async checkMemberFlood(
    trx: Knex.Transaction,
    memberId: number,
    settings: ProgramSettings,
    now: Date,
  ): Promise<void> {
    const sent = async (windowMs: number) => {
      const row: { n?: number | string } | undefined = await trx('sms_outbox')
        .where({ member_id: memberId, kind: 'otp' })
        .where('created_at', '>', new Date(now.getTime() - windowMs))
        .count({ n: '*' })
        .first();
      return Number(row?.n ?? 0);
    };
    if ((await sent(HOUR_MS)) >= settings.otp.perMemberPerHour) {
      throw new AppError(
        'too-many-requests',
        `This member was sent ${settings.otp.perMemberPerHour} OTPs in the last hour, the most allowed; try again later.`,
      );
    }
    if ((await sent(24 * HOUR_MS)) >= settings.otp.perMemberPerDay) {
      throw new AppError(
        'too-many-requests',
        `This member was sent ${settings.otp.perMemberPerDay} OTPs in the last 24 hours, the most allowed; try again tomorrow.`,
      );
    }
  }

  /** A new code for a redemption: its OTP SMS goes into the outbox; the caller stores the hash. */
  private async issueCode(
    trx: Knex.Transaction,
    counter: CounterRef,
    member: MemberRow,
    settings: ProgramSettings,
    now: Date,
    send: number,
    binding: OtpBinding,
  ): Promise<{ codeHash: string; expiresAt: Date; outboxId: number }> {
    const code = newOtpCode();
    const expiresAt = new Date(now.getTime() + settings.otp.ttlSeconds * 1000);
    const showroom = await this.showroomName(trx, counter);
    const row = compose(this.deps.composer, {
      kind: 'otp',
      dedupeKey: `otp:${binding.redemptionId}:${send}`,
      memberId: member.id,
      mobile: member.mobile,
      values: {
        otp: code,
        points: String(binding.points),
        rupees: rupeesText(binding.points * settings.pointValuePaise),
        bill: fitRef(binding.billNumber),
        showroom,
        minutes: String(Math.round(settings.otp.ttlSeconds / 60)),
        name: fitName(member.name),
      },
      secret: ['otp'],
      expiresAt,
      terminalId: counter.terminalId,
      redemptionId: binding.redemptionId,
    });
    if (row.status === 'refused') {
      // The OTP cannot go out at all: a configuration fault the chain's IT person must fix.
      throw new AppError('internal', `The OTP SMS cannot be sent: ${row.lastError ?? 'template'}`);
    }
    const ids = await smsStore.insertOutbox(trx, [row], now);
    return {
      codeHash: hashOtp(this.deps.otpKey, binding, code),
      expiresAt,
      outboxId: ids.get(row.dedupeKey) ?? 0,
    };
  }

  /** A notice to a member who consented to SMS; written in the same transaction as its change. */
  private async queueNotice(
    trx: Knex.Transaction,
    memberId: number,
    counter: CounterRef,
    notice: {
      kind: 'redeem';
      dedupeKey: string;
      values: Record<string, string>;
      redemptionId: number;
      now: Date;
    },
  ): Promise<void> {
    const member: MemberRow = await trx('members')
      .where('id', memberId)
      .first('id', 'mobile', 'name', 'sms_consent');
    if (!member.sms_consent) return;
    const row = compose(this.deps.composer, {
      kind: notice.kind,
      dedupeKey: notice.dedupeKey,
      memberId,
      mobile: member.mobile,
      values: {
        ...notice.values,
        name: fitName(member.name),
        showroom: await this.showroomName(trx, counter),
      },
      expiresAt: new Date(notice.now.getTime() + 24 * HOUR_MS),
      terminalId: counter.terminalId,
      redemptionId: notice.redemptionId,
    });
    await smsStore.insertOutbox(trx, [row], notice.now);
  }

  private async showroomName(q: Knex | Knex.Transaction, counter: CounterRef): Promise<string> {
    const row: { name: string } | undefined = await q('showrooms')
      .where('id', counter.showroomId)
      .first('name');
    return fitName(row?.name ?? counter.showroomCode);
  }

  private async view(
    q: Knex | Knex.Transaction,
    id: number,
    settings: ProgramSettings,
  ): Promise<RedemptionView> {
    const r: RedemptionRow & { mobile: string } = await q('redemptions')
      .join('members', 'members.id', 'redemptions.member_id')
      .where('redemptions.id', id)
      .first('redemptions.*', 'members.mobile as mobile');
    const otp = await latestOtp(q, id);
    let otpView: RedemptionView['otp'] = null;
    if (otp) {
      const sms = otp.outbox_id ? await smsStore.outboxStatus(q, otp.outbox_id) : undefined;
      const resendsLeft = Math.max(0, settings.otp.maxResends - (otp.sends - 1));
      otpView = {
        expiresAt: iso(otp.expires_at),
        delivery: deliveryOf(sms?.status),
        deliveryError: sms?.lastError ?? null,
        triesLeft: otp.state === 'live' ? Math.max(0, settings.otp.maxAttempts - otp.attempts) : 0,
        resendsLeft: otp.state === 'live' ? resendsLeft : 0,
        resendAt:
          otp.state === 'live' && resendsLeft > 0
            ? new Date(
                ms(otp.last_sent_at) + settings.otp.resendIntervalSeconds * 1000,
              ).toISOString()
            : null,
      };
    }
    return {
      id: r.id,
      memberId: r.member_id,
      maskedMobile: maskMobile(r.mobile),
      billNumber: r.bill_number,
      billAmountPaise: r.bill_amount_paise,
      points: r.points,
      valuePaise: r.value_paise,
      status: r.status,
      requestedAt: iso(r.requested_at),
      confirmedAt: r.confirmed_at === null ? null : iso(r.confirmed_at),
      cancelledAt: r.cancelled_at === null ? null : iso(r.cancelled_at),
      balanceAfter: r.balance_after,
      otp: otpView,
    };
  }
}

/** An outbox status in a cashier's words. */
export function deliveryOf(status: smsStore.OutboxStatus | undefined): OtpDelivery {
  switch (status) {
    case 'sent':
      return 'sent';
    case 'retrying':
      return 'delayed';
    case 'failed':
    case 'refused':
    case 'expired':
      return 'failed';
    case 'unknown':
      return 'unknown';
    default:
      return 'sending';
  }
}

async function findMember(
  q: Knex | Knex.Transaction,
  mobile: string,
  lock: boolean,
): Promise<MemberRow> {
  const query = q('members')
    .where('mobile', mobile)
    .first('id', 'mobile', 'name', 'balance', 'sms_consent');
  if (lock) void query.forUpdate();
  const row = (await query) as MemberRow | undefined;
  if (!row) {
    throw new AppError(
      'member-not-found',
      `No member has the mobile ${maskMobile(mobile)}; enrol the customer first.`,
    );
  }
  return row;
}

async function lockMemberById(trx: Knex.Transaction, db: Db, id: number): Promise<MemberRow> {
  const query = trx('members')
    .where('id', id)
    .first('id', 'mobile', 'name', 'balance', 'sms_consent');
  if (db.dialect === 'pg') void query.forUpdate();
  const row = (await query) as MemberRow | undefined;
  if (!row) throw new AppError('not-found', `There is no member ${id}.`);
  return row;
}

/** Central's own keys of a redemption's entries (a caller's key cannot begin like these). */
export const redeemKey = (id: number) => `${INTERNAL_KEY_PREFIX}redeem:${id}`;
export const cancelKey = (id: number) => `${INTERNAL_KEY_PREFIX}redeem-cancel:${id}`;

/** What a redemption's OTP is bound to. */
function bindingOf(r: RedemptionRow): OtpBinding {
  return {
    redemptionId: r.id,
    memberId: r.member_id,
    terminalId: r.terminal_id,
    points: r.points,
    billNumber: r.bill_number,
  };
}

async function latestOtp(
  q: Knex | Knex.Transaction,
  redemptionId: number,
): Promise<OtpRow | undefined> {
  return (await q('otps').where('redemption_id', redemptionId).orderBy('id', 'desc').first()) as
    OtpRow | undefined;
}

function parse<T>(
  schema: {
    safeParse(
      v: unknown,
    ):
      | { success: true; data: T }
      | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  raw: unknown,
  event: string,
): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issues = result.error.issues;
  throw new AppError(
    'validation',
    `${event}: ${issues.map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`).join('; ')}`,
    issues.map((i) => ({ pointer: `/${i.path.map(String).join('/')}`, message: i.message })),
  );
}

/** Two counters racing past the member lock (SQLite has none) meet the one-live-OTP index. */
function translateUniqueLive(error: unknown): never {
  const e = error as { code?: string; constraint?: string; message?: string };
  if (
    e.constraint === 'otps_one_live_per_member' ||
    (e.code === 'SQLITE_CONSTRAINT_UNIQUE' && /otps\.member_id/.test(e.message ?? ''))
  ) {
    throw new AppError(
      'otp-pending-elsewhere',
      'An OTP for this member is pending at another counter; finish or let it expire there first.',
    );
  }
  throw error;
}

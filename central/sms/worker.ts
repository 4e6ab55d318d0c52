import type { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/connect.ts';
import * as smsStore from '../db/sms-store.ts';
import type { Logger } from '../log.ts';
import { unseal } from '../secret.ts';
import type { Clock } from '../time.ts';
import type { SmsConfig } from './config.ts';
import type { SendResult, SmsProvider } from './provider.ts';
import { fitsTemplate } from './templates.ts';

/** Told to the terminal that asked for an OTP, and to anyone listening, as a message moves on. */
export interface SmsStatusEvent {
  outboxId: number;
  kind: string;
  status: smsStore.OutboxStatus;
  attempts: number;
  error: string | null;
  terminalId: string | null;
  redemptionId: number | null;
}

export interface SmsWorkerOptions {
  db: Db;
  /** The configuration and provider in use, asked afresh for every message (they may change). */
  sms: { readonly config: SmsConfig; readonly provider: SmsProvider };
  sealKey: Buffer;
  clock: Clock;
  log: Logger;
  /** 'sms:status' (SmsStatusEvent) is emitted here. */
  events: EventEmitter;
}

/**
 * Sends the SMS outbox. Each message is claimed (marked 'sending') in the database before the
 * gateway is called and settled after, so a process that dies mid-send leaves it 'sending'; the
 * next start marks such a message 'unknown' rather than risk sending it twice. Failures that
 * may pass are retried with exponential backoff and jitter; refusals fail at once.
 *
 * One round is one transaction: it settles every send that ended since the last round, closes
 * what expired (at most once a second), and claims as many due messages as there are free
 * places. Under a stream of notices that is one commit for several messages, where a settle of
 * its own and a claim for each message made two.
 */
export class SmsWorker {
  readonly workerId = `w-${randomUUID().slice(0, 8)}`;
  private readonly options: SmsWorkerOptions;
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  /** Sends under way: a place is free again once the gateway has answered. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Sends that ended, to be settled by the next round (`failed`: rounds that could not). */
  private readonly ended: Ended[] = [];

  constructor(options: SmsWorkerOptions) {
    this.options = options;
  }

  /** Starts the loop (which first marks sends abandoned by a stopped process as 'unknown'). */
  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.running = true;
    this.loop = this.run();
    return Promise.resolve();
  }

  private lastSweepMs = -Infinity;
  /** When (by the clock) messages past their expiry were last closed. */
  private lastExpiryAt = -Infinity;

  /**
   * Sends another process claimed longer ago than the lease and never settled: that process
   * stopped mid-send. Checked at start and then every quarter lease.
   */
  private async sweepAbandoned(): Promise<void> {
    const { db, clock, log } = this.options;
    const { config } = this.options.sms;
    const lease = config.worker.leaseSeconds * 1000;
    if (performance.now() - this.lastSweepMs < lease / 4) return;
    this.lastSweepMs = performance.now();
    const abandoned = await smsStore.markAbandonedSends(
      db.knex,
      new Date(clock.now().getTime() - lease),
    );
    this.announce(abandoned, 'unknown');
    if (abandoned.length > 0) {
      log.warn(
        { event: 'sms:abandoned', count: abandoned.length },
        'messages left mid-send by a stopped process are marked unknown, not sent again',
      );
    }
  }

  /** Asks the loop to look at the outbox now (a new OTP should not wait for the next poll). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    await Promise.all(this.inFlight);
    // The sends that ended after the last round; if this fails they stay 'sending', and the
    // next start marks them 'unknown' (as for a process that stopped mid-send).
    try {
      await this.round({ claim: 0, expire: false });
    } catch (error) {
      this.options.log.error(
        { event: 'sms:worker-error', err: error },
        'SMS worker could not record its last sends',
      );
    }
  }

  /**
   * Read through a method: stop() clears `running` while the loop awaits, which TypeScript's
   * narrowing from the loop condition does not see.
   */
  private isRunning(): boolean {
    return this.running;
  }

  private async run(): Promise<void> {
    const { log } = this.options;
    while (this.running) {
      let claimed = 0;
      try {
        claimed = await this.tick();
      } catch (error) {
        log.error({ event: 'sms:worker-error', err: error }, 'SMS worker failed; will try again');
      }
      if (!this.isRunning()) break;
      if (claimed === 0 && !this.woken) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.sms.config.worker.pollMs);
          this.wakeUp = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wakeUp = undefined;
      }
      this.woken = false;
    }
  }

  /**
   * One round: settle the sends that ended, expire what is too late, claim what is due and send
   * it. Returns how many messages it took (0: nothing due, the loop may sleep).
   */
  async tick(): Promise<number> {
    const { config } = this.options.sms;
    const free = config.worker.concurrency - this.inFlight.size;
    if (free <= 0 && this.ended.length === 0) {
      await Promise.race(this.inFlight);
      return 1;
    }
    await this.sweepAbandoned();
    // Closing what expired can wait up to a second (nothing expired is claimed meanwhile): under
    // a stream of notices a round comes every few messages, and each would be one more write.
    const sinceExpiry = this.options.clock.now().getTime() - this.lastExpiryAt;
    const expire = sinceExpiry >= EXPIRE_EVERY_MS || sinceExpiry < 0;
    return this.round({ claim: Math.max(0, free), expire });
  }

  /** Settles what ended, then expires and claims, in one transaction; then sends what it took. */
  private async round(options: { claim: number; expire: boolean }): Promise<number> {
    const { db, clock } = this.options;
    const ended = this.ended.splice(0);
    if (ended.length === 0 && options.claim === 0 && !options.expire) return 0;
    const now = clock.now();
    let result: {
      settled: Set<number>;
      expired: smsStore.ClosedRow[];
      claimed: smsStore.OutboxRow[];
    };
    try {
      result = await db.knex.transaction(async (trx) => {
        const inTrx = { ...db, knex: trx };
        return {
          settled: await smsStore.settleOutboxes(inTrx, this.workerId, ended.map(settleOf)),
          expired: options.expire ? await smsStore.expireOverdue(trx, now) : [],
          claimed:
            options.claim > 0
              ? await smsStore.claimDue(inTrx, now, options.claim, this.workerId)
              : [],
        };
      });
    } catch (error) {
      await this.settleEach(ended);
      throw error;
    }
    if (options.expire) this.lastExpiryAt = now.getTime();
    // The claimed messages first: they are the worker's to send whatever a listener does.
    for (const row of result.claimed) {
      const job = this.deliver(row).finally(() => this.inFlight.delete(job));
      this.inFlight.add(job);
    }
    for (const e of ended) if (result.settled.has(e.row.id)) this.settledEvent(e.row, e.outcome);
    this.announce(result.expired, 'expired');
    return result.claimed.length;
  }

  /**
   * After a failed round, each send alone, so that one the database refuses holds up neither
   * the others nor every later claim. One still refused goes back for a later round, and after
   * MAX_SETTLE_FAILURES rounds is given up (logged): it stays 'sending' until its lease runs
   * out and is then marked 'unknown'.
   */
  private async settleEach(ended: Ended[]): Promise<void> {
    const { db, log } = this.options;
    for (const e of ended) {
      try {
        const settled = await smsStore.settleOutboxes(db, this.workerId, [settleOf(e)]);
        if (settled.has(e.row.id)) this.settledEvent(e.row, e.outcome);
      } catch (error) {
        const failed = e.failed + 1;
        if (failed < MAX_SETTLE_FAILURES) this.ended.push({ ...e, failed });
        else
          log.error(
            { event: 'sms:settle-failed', id: e.row.id, status: e.outcome.status, err: error },
            'could not record how this SMS send ended; it will be marked unknown',
          );
      }
    }
  }

  private settledEvent(row: smsStore.OutboxRow, outcome: smsStore.SendOutcome): void {
    const event: SmsStatusEvent = {
      outboxId: row.id,
      kind: row.kind,
      status: outcome.status,
      attempts: row.attempts,
      error: 'error' in outcome ? outcome.error : null,
      terminalId: row.terminalId,
      redemptionId: row.redemptionId,
    };
    this.emitStatus(event);
  }

  /** A listener that throws must not stop the worker (the sends it claimed go on). */
  private emitStatus(event: SmsStatusEvent): void {
    try {
      this.options.events.emit('sms:status', event);
    } catch (error) {
      this.options.log.error(
        { event: 'sms:status-listener', id: event.outboxId, err: error },
        'a listener of SMS status events failed',
      );
    }
  }

  /** Tells the counters waiting on messages closed without a send. */
  private announce(rows: smsStore.ClosedRow[], status: 'expired' | 'unknown'): void {
    for (const r of rows) {
      const event: SmsStatusEvent = {
        outboxId: r.id,
        kind: r.kind,
        status,
        attempts: r.attempts,
        error: r.last_error,
        terminalId: r.terminal_id,
        redemptionId: r.redemption_id,
      };
      this.emitStatus(event);
    }
  }

  private async deliver(row: smsStore.OutboxRow): Promise<void> {
    const { clock, log } = this.options;
    // One configuration for the whole send, even if a new one is applied meanwhile.
    const { config, provider } = this.options.sms;
    let outcome: smsStore.SendOutcome;
    const template = config.templates[row.template];
    let message: { text: string; variables: string[] } = row;
    if (row.sealed) {
      try {
        message = JSON.parse(unseal(this.options.sealKey, row.sealed)) as typeof message;
      } catch {
        message = { text: '', variables: [] };
      }
    }
    if (!template) {
      outcome = { status: 'refused', error: `no template named ${row.template} any more` };
    } else if (!message.text || !fitsTemplate(template.text, message.text)) {
      outcome = {
        status: 'refused',
        error: `refused before sending: the text no longer fits template ${row.template} (was it changed, or OTP_SECRET?)`,
      };
    } else {
      const started = performance.now();
      let result: SendResult;
      try {
        result = await provider.send({
          outboxId: row.id,
          kind: row.kind,
          to: row.mobile,
          text: message.text,
          unicode: row.unicode,
          variables: message.variables,
          templateName: row.template,
          ...(template.providerTemplateId
            ? { providerTemplateId: template.providerTemplateId }
            : {}),
          dlt: { ...config.dlt, templateId: template.dltTemplateId },
        });
      } catch (error) {
        result = {
          ok: false,
          retryable: true,
          error: `provider threw: ${(error as Error).message}`,
        };
      }
      // A gateway may echo the message in an error: the OTP must not reach logs, the outbox
      // row or the cashier's screen.
      if (!result.ok && row.sealed)
        result = { ...result, error: redact(result.error, message, row) };
      const ms = Math.round(performance.now() - started);
      if (result.ok) {
        outcome = {
          status: 'sent',
          provider: provider.name,
          providerMessageId: result.providerMessageId,
          at: clock.now(),
        };
        log.info({ event: 'sms:sent', id: row.id, kind: row.kind, ms }, 'SMS sent');
      } else if (result.maybeSent) {
        // The gateway may have it: trying again could send it twice. The cashier (for an OTP)
        // sees 'unknown' and may resend; a notice is not repeated.
        outcome = { status: 'unknown', error: result.error };
        log.warn(
          { event: 'sms:unknown', id: row.id, kind: row.kind, error: result.error },
          'SMS outcome unknown; not sent again',
        );
      } else if (result.retryable && row.attempts < config.worker.maxAttempts) {
        const delay = backoffMs(
          row.attempts,
          config.worker.retryBaseSeconds,
          config.worker.retryMaxSeconds,
        );
        outcome = {
          status: 'retrying',
          error: result.error,
          nextAttemptAt: new Date(clock.now().getTime() + delay),
        };
        log.warn(
          { event: 'sms:retry', id: row.id, kind: row.kind, error: result.error, inMs: delay },
          'SMS will be retried',
        );
      } else {
        outcome = { status: 'failed', error: result.error };
        log.error(
          { event: 'sms:failed', id: row.id, kind: row.kind, error: result.error },
          'SMS failed',
        );
      }
    }
    // Settled by the next round, which this wakes.
    this.ended.push({ row, outcome, failed: 0 });
    this.wake();
  }
}

/** A send that ended, waiting for a round to record it. */
interface Ended {
  row: smsStore.OutboxRow;
  outcome: smsStore.SendOutcome;
  /** Rounds that could not record it. */
  failed: number;
}

const settleOf = (e: Ended) => ({ id: e.row.id, outcome: e.outcome });

/** Rounds in which a send's ending could not be recorded before it is given up. */
export const MAX_SETTLE_FAILURES = 3;

/** How often, at most, a worker closes the messages that expired unsent. */
export const EXPIRE_EVERY_MS = 1_000;

/** Exponential backoff with ±20 % jitter: base, 2×base, 4×base … up to max seconds. */
export function backoffMs(attempt: number, baseSeconds: number, maxSeconds: number): number {
  const exp = Math.min(maxSeconds, baseSeconds * 2 ** Math.max(0, attempt - 1)) * 1000;
  return Math.round(exp * (0.8 + Math.random() * 0.4));
}

/** Replaces in `text` every value the stored row shows masked (the OTP) with the mask. */
export function redact(
  text: string,
  sent: { text: string; variables: string[] },
  stored: { variables: string[] },
): string {
  let out = text;
  sent.variables.forEach((value, i) => {
    const shown = stored.variables[i];
    if (shown !== undefined && shown !== value && value.length > 0)
      out = out.split(value).join(shown);
  });
  return out;
}

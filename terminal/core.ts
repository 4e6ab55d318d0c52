import { EventEmitter } from 'node:events';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { EnrolRequest, SaleRequest } from '../shared/protocol/api.ts';
import { normaliseMobile } from '../shared/mobile.ts';
import { earnForSale, rateAt } from '../shared/points/earn.ts';
import { LEDGER_EVENTS, LedgerStatement } from '../shared/protocol/ledger.ts';
import { verifySecret } from '../shared/secret-hash.ts';
import { loadCredentials, type Credentials } from './credentials.ts';
import { TerminalStore, type MemberView, type OutboxRow } from './store.ts';
import { RequestError, SyncClient, type LinkState, type SyncClientOptions } from './sync-client.ts';
import {
  QuoteResponse,
  REDEEM_EVENTS,
  RedemptionOutcome,
  RedemptionView,
} from '../shared/protocol/redeem.ts';
import pkg from '../package.json' with { type: 'json' };

/** A refusal at the counter: the cashier reads `message`; nothing was queued. */
export class CounterError extends Error {
  readonly code: string;
  /** An HTTP status when the refusal came with one (central's, or the local server's own). */
  readonly status: number | undefined;
  constructor(code: string, message: string, status?: number) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export const CACHE_FILE = 'cache.sqlite';

/** A staff member who may sign in at this counter (from the rules central replicates). */
export interface StaffView {
  id: number;
  username: string;
  name: string;
  role: 'cashier' | 'manager' | 'admin';
}

/** A sale as the counter takes it: the terminal fills in showroom, terminal and time. */
export const CounterSale = z.object({
  billNumber: z.string(),
  mobile: z.string(),
  lines: z.array(
    z.object({
      sku: z.string(),
      categoryCode: z.string(),
      quantity: z.int(),
      amountPaise: z.int(),
    }),
  ),
  /** Idempotency key; a new one is made when absent. */
  key: z.string().optional(),
});
export type CounterSale = z.infer<typeof CounterSale>;

export type CounterEnrolment = Omit<z.input<typeof EnrolRequest>, 'showroomCode'> & {
  key?: string;
};

/** What the status bar shows. */
export interface TerminalStatus {
  terminalId: string;
  showroomCode: string;
  link: LinkState;
  /** When the running terminal last recorded a change of link (for the status command). */
  linkSince: string | null;
  refusal: string | null;
  lastSyncAt: string | null;
  pending: number;
  refused: number;
  cursor: number;
  centralHead: number;
  members: number;
  clockOffsetMs: number;
}

export interface TerminalCoreOptions {
  dataDir: string;
  credentials?: Credentials;
  sync?: Partial<Omit<SyncClientOptions, 'store' | 'credentials' | 'appVersion'>>;
}

/**
 * The counter's engine without any UI: the cache, the outbox and the link to central. A sale
 * or an enrolment is committed to the local outbox before it is confirmed, so it survives a
 * crash or a dead network, and is sent to central in order when the link is up.
 */
export class TerminalCore extends EventEmitter {
  readonly store: TerminalStore;
  readonly sync: SyncClient;
  readonly credentials: Credentials;

  constructor(options: TerminalCoreOptions) {
    super();
    this.credentials = options.credentials ?? loadCredentials(options.dataDir);
    this.store = new TerminalStore(path.join(options.dataDir, CACHE_FILE));
    this.sync = new SyncClient({
      store: this.store,
      credentials: this.credentials,
      appVersion: pkg.version,
      ...options.sync,
    });
    this.sync.on('status', () => {
      this.recordLink();
      this.emit('status');
    });
    this.sync.on('refused', (r: unknown) => this.emit('refused', r));
    this.sync.on('applied', (c: unknown) => this.emit('applied', c));
    this.sync.on('rules', (version: unknown) => this.emit('rules', version));
    this.sync.on('catalogue', (version: unknown) => this.emit('catalogue', version));
    this.sync.on('redeem:sms', (p: unknown) => this.emit('redeem:sms', p));
  }

  start(): this {
    this.started = true;
    this.sync.start();
    return this;
  }

  async stop(): Promise<void> {
    await this.sync.stop();
    this.recordLink();
    this.store.close();
  }

  private started = false;
  private lastLink: string | undefined;

  /** Keeps the link's state in the cache, so that `npm run terminal -- status` can show it. */
  private recordLink(): void {
    const { link, refusal } = this.sync.state;
    if (!this.started || link === this.lastLink || !this.store.db.open) return;
    this.lastLink = link;
    this.store.setMeta(
      'link',
      JSON.stringify({ link, refusal: refusal?.message ?? null, at: new Date().toISOString() }),
    );
  }

  /**
   * Takes a sale: checks it, computes the points it will earn, commits it to the outbox and
   * returns. The points show as pending until central has applied the sale.
   */
  recordSale(input: CounterSale): {
    key: string;
    pendingPoints: number;
    member: MemberView;
    /** True when this bill had been taken before: nothing new was queued. */
    repeated?: boolean;
  } {
    const member = this.store.findByMobile(this.mobileOf(input.mobile));
    // The member's own number: for a record merged into another member, that member's.
    const mobile = member?.mobile;
    if (!member || mobile === undefined) {
      throw new CounterError(
        'not-a-member',
        'No member has this mobile number; enrol the customer first.',
      );
    }
    const rules = this.store.rules;
    if (!rules) {
      throw new CounterError(
        'no-rules',
        'This counter has not received the earn rates from central yet; connect it once.',
      );
    }
    const soldAt = this.sync.centralNow();
    const body = {
      showroomCode: this.credentials.showroomCode,
      terminalId: this.credentials.terminalId,
      billNumber: input.billNumber,
      soldAt: soldAt.toISOString(),
      mobile,
      lines: input.lines,
    };
    const parsed = SaleRequest.safeParse(body);
    if (!parsed.success) throw validationError(parsed.error);
    const earning = earnForSale(parsed.data.lines, rules.rates, soldAt);
    if (!earning.ok) {
      throw new CounterError(
        'unknown-category',
        `No earn rate for ${earning.unknownCategories.join(', ')}; check the item's category.`,
      );
    }
    // The same bill again is the same sale (a double press, a retry after a lost answer).
    const taken = this.store.bill(input.billNumber);
    if (taken) {
      if (taken.mobile === mobile && taken.lines === JSON.stringify(parsed.data.lines)) {
        return { key: taken.key, pendingPoints: taken.points, member, repeated: true };
      }
      throw new CounterError(
        'bill-taken',
        `Bill ${input.billNumber} was already recorded at this counter with other items or another member; use a new bill number.`,
      );
    }
    const key = input.key ?? `${this.credentials.terminalId}-${randomUUID()}`;
    this.enqueue({
      key,
      kind: 'sale',
      body,
      mobile,
      pendingPoints: earning.points,
      bill: { billNumber: input.billNumber, lines: parsed.data.lines },
    });
    return {
      key,
      pendingPoints: earning.points,
      member: this.store.findByMobile(mobile) ?? member,
    };
  }

  /** Enrols a customer: an existing member is returned as is; a new one is queued for central. */
  enrol(input: CounterEnrolment): { key: string | null; member: MemberView; created: boolean } {
    const mobile = this.mobileOf(input.mobile);
    const existing = this.store.findByMobile(mobile);
    if (existing) return { key: null, member: existing, created: false };
    const { key: givenKey, ...fields } = input;
    const body = { ...fields, mobile, showroomCode: this.credentials.showroomCode };
    const parsed = EnrolRequest.safeParse(body);
    if (!parsed.success) throw validationError(parsed.error);
    const key = givenKey ?? `${this.credentials.terminalId}-${randomUUID()}`;
    this.enqueue({ key, kind: 'enrol', body, mobile, pendingPoints: 0 });
    const member = this.store.findByMobile(mobile);
    if (!member) throw new Error('an enrolment just queued is not found');
    return { key, member, created: true };
  }

  findByMobile(typed: string): MemberView | undefined {
    return this.store.findByMobile(this.mobileOf(typed));
  }

  /** Type-ahead from the cache: digits match the end of the mobile; anything else a name. */
  suggest(typed: string, limit = 10): MemberView[] {
    const text = typed.trim();
    if (/^[\d\s+-]+$/.test(text))
      return this.store.findByLastDigits(text.replace(/\D/g, ''), limit);
    return this.store.findByNamePrefix(text, limit);
  }

  outbox(): OutboxRow[] {
    return this.store.outbox();
  }

  status(): TerminalStatus {
    const sync = this.sync.state;
    const counts = this.store.outboxCounts();
    // A core that is not running (the status command) reports what the running one recorded.
    const recorded = this.started
      ? undefined
      : (JSON.parse(this.store.getMeta('link') ?? 'null') as {
          link: LinkState;
          refusal: string | null;
          at: string;
        } | null);
    return {
      terminalId: this.credentials.terminalId,
      showroomCode: this.credentials.showroomCode,
      link: recorded?.link ?? sync.link,
      linkSince: recorded?.at ?? null,
      refusal: recorded ? recorded.refusal : (sync.refusal?.message ?? null),
      lastSyncAt: this.store.getMeta('lastSyncAt') ?? null,
      pending: counts.queued,
      refused: counts.refused,
      cursor: this.store.cursor,
      centralHead: sync.centralHead,
      members: this.store.memberCount(),
      clockOffsetMs: sync.clockOffsetMs,
    };
  }

  // --- staff, catalogue and showroom: from the replicated rules, offline -----------------------

  /** Who may sign in at this counter, by name: its showroom's staff and chain-wide managers. */
  staff(): StaffView[] {
    return (this.store.rules?.staff ?? [])
      .map(({ id, username, name, role }) => ({ id, username, name, role }))
      .sort((a, b) => a.name.localeCompare(b.name) || a.username.localeCompare(b.username));
  }

  /**
   * The staff member if the PIN is theirs (scrypt, as central hashed it; tens of milliseconds,
   * off the main thread). Unknown, removed or deactivated staff are not in the rules: undefined.
   */
  async verifyPin(username: string, pin: string): Promise<StaffView | undefined> {
    const staff = this.store.rules?.staff.find((s) => s.username === username);
    if (!staff || !(await verifySecret(pin, staff.pinHash))) return undefined;
    return { id: staff.id, username: staff.username, name: staff.name, role: staff.role };
  }

  /** The catalogue's product with this SKU or barcode, with its category's code. */
  product(sku: string): { sku: string; name: string; categoryCode: string } | undefined {
    return this.store.product(sku);
  }

  /** The categories that earn now (central's clock), each with the rate in force. */
  categories(): { code: string; name: string; pointsPer100Rupees: number }[] {
    const rules = this.store.rules;
    if (!rules) return [];
    const now = this.sync.centralNow();
    return rules.categories.flatMap((c) => {
      const rate = rateAt(rules.rates, c.code, now);
      return rate === undefined ? [] : [{ code: c.code, name: c.name, pointsPer100Rupees: rate }];
    });
  }

  /** This counter's showroom, with the chain's name and a point's value (for slips). */
  showroom():
    | { code: string; name: string; city: string; chainName: string; pointValuePaise: number }
    | undefined {
    const rules = this.store.rules;
    const showroom = rules?.showrooms.find((s) => s.code === this.credentials.showroomCode);
    if (!rules || !showroom) return undefined;
    return {
      ...showroom,
      chainName: rules.chainName,
      pointValuePaise: rules.pointValuePaise,
    };
  }

  /**
   * A member's statement for inclusive dates (YYYY-MM-DD, the chain's time zone), from central:
   * online only (CounterError 'offline' otherwise).
   */
  async ledgerStatement(input: {
    mobile: string;
    from: string;
    to: string;
  }): Promise<LedgerStatement> {
    const request = { ...input, mobile: this.memberMobileOf(input.mobile) };
    try {
      return LedgerStatement.parse(await this.ask(LEDGER_EVENTS.statement, request));
    } catch (error) {
      if (error instanceof CounterError && error.code === 'offline') {
        throw new CounterError(
          'offline',
          'The ledger statement comes from the central server, which this counter cannot reach now; try again when it is back.',
        );
      }
      throw error;
    }
  }

  // --- redemption: needs central; the answer's member state is applied at once -----------------

  /** What the member may redeem on this bill (central's figures: the balance there is the truth). */
  async quoteRedemption(input: {
    mobile: string;
    billNumber: string;
    billAmountPaise: number;
  }): Promise<QuoteResponse> {
    return QuoteResponse.parse(
      await this.ask(REDEEM_EVENTS.quote, { ...input, mobile: this.memberMobileOf(input.mobile) }),
    );
  }

  /** Asks central to send the member an OTP for `points` on this bill. */
  async requestRedemption(input: {
    mobile: string;
    billNumber: string;
    billAmountPaise: number;
    points: number;
  }): Promise<RedemptionView> {
    return RedemptionView.parse(
      await this.ask(REDEEM_EVENTS.request, {
        ...input,
        mobile: this.memberMobileOf(input.mobile),
      }),
    );
  }

  /** A new OTP for the same redemption, within central's resend limits. */
  async resendOtp(redemptionId: number): Promise<RedemptionView> {
    return RedemptionView.parse(await this.ask(REDEEM_EVENTS.resend, { redemptionId }));
  }

  /** Redeems with the OTP the member read out; the new balance is in the cache on return. */
  async confirmRedemption(redemptionId: number, otp: string): Promise<RedemptionView> {
    const outcome = RedemptionOutcome.parse(
      await this.ask(REDEEM_EVENTS.confirm, { redemptionId, otp: otp.replace(/\s/g, '') }),
    );
    if (outcome.state) this.store.applyState(outcome.state);
    this.emit('status');
    return outcome.redemption;
  }

  /** Gives the points back while the bill is open. */
  async cancelRedemption(redemptionId: number, reason?: string): Promise<RedemptionView> {
    const outcome = RedemptionOutcome.parse(
      await this.ask(REDEEM_EVENTS.cancel, { redemptionId, ...(reason ? { reason } : {}) }),
    );
    if (outcome.state) this.store.applyState(outcome.state);
    this.emit('status');
    return outcome.redemption;
  }

  /** Where a redemption stands, with its OTP's SMS delivery. */
  async redemptionStatus(redemptionId: number): Promise<RedemptionView> {
    return RedemptionView.parse(await this.ask(REDEEM_EVENTS.status, { redemptionId }));
  }

  private async ask(event: string, payload: unknown): Promise<unknown> {
    try {
      return await this.sync.request(event, payload);
    } catch (error) {
      if (error instanceof RequestError) {
        throw new CounterError(error.code, error.message, error.status);
      }
      throw error;
    }
  }

  private enqueue(item: {
    key: string;
    kind: 'sale' | 'enrol';
    body: unknown;
    mobile: string;
    pendingPoints: number;
    bill?: { billNumber: string; lines: unknown };
  }): void {
    if (this.store.outboxItem(item.key)) {
      throw new CounterError('duplicate-key', `This counter already took ${item.key}.`);
    }
    this.store.enqueue({ ...item, createdAt: new Date().toISOString() });
    this.emit('status');
    this.sync.kick();
  }

  /** A typed mobile as central knows its member: a merged record's is its member's number. */
  private memberMobileOf(typed: string): string {
    const e164 = this.mobileOf(typed);
    return this.store.findByMobile(e164)?.mobile ?? e164;
  }

  private mobileOf(typed: string): string {
    const result = normaliseMobile(typed);
    if (!result.ok) throw new CounterError('bad-mobile', result.message);
    return result.e164;
  }
}

function validationError(error: z.ZodError): CounterError {
  const issue = error.issues[0];
  const where = issue?.path.join('.') ?? '';
  return new CounterError(
    'validation',
    `${where ? `${where}: ` : ''}${issue?.message ?? 'invalid'}`,
  );
}

import { EventEmitter } from 'node:events';
import { CounterError, type TerminalCore } from '../core.ts';
import type { MemberView } from '../store.ts';
import { maskMobile } from '../../shared/mobile.ts';
import { earnForSale } from '../../shared/points/earn.ts';
import { classifyCode } from '../devices/scanner/codes.ts';
import {
  describeLedgerStatement,
  describeMemberCard,
  describePointSlip,
  describeSaleSlip,
  type DocumentKind,
  type MemberOnSlip,
  type SlipHeader,
} from '../devices/printer/documents.ts';
import type { CounterDevices } from './devices.ts';
import type {
  LedgerView,
  MemberCard,
  PrintOutcome,
  Product,
  SaleDone,
  SaleLine,
  SalePreview,
  ScanResult,
  StaffView,
  StatusView,
} from './contract.ts';
import type { RedemptionView } from '../../shared/protocol/redeem.ts';

/** How long a completed sale waits for central's acknowledgement before answering 'queued'. */
const APPLY_WAIT_MS = 1_500;

/** A member as the counter's screens and the POS API show them. */
export function toMemberCard(view: MemberView): MemberCard {
  return {
    id: view.id,
    mobile: view.mobile,
    maskedMobile: maskMobile(view.mobile),
    name: view.name,
    balance: view.balance,
    pendingPoints: view.pendingPoints,
    tier: view.tier,
    smsConsent: view.smsConsent,
    lastVisitAt: view.lastVisitAt,
    isPending: view.id === null,
  };
}

/**
 * What a cashier (through the UI) or the billing software (through the POS API) can do at this
 * counter: the terminal core's operations plus the printer, in the shapes of contract.ts.
 */
export class Counter extends EventEmitter {
  readonly core: TerminalCore;
  readonly devices: CounterDevices;
  private readonly now: () => Date;

  constructor(core: TerminalCore, devices: CounterDevices, options: { now?: () => Date } = {}) {
    super();
    this.core = core;
    this.devices = devices;
    this.now = options.now ?? (() => new Date());
  }

  status(staff: StaffView | null): StatusView {
    const status = this.core.status();
    const showroom = this.core.showroom();
    return {
      terminalId: status.terminalId,
      showroomCode: status.showroomCode,
      showroomName: showroom?.name ?? status.showroomCode,
      chainName: showroom?.chainName ?? 'Showroom Loyalty',
      link: status.link,
      linkMessage: status.refusal,
      lastSyncAt: status.lastSyncAt,
      pending: status.pending,
      refused: status.refused,
      members: status.members,
      pointValuePaise: showroom?.pointValuePaise ?? 0,
      printer: this.devices.printerStatus(),
      scanners: this.devices.scannerStates(),
      staff,
    };
  }

  member(mobile: string): MemberCard {
    const view = this.core.findByMobile(mobile);
    if (!view) {
      throw new CounterError('not-found', 'No member has this mobile number; enrol the customer.');
    }
    return toMemberCard(view);
  }

  suggest(text: string): MemberCard[] {
    return text.trim() === '' ? [] : this.core.suggest(text, 10).map(toMemberCard);
  }

  enrol(input: {
    mobile: string;
    name: string;
    birthday?: string | undefined;
    anniversary?: string | undefined;
    smsConsent: boolean;
  }): { member: MemberCard; created: boolean } {
    const result = this.core.enrol({
      mobile: input.mobile,
      name: input.name,
      smsConsent: input.smsConsent,
      ...(input.birthday ? { birthday: input.birthday } : {}),
      ...(input.anniversary ? { anniversary: input.anniversary } : {}),
    });
    return { member: toMemberCard(result.member), created: result.created };
  }

  /** Tells the screens that a member's balance changed (by central's id). */
  memberChanged(memberId: number): void {
    const view = this.core.store.findById(memberId);
    if (view) this.emit('member', view.mobile);
  }

  product(sku: string): Product | undefined {
    const product = this.core.product(sku);
    if (!product) return undefined;
    const category = this.core.categories().find((c) => c.code === product.categoryCode);
    return { ...product, categoryName: category?.name ?? product.categoryCode };
  }

  /** Resolves a scanned code: a member card or mobile opens the member, a barcode a product. */
  scan(text: string): ScanResult {
    const code = classifyCode(text);
    switch (code.kind) {
      case 'member-card': {
        const view = this.core.store.findById(code.memberId);
        if (!view || !view.mobile.endsWith(code.mobileLast4)) {
          return {
            kind: 'unknown',
            text,
            message:
              'This member card is not known at this counter; look the member up by mobile number.',
          };
        }
        return { kind: 'member', member: toMemberCard(view) };
      }
      case 'member-mobile': {
        const view = this.core.findByMobile(code.mobile);
        return view
          ? { kind: 'member', member: toMemberCard(view) }
          : { kind: 'unknown', text, message: 'No member has this mobile number; enrol them.' };
      }
      case 'product': {
        const product = this.product(code.sku);
        return product
          ? { kind: 'product', product }
          : {
              kind: 'unknown',
              text,
              message: `Item ${code.sku} is not in the catalogue; add it by category and amount.`,
            };
      }
      case 'unknown':
        return { kind: 'unknown', text, message: code.reason };
    }
  }

  preview(lines: SaleLine[]): SalePreview {
    const rules = this.core.store.rules;
    const billAmountPaise = lines.reduce((sum, line) => sum + line.amountPaise, 0);
    if (!rules) return { points: 0, linePoints: lines.map(() => 0), billAmountPaise };
    const earning = earnForSale(lines, rules.rates, this.core.sync.centralNow());
    if (!earning.ok) {
      throw new CounterError(
        'unknown-category',
        `No earn rate for ${earning.unknownCategories.join(', ')}; check the item's category.`,
      );
    }
    return {
      points: earning.points,
      linePoints: earning.lines.map((line) => line.points),
      billAmountPaise,
    };
  }

  /** The bill number the UI proposes next: this counter, today, a running number. */
  nextBillNumber(): string {
    const day = this.today();
    const state = this.billSeq();
    const n = state.day === day ? state.n + 1 : 1;
    return `${this.billPrefix()}-${day.replace(/-/g, '').slice(2)}-${String(n).padStart(4, '0')}`;
  }

  /**
   * Takes a sale: queued durably first, then (if central answers quickly) confirmed; the slip is
   * printed after the sale is safe, and a printer problem never undoes it. The same bill from
   * this counter again is the same sale: a retry returns it instead of earning twice.
   */
  async completeSale(input: {
    billNumber: string;
    mobile: string;
    lines: SaleLine[];
    redemptionId?: number | undefined;
    shouldPrint: boolean;
  }): Promise<SaleDone> {
    const proposed = this.nextBillNumber();
    const taken = this.core.recordSale({
      billNumber: input.billNumber,
      mobile: input.mobile,
      lines: input.lines,
    });
    const { key, pendingPoints } = taken;
    if (!taken.repeated && input.billNumber === proposed) this.advanceBillSeq();
    const applied = await this.waitApplied(key);
    const member = this.member(input.mobile);
    let redemption: RedemptionView | undefined;
    if (input.redemptionId !== undefined && this.core.status().link === 'online') {
      redemption = await this.core.redemptionStatus(input.redemptionId).catch(() => undefined);
    }
    let print: PrintOutcome | null = null;
    if (input.shouldPrint && this.devices.printer) {
      const view = this.core.findByMobile(input.mobile);
      print = await this.devices.print(
        describeSaleSlip(
          {
            ...this.slipHeader(),
            billNumber: input.billNumber,
            at: this.now(),
            member: this.slipMember(member),
            billAmountPaise: input.lines.reduce((sum, l) => sum + l.amountPaise, 0),
            pointsEarned: pendingPoints,
            pointsRedeemed: redemption?.status === 'confirmed' ? redemption.points : 0,
            ...(redemption?.status === 'confirmed'
              ? { redeemedValuePaise: redemption.valuePaise }
              : {}),
            newBalance: (view?.balance ?? member.balance) + (view?.pendingPoints ?? 0),
            pendingPoints: view?.pendingPoints ?? 0,
          },
          this.devices.printer.profile,
        ),
      );
    }
    this.emit('member', member.mobile);
    return {
      key,
      billNumber: input.billNumber,
      pendingPoints,
      member,
      delivery: applied ? 'applied' : 'queued',
      print,
      nextBillNumber: this.nextBillNumber(),
    };
  }

  async ledger(mobile: string, from: string, to: string): Promise<LedgerView> {
    if (to < from) {
      throw new CounterError('validation', 'The end date is before the start date.');
    }
    const statement = await this.core.ledgerStatement({ mobile, from, to });
    const local = this.core.findByMobile(statement.member.mobile);
    const member: MemberCard = local
      ? toMemberCard(local)
      : {
          id: statement.member.id,
          mobile: statement.member.mobile,
          maskedMobile: maskMobile(statement.member.mobile),
          name: statement.member.name,
          balance: statement.member.balance,
          pendingPoints: 0,
          tier: 'base',
          smsConsent: false,
          lastVisitAt: null,
          isPending: false,
        };
    return {
      member,
      from: statement.from,
      to: statement.to,
      openingBalance: statement.openingBalance,
      closingBalance: statement.closingBalance,
      entries: statement.entries,
      truncated: statement.truncated,
    };
  }

  async printPointSlip(mobile: string): Promise<PrintOutcome> {
    const member = this.member(mobile);
    const pointValuePaise = this.core.showroom()?.pointValuePaise;
    return this.print(
      describePointSlip(
        {
          ...this.slipHeader(),
          at: this.now(),
          member: this.slipMember(member),
          balance: member.balance,
          pendingPoints: member.pendingPoints,
          ...(pointValuePaise === undefined
            ? {}
            : { balanceValuePaise: member.balance * pointValuePaise }),
        },
        this.profile(),
      ),
    );
  }

  async printMemberCard(mobile: string): Promise<PrintOutcome> {
    const member = this.member(mobile);
    if (member.id === null) {
      throw new CounterError(
        'not-yet-confirmed',
        'The card can be printed once central has confirmed this enrolment; the counter is offline.',
      );
    }
    return this.print(
      describeMemberCard(
        {
          chainName: this.slipHeader().chainName,
          member: this.slipMember(member),
          issuedAt: this.now(),
        },
        this.profile(),
      ),
    );
  }

  /** The member's ledger for a date range, on paper; the caller has checked the manager role. */
  async printLedger(
    mobile: string,
    from: string,
    to: string,
    printedBy: StaffView,
  ): Promise<PrintOutcome> {
    const ledger = await this.ledger(mobile, from, to);
    return this.print(
      describeLedgerStatement(
        {
          ...this.slipHeader(),
          member: this.slipMember(ledger.member),
          from: ledger.from,
          to: ledger.to,
          openingBalance: ledger.openingBalance,
          entries: ledger.entries.map((entry) => ({
            at: new Date(entry.at),
            kind: entry.kind,
            showroomCode: entry.showroomCode,
            points: entry.points,
            balanceAfter: entry.balanceAfter,
          })),
          printedBy: `${printedBy.name} (${printedBy.role})`,
          printedAt: this.now(),
        },
        this.profile(),
      ),
    );
  }

  reprint(kind: DocumentKind): Promise<PrintOutcome> {
    return this.devices.reprint(kind);
  }

  private print(document: Parameters<CounterDevices['print']>[0]): Promise<PrintOutcome> {
    if (!this.devices.printer) {
      throw new CounterError('no-printer', 'No receipt printer is set up for this counter.');
    }
    return this.devices.print(document);
  }

  private profile(): NonNullable<CounterDevices['printer']>['profile'] {
    return this.devices.printer?.profile ?? { widthChars: 48, canPrintDevanagari: false };
  }

  private slipHeader(): SlipHeader {
    const showroom = this.core.showroom();
    return {
      chainName: showroom?.chainName ?? 'Showroom Loyalty',
      showroomName: showroom?.name ?? this.core.credentials.showroomCode,
      showroomCode: this.core.credentials.showroomCode,
    };
  }

  private slipMember(member: MemberCard): MemberOnSlip {
    return { id: member.id ?? 0, name: member.name, mobileE164: member.mobile };
  }

  /** Waits briefly for central to take the sale, so an online cashier sees it confirmed. */
  private async waitApplied(key: string): Promise<boolean> {
    const isApplied = (): boolean => !this.core.store.outboxItem(key);
    const deadline = Date.now() + APPLY_WAIT_MS;
    // A point query on the outbox every few milliseconds: cheap, and independent of which
    // event the sync client emits around the item's removal.
    while (!isApplied()) {
      if (this.core.status().link !== 'online' || Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return true;
  }

  private today(): string {
    // Bill numbers follow the calendar day in India, whatever the machine's zone.
    return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Kolkata' }).format(this.now());
  }

  private billPrefix(): string {
    const id = this.core.credentials.terminalId.replace(/[^A-Za-z0-9]/g, '');
    return `${this.core.credentials.showroomCode.replace(/[^A-Za-z0-9]/g, '')}-${id.slice(-4).toUpperCase()}`;
  }

  private billSeq(): { day: string; n: number } {
    const raw = this.core.store.getMeta('billSeq');
    return raw ? (JSON.parse(raw) as { day: string; n: number }) : { day: '', n: 0 };
  }

  private advanceBillSeq(): void {
    const day = this.today();
    const state = this.billSeq();
    const n = state.day === day ? state.n + 1 : 1;
    this.core.store.setMeta('billSeq', JSON.stringify({ day, n }));
  }
}

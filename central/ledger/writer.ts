import type { MemberState } from '../../shared/protocol/sync.ts';
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { earnForSale, reverseLine, type EarnRate } from '../../shared/points/earn.ts';
import type {
  AdjustRequest,
  EnrolRequest,
  LedgerEntryView,
  Member,
  ReturnRequest,
  SaleRequest,
  SaleResult,
  ReturnResult,
  StaffRole,
} from '../../shared/protocol/api.ts';
import { AppError } from '../errors.ts';
import { fromDbTime, type Db } from '../db/connect.ts';
import * as store from '../db/ledger-store.ts';
import { foldedTransaction, StatementBatch, type Later } from '../db/statement-batch.ts';
import type { Clock } from '../time.ts';
import { GroupCommitter } from './group-commit.ts';

/** Who asks for a write: a signed-in staff member, at their showroom. */
export interface Actor {
  /** The signed-in staff member; null for a write replayed from a terminal's outbox. */
  staffId: number | null;
  role: StaffRole;
  showroomId: number | null;
  /** Set when the write comes from a paired terminal; overrides any terminal id in the body. */
  terminalId?: string;
}

/** A change to the ledger or to a member's replicated state. */
export type WriteCommand =
  | { kind: 'sale'; key: string; requestHash: string; sale: SaleRequest; actor: Actor }
  | {
      kind: 'return';
      key: string;
      requestHash: string;
      saleId: number;
      request: ReturnRequest;
      actor: Actor;
    }
  | {
      kind: 'adjust';
      key: string;
      requestHash: string;
      memberId: number;
      request: AdjustRequest;
      actor: Actor;
      /** Runs in the adjustment's transaction once its entry is written (its audit row). */
      onWritten?: (trx: Knex.Transaction, written: AdjustWritten) => Promise<void>;
    }
  | { kind: 'enrol'; request: EnrolRequest; actor: Actor }
  | MemberOp;

/** An adjustment as written: the member's balance around it and its entry. */
export interface AdjustWritten {
  memberId: number;
  balanceBefore: number;
  balanceAfter: number;
  entry: LedgerEntryView;
}

/**
 * A keyed operation on one member's points written by another module (redemption, wishes): it
 * runs inside the batch's transaction with the member locked and sees the running balance; the
 * writer appends its entries, stamps the member and records its answer under its key.
 */
export interface MemberOp {
  kind: 'member-op';
  /** Name of the operation, recorded with its key (e.g. 'redeem', 'redeem-cancel', 'wish'). */
  operation: string;
  key: string;
  requestHash: string;
  memberId: number;
  /** Other members the operation reads or changes (a merge's source), locked with it. */
  alsoLock?: number[];
  actor: Actor;
  /** Decides and writes the operation's own rows; throws an AppError to refuse (its own
   * writes before the throw still commit: a wrong OTP's count of tries must stick). */
  run(ctx: MemberOpContext): Promise<{ status: number; body: unknown }>;
}

/** What a member operation sees and may do inside the writer's transaction. */
export interface MemberOpContext {
  trx: Knex.Transaction;
  db: Db;
  now: Date;
  /** The operation's member; for a record merged into another, that other member. */
  member: OpMember;
  /** Another member locked for this operation (see MemberOp.alsoLock), as it stands now. */
  other(id: number): OpMember | undefined;
  /**
   * Appends a ledger entry once the operation succeeds (to the operation's member, or to
   * `memberId`, one it locked); returns that member's balance after it. `refersToKey` names an
   * entry posted earlier in the same operation, whose id the new entry then refers to.
   */
  post(entry: {
    kind: store.NewEntryRow['kind'];
    points: number;
    key: string;
    memberId?: number;
    refersToEntryId?: number | null;
    refersToKey?: string;
    showroomId: number | null;
    terminalId: string | null;
    reason: string | null;
  }): number;
  /** Records `sourceIds` as merged into `targetId` (all locked); terminals get their new states. */
  mergeInto(sourceIds: number[], targetId: number): Promise<void>;
  /** Gives the operation's member a new mobile; terminals get the new state. */
  changeMobile(mobile: string): Promise<void>;
}

/** A locked member as a member operation sees it. */
export interface OpMember {
  readonly id: number;
  readonly mobile: string;
  readonly balance: number;
  readonly mergedIntoId: number | null;
}

/** A sale that earned points in a committed batch, for notices written in the same transaction. */
export interface EarnedEvent {
  key: string;
  memberId: number;
  mobile: string;
  name: string;
  smsConsent: boolean;
  points: number;
  balanceAfter: number;
  billNumber: string;
  showroomId: number;
}

/** A write's answer: the HTTP status and body, and whether it replays an earlier answer. */
export interface WriteOutcome {
  status: number;
  body: unknown;
  replayed: boolean;
  /** The member's replicated state as this commit stamped it (absent for a replay). */
  state?: MemberState;
}

/** Stable hash of a request, so a key reused for a different request is caught. */
export function hashRequest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export interface WriterOptions {
  db: Db;
  clock: Clock;
  maxBatch: number;
  /** Batches written at once; SQLite has one writer, so 1 there. */
  maxInFlight: number;
  /** Commands waiting before a batch starts beside a running one (GroupCommitter's). */
  parallelFrom?: number;
  saleMaxAgeDays: number;
  clockSkewSeconds: number;
  onBatch?: (size: number, ms: number) => void;
  /** Called after each commit that changed members, with what it stamped. */
  onCommitted?: (stamp: store.Stamp) => void;
  /**
   * Runs inside each transaction after its change numbers are taken, just before COMMIT; tests
   * use it to delay commits and show that a cursor still cannot pass a change committed late.
   */
  beforeCommit?: () => Promise<void>;
  /** Runs in each transaction once its entries are written, with the sales that earned points
   * (the SMS notices are written here, so a notice exists exactly when its sale does). */
  inTransaction?: (
    trx: Knex.Transaction,
    events: { now: Date; earned: EarnedEvent[] },
    batch?: StatementBatch,
  ) => Promise<void>;
  /**
   * Keeps the report rollups in each transaction, so they always match the committed ledger:
   * runs before the members are stamped (rows only this batch's locked members touch) and
   * returns what to run after the stamp (rows every batch touches, written while the
   * change-sequence row lock already orders the batches: short, and no new contention).
   */
  rollups?: (
    trx: Knex.Transaction,
    facts: BatchFacts,
    pipe?: RollupPipe,
  ) => Promise<(stamped: boolean) => Promise<void>>;
  /**
   * Reads the rollups' histories of the members `memberIds` selects, in the statement batch
   * that locks them (a sales batch on PostgreSQL); its value goes back to `rollups` in the pipe.
   */
  rollupHistory?: (batch: StatementBatch, memberIds: Knex.QueryBuilder) => Later<unknown>;
}

/**
 * A sales batch's writes on PostgreSQL, sent together (see StatementBatch): the rollups add
 * theirs to `writes`; `history` is what rollupHistory read for `memberIds`.
 */
export interface RollupPipe {
  writes: StatementBatch;
  history?: { value: unknown; memberIds: ReadonlySet<number> };
}

/** What one batch wrote, as the report rollups need it; every row is dated `now`. */
export interface BatchFacts {
  now: Date;
  sales: readonly store.NewSaleRow[];
  returns: readonly {
    showroomId: number;
    amountPaise: number;
    points: number;
    lines: readonly { categoryId: number; amountPaise: number; points: number }[];
  }[];
  entries: readonly store.NewEntryRow[];
  enrolments: readonly { memberId: number; showroomId: number }[];
}

/**
 * How long a process trusts its copy of showrooms and rates. An unknown code reloads at once;
 * rate changes are scheduled at least RATE_LEAD_MS ahead, so a copy this young always holds
 * every rate that can apply now.
 */
export const REFERENCE_TTL_MS = 5_000;
/** The earliest a new rate may start, from the moment it is saved. */
export const RATE_LEAD_MS = 60_000;

interface ReferenceData {
  showroomByCode: Map<string, number>;
  rates: EarnRate[];
  categoryIdByCode: Map<string, number>;
  loadedAtMs: number;
}

const RETRYABLE_PG = new Set(['40001', '40P01', '23505']);

/**
 * The only writer of the ledger and of members' replicated state in a central process. It
 * groups concurrent commands into one transaction; a refusal of one command never affects
 * the others, and an unexpected database error makes it retry the batch one by one.
 */
export class LedgerWriter {
  private readonly committer: GroupCommitter<WriteCommand, WriteOutcome>;
  private readonly options: WriterOptions;
  private reference: ReferenceData | undefined;

  constructor(options: WriterOptions) {
    this.options = options;
    this.committer = new GroupCommitter({
      maxBatch: options.maxBatch,
      maxInFlight: options.maxInFlight,
      ...(options.parallelFrom ? { parallelFrom: options.parallelFrom } : {}),
      runBatch: (commands) => this.runBatch(commands),
      ...(options.onBatch ? { onBatch: options.onBatch } : {}),
    });
  }

  /** Forgets cached showrooms and rates; call after changing them. */
  forgetReferenceData(): void {
    this.reference = undefined;
  }

  private async referenceData(trx: Knex.Transaction, fresh: boolean): Promise<ReferenceData> {
    const cached = this.reference;
    if (!fresh && cached && performance.now() - cached.loadedAtMs < REFERENCE_TTL_MS) return cached;
    const [showrooms, rates] = await Promise.all([store.loadShowrooms(trx), store.loadRates(trx)]);
    this.reference = {
      showroomByCode: new Map(showrooms.map((s) => [s.code, s.id])),
      rates,
      categoryIdByCode: new Map(rates.map((r) => [r.categoryCode, r.categoryId])),
      loadedAtMs: performance.now(),
    };
    return this.reference;
  }

  get waiting(): number {
    return this.committer.waiting;
  }

  /** Writes one command; resolves once it is committed, rejects with an AppError if refused. */
  write(command: WriteCommand): Promise<WriteOutcome> {
    return this.committer.submit(command);
  }

  private async runBatch(commands: WriteCommand[]): Promise<(WriteOutcome | Error)[]> {
    try {
      return await this.commit(commands);
    } catch (error) {
      // Every command alone, again; after a CommittedThenFailed (a bug past the COMMIT) the
      // idempotency keys make those retries replays of what committed.
      if (commands.length > 1) {
        const results: (WriteOutcome | Error)[] = [];
        for (const command of commands) results.push(...(await this.runBatch([command])));
        return results;
      }
      return [await this.retryAlone(commands[0] as WriteCommand, error)];
    }
  }

  private async retryAlone(
    command: WriteCommand,
    firstError: unknown,
  ): Promise<WriteOutcome | Error> {
    let error = firstError;
    for (let attempt = 0; attempt < 3 && isRetryable(error); attempt += 1) {
      try {
        const [result] = await this.commit([command]);
        return result ?? new Error('no result');
      } catch (again) {
        error = again;
      }
    }
    return error instanceof Error ? error : new Error(String(error));
  }

  /** One transaction for the batch; after it commits, tells the sync layer what changed. */
  private async commit(commands: WriteCommand[]): Promise<(WriteOutcome | Error)[]> {
    const sink: { stamp?: store.Stamp } = {};
    const { db } = this.options;
    const scope = async (trx: Knex.Transaction) => {
      const answers = await this.applyBatch(trx, commands, sink);
      await this.options.beforeCommit?.();
      return answers;
    };
    const results = await (db.dialect === 'pg'
      ? foldedTransaction(db.knex, scope)
      : db.knex.transaction(scope));
    const stamp = sink.stamp;
    if (stamp) {
      this.options.onCommitted?.(stamp);
      const byId = new Map(stamp.states.map((m) => [m.id, m]));
      for (const r of results) {
        if (r instanceof Error || r.replayed) continue;
        const b = r.body as { memberId?: unknown; member?: { id?: unknown } } | null;
        const id = b?.memberId ?? b?.member?.id;
        const state = typeof id === 'number' ? byId.get(id) : undefined;
        if (state) r.state = state;
      }
    }
    return results;
  }

  /**
   * For a batch of sales only, on PostgreSQL, with showrooms and rates cached: locks the members
   * and reads all the batch decides on in one round trip (see StatementBatch), and takes the
   * sales' ids ahead, so that the writes can go in one more. Undefined otherwise: the batch
   * then reads step by step.
   */
  private async prefetchSales(trx: Knex.Transaction, commands: readonly WriteCommand[]) {
    const { db } = this.options;
    const reference = this.reference;
    if (
      db.dialect !== 'pg' ||
      !reference ||
      performance.now() - reference.loadedAtMs >= REFERENCE_TTL_MS ||
      !commands.every((c) => c.kind === 'sale') ||
      !knowsAll(reference, commands)
    ) {
      return undefined;
    }
    const sales = commands; // every one a sale (checked above)
    const mobiles = [...new Set(sales.map((c) => c.sale.mobile))];
    const reads = new StatementBatch();
    // In this order: the reads after the lock see what the lock waited for.
    const history = store.findMobileHistoryIn(reads, trx, mobiles);
    const lock = store.lockSaleMembersIn(db, reads, trx, mobiles);
    const prior = store.findIdempotentIn(reads, trx, [...new Set(sales.map((c) => c.key))]);
    const bills = store.findExistingBillsIn(reads, trx, billPairs(reference, sales));
    const saleIds = store.takeSaleIdsIn(reads, trx, sales.length);
    const rollupHistory =
      lock && this.options.rollupHistory ? this.options.rollupHistory(reads, lock.ids) : undefined;
    await reads.run(trx);
    const locked = lock?.locked.value ?? [];
    return {
      /** Where the batch's writes go, to be sent together. */
      writes: new StatementBatch(),
      reference,
      history: history?.value ?? new Map<string, { memberId: number; until: Date }[]>(),
      locked,
      prior: prior?.value ?? new Map<string, store.IdempotentRecord>(),
      bills: bills?.value ?? new Set<string>(),
      saleIds: saleIds.value,
      rollupHistory: rollupHistory && {
        value: rollupHistory.value,
        memberIds: new Set(locked.map((m) => m.id)),
      },
    };
  }

  private async applyBatch(
    trx: Knex.Transaction,
    commands: WriteCommand[],
    sink: { stamp?: store.Stamp },
  ): Promise<(WriteOutcome | Error)[]> {
    const { db, clock } = this.options;
    const now = clock.now();
    const results: (WriteOutcome | Error | undefined)[] = new Array<undefined>(commands.length);
    // A batch of sales on PostgreSQL reads in one round trip and writes in another.
    const pre = await this.prefetchSales(trx, commands);

    // 1. Lock the members this batch touches, before reading anything they decide: a command
    //    repeated in a concurrent batch (same key, so same member) waits here for it to commit.
    const returnSaleIds = commands.flatMap((command) =>
      command.kind === 'return' ? [command.saleId] : [],
    );
    const saleHeads = await store.loadSaleHeads(trx, returnSaleIds);
    const mobiles = commands.flatMap((command) =>
      command.kind === 'sale'
        ? [command.sale.mobile]
        : command.kind === 'enrol'
          ? [command.request.mobile]
          : [],
    );
    // A sale made before its mobile changed hands (sent late from a counter's outbox) earns for
    // the member who held the number when the sale was made.
    const history =
      pre?.history ??
      (await store.findMobileHistory(trx, [
        ...new Set(commands.flatMap((c) => (c.kind === 'sale' ? [c.sale.mobile] : []))),
      ]));
    const heldBy = new Map<WriteCommand, number>();
    for (const command of commands) {
      if (command.kind !== 'sale') continue;
      const soldAtMs = command.sale.soldAt ? Date.parse(command.sale.soldAt) : now.getTime();
      const holder = history.get(command.sale.mobile)?.find((h) => h.until.getTime() > soldAtMs);
      if (holder) heldBy.set(command, holder.memberId);
    }
    const memberIds = commands.flatMap((command) =>
      command.kind === 'adjust'
        ? [command.memberId]
        : command.kind === 'member-op'
          ? [command.memberId, ...(command.alsoLock ?? [])]
          : command.kind === 'return'
            ? [saleHeads.get(command.saleId)?.memberId ?? 0]
            : command.kind === 'sale'
              ? [heldBy.get(command) ?? 0]
              : [],
    );
    const members = new Map<
      number,
      store.LockedMember & { dirty: boolean; visitedAt: Date | null }
    >();
    const memberIdByMobile = new Map<string, number>();
    const remember = (m: store.LockedMember, dirty: boolean) => {
      const visitedAt = m.last_visit_at === null ? null : new Date(fromDbTime(m.last_visit_at));
      members.set(m.id, { ...m, balance: m.balance, dirty, visitedAt });
      memberIdByMobile.set(m.mobile, m.id);
    };
    for (const m of pre?.locked ??
      (await store.lockMembers(db, trx, {
        mobiles: [...new Set(mobiles)],
        ids: [...new Set(memberIds.filter((id) => id > 0))],
      }))) {
      remember(m, false);
    }
    // The batched read locked the mobiles' present holders; an earlier holder a late sale earns
    // for is locked now (rare, so out of id order, as below).
    const earlier = [...new Set(heldBy.values())].filter((id) => !members.has(id));
    if (pre && earlier.length > 0) {
      for (const m of await store.lockMembers(db, trx, { mobiles: [], ids: earlier })) {
        remember(m, false);
      }
    }
    // A record merged into another earns and spends for that member: lock it too (rarely
    // needed, so out of id order; PostgreSQL resolves the odd deadlock and the batch retries).
    for (let round = 0; round < 3; round += 1) {
      const targets = [...members.values()].flatMap((m) =>
        m.merged_into_id !== null && !members.has(m.merged_into_id) ? [m.merged_into_id] : [],
      );
      if (targets.length === 0) break;
      for (const m of await store.lockMembers(db, trx, { mobiles: [], ids: [...new Set(targets)] }))
        remember(m, false);
    }
    /** The member who holds a record's points: itself, or the member it was merged into. */
    const holderOf = (id: number | undefined) => {
      const member = id === undefined ? undefined : members.get(id);
      return member && member.merged_into_id !== null ? members.get(member.merged_into_id) : member;
    };

    // 2. Idempotency: answers already given, and keys repeated inside this batch.
    const keyed = commands.map((c) => (c.kind === 'enrol' ? undefined : c));
    const prior =
      pre?.prior ??
      (await store.findIdempotent(trx, [...new Set(keyed.flatMap((c) => (c ? [c.key] : [])))]));
    const firstIndexOfKey = new Map<string, number>();
    const repeats: [number, number][] = [];
    keyed.forEach((c, i) => {
      if (!c) return;
      const earlier = prior.get(c.key);
      if (earlier) {
        results[i] =
          earlier.requestHash === c.requestHash && earlier.operation === operationOf(c)
            ? { status: earlier.status, body: earlier.response, replayed: true }
            : reusedKey(c.key);
        return;
      }
      const first = firstIndexOfKey.get(c.key);
      if (first === undefined) firstIndexOfKey.set(c.key, i);
      else repeats.push([i, first]);
    });
    const repeatIndexes = new Set(repeats.map(([i]) => i));
    const todo = commands
      .map((command, index) => ({ command, index }))
      .filter(({ index }) => results[index] === undefined && !repeatIndexes.has(index));

    // 3. Reference data, and what the locked members' sales already hold.
    const todoCommands = todo.map((t) => t.command);
    let reference = pre?.reference ?? (await this.referenceData(trx, false));
    if (!knowsAll(reference, todoCommands)) reference = await this.referenceData(trx, true);
    const { showroomByCode, rates, categoryIdByCode } = reference;

    const bills =
      pre?.bills ?? (await store.findExistingBills(trx, billPairs(reference, todoCommands)));
    const saleLines = await store.loadSaleLines(trx, [...saleHeads.keys()]);
    const earnEntries = await store.findEarnEntries(trx, [...saleHeads.keys()]);

    // 4. Each command in arrival order, against the batch's running balances.
    const newSales: store.NewSaleRow[] = [];
    const newEntries: store.NewEntryRow[] = [];
    /** Entries that refer to another entry of the batch, by its key (see MemberOpContext.post). */
    const refersToKeyOf = new Map<store.NewEntryRow, string>();
    /** Adjustments' onWritten hooks, run once their entries exist. */
    const adjustHooks: (() => Promise<void>)[] = [];
    const idempotent: {
      key: string;
      operation: string;
      requestHash: string;
      status: number;
      body: () => unknown;
    }[] = [];
    const enrolled: { index: number; memberId: number; created: boolean }[] = [];
    const earned: EarnedEvent[] = [];
    const returned: BatchFacts['returns'][number][] = [];
    const enrolments: { memberId: number; showroomId: number }[] = [];

    const showroomOf = (code: string, actor: Actor): number => {
      const id = showroomByCode.get(code);
      if (id === undefined) {
        throw new AppError('unknown-showroom', `There is no showroom with code ${code}.`, [
          { pointer: '/showroomCode', message: `unknown showroom ${code}` },
        ]);
      }
      if (actor.role !== 'admin' && actor.showroomId !== null && actor.showroomId !== id) {
        throw new AppError(
          'wrong-showroom',
          `You are signed in for another showroom, not ${code}.`,
        );
      }
      return id;
    };

    for (const { command, index } of todo) {
      try {
        switch (command.kind) {
          case 'enrol': {
            const req = command.request;
            const showroomId = showroomOf(req.showroomCode, command.actor);
            for (const [field, date] of [
              ['birthday', req.birthday],
              ['anniversary', req.anniversary],
            ] as const) {
              if (date !== undefined && date > now.toISOString().slice(0, 10)) {
                throw new AppError('validation', `The ${field} ${date} is in the future.`, [
                  { pointer: `/${field}`, message: 'must not be in the future' },
                ]);
              }
            }
            // A known mobile returns its member; a record merged into another, that member.
            const existing = holderOf(memberIdByMobile.get(req.mobile));
            if (existing !== undefined) {
              enrolled.push({ index, memberId: existing.id, created: false });
              break;
            }
            let id = await store.insertMember(
              db,
              trx,
              {
                mobile: req.mobile,
                name: req.name,
                birthday: req.birthday ?? null,
                anniversary: req.anniversary ?? null,
                email: req.email ?? null,
                smsConsent: req.smsConsent,
                showroomId,
                staffId: command.actor.staffId,
              },
              now,
            );
            let created = true;
            if (id === undefined) {
              // Another central process enrolled this mobile a moment ago: return that member.
              const [row] = await store.lockMembers(db, trx, { mobiles: [req.mobile], ids: [] });
              if (!row) throw new Error(`member ${req.mobile} vanished`);
              remember(row, false);
              id = row.id;
              created = false;
            } else {
              remember(
                {
                  id,
                  mobile: req.mobile,
                  balance: 0,
                  name: req.name,
                  sms_consent: req.smsConsent,
                  last_visit_at: null,
                  merged_into_id: null,
                },
                true,
              );
            }
            enrolled.push({ index, memberId: id, created });
            if (created) enrolments.push({ memberId: id, showroomId });
            break;
          }
          case 'sale': {
            const sale = command.sale;
            const showroomId = showroomOf(sale.showroomCode, command.actor);
            const member = holderOf(heldBy.get(command) ?? memberIdByMobile.get(sale.mobile));
            if (!member) {
              throw new AppError(
                'member-not-found',
                `No member has the mobile ${sale.mobile}; enrol the customer first.`,
              );
            }
            const soldAt = sale.soldAt ? new Date(sale.soldAt) : now;
            this.checkSaleTime(soldAt, now);
            const bill = store.billKey(showroomId, sale.billNumber);
            if (bills.has(bill)) {
              throw new AppError(
                'bill-already-recorded',
                `Bill ${sale.billNumber} at ${sale.showroomCode} already earned points; a bill earns once.`,
              );
            }
            const earning = earnForSale(sale.lines, rates, soldAt);
            if (!earning.ok) {
              throw new AppError(
                'unknown-category',
                `No earn rate for ${earning.unknownCategories.join(', ')} at ${soldAt.toISOString()}.`,
                sale.lines.flatMap((l, i) =>
                  earning.unknownCategories.includes(l.categoryCode)
                    ? [
                        {
                          pointer: `/lines/${i}/categoryCode`,
                          message: `unknown category ${l.categoryCode}`,
                        },
                      ]
                    : [],
                ),
              );
            }
            bills.add(bill);
            member.balance += earning.points;
            member.dirty ||= earning.points !== 0;
            // The member's last visit is replicated state: a later one restamps the member
            // even when the sale earns nothing. A late (offline) bill leaves it as it is.
            if (member.visitedAt === null || soldAt > member.visitedAt) {
              member.visitedAt = soldAt;
              member.dirty = true;
            }
            const balanceAfter = member.balance;
            newSales.push({
              key: command.key,
              memberId: member.id,
              showroomId,
              terminalId: command.actor.terminalId ?? sale.terminalId ?? null,
              staffId: command.actor.staffId,
              billNumber: sale.billNumber,
              soldAt,
              amountPaise: earning.amountPaise,
              points: earning.points,
              lines: earning.lines.map((l, i) => ({
                lineNo: i + 1,
                sku: l.sku,
                categoryId: categoryIdByCode.get(l.categoryCode) ?? 0,
                quantity: l.quantity,
                amountPaise: l.amountPaise,
                pointsPer100Rupees: l.pointsPer100Rupees,
                points: l.points,
              })),
            });
            if (earning.points !== 0) {
              earned.push({
                key: command.key,
                memberId: member.id,
                mobile: member.mobile,
                name: member.name,
                smsConsent: Boolean(member.sms_consent),
                points: earning.points,
                balanceAfter,
                billNumber: sale.billNumber,
                showroomId,
              });
              newEntries.push({
                key: command.key,
                memberId: member.id,
                kind: 'earn',
                points: earning.points,
                balanceAfter,
                saleId: null,
                returnId: null,
                refersToEntryId: null,
                showroomId,
                terminalId: command.actor.terminalId ?? sale.terminalId ?? null,
                staffId: command.actor.staffId,
                reason: null,
              });
            }
            const key = command.key;
            idempotent.push({
              key,
              operation: 'sale',
              requestHash: command.requestHash,
              status: 201,
              body: (): SaleResult => ({
                saleId: saleIds.get(key) ?? 0,
                memberId: member.id,
                billNumber: sale.billNumber,
                showroomCode: sale.showroomCode,
                soldAt: soldAt.toISOString(),
                recordedAt: now.toISOString(),
                amountPaise: earning.amountPaise,
                points: earning.points,
                balanceAfter,
                lines: earning.lines.map((l, i) => ({
                  lineNo: i + 1,
                  sku: l.sku,
                  categoryCode: l.categoryCode,
                  quantity: l.quantity,
                  amountPaise: l.amountPaise,
                  pointsPer100Rupees: l.pointsPer100Rupees,
                  points: l.points,
                })),
              }),
            });
            break;
          }
          case 'return': {
            const head = saleHeads.get(command.saleId);
            if (!head) throw new AppError('sale-not-found', `There is no sale ${command.saleId}.`);
            if (command.actor.role === 'cashier') {
              throw new AppError('forbidden', 'A return reverses points: a manager must do it.');
            }
            // A sale of a record merged into another is that member's now.
            const member = holderOf(head.memberId);
            if (!member) throw new Error(`member ${head.memberId} of sale ${head.id} not locked`);
            const lines = saleLines.filter((l) => l.saleId === head.id);
            const wanted =
              command.request.lines ??
              lines
                .filter((l) => l.quantity > l.returnedQuantity)
                .map((l) => ({ lineNo: l.lineNo, quantity: l.quantity - l.returnedQuantity }));
            if (wanted.length === 0) {
              throw new AppError(
                'return-not-possible',
                `Every unit of sale ${head.id} has already come back.`,
              );
            }
            const seen = new Set<number>();
            const reversed = wanted.map((w, i) => {
              const line = lines.find((l) => l.lineNo === w.lineNo);
              if (!line || seen.has(w.lineNo)) {
                throw new AppError(
                  'return-not-possible',
                  line
                    ? `Line ${w.lineNo} is listed twice.`
                    : `Sale ${head.id} has no line ${w.lineNo}.`,
                  [{ pointer: `/lines/${i}/lineNo`, message: 'no such line, or listed twice' }],
                );
              }
              seen.add(w.lineNo);
              const left = line.quantity - line.returnedQuantity;
              if (w.quantity > left) {
                throw new AppError(
                  'return-not-possible',
                  `Line ${w.lineNo} (${line.sku}) has ${left} unit(s) left to return, not ${w.quantity}.`,
                  [{ pointer: `/lines/${i}/quantity`, message: `at most ${left}` }],
                );
              }
              return {
                line,
                quantity: w.quantity,
                ...reverseLine(line, line.returnedQuantity, w.quantity),
              };
            });
            for (const r of reversed) r.line.returnedQuantity += r.quantity;
            const points = reversed.reduce((s, r) => s + r.points, 0);
            const amountPaise = reversed.reduce((s, r) => s + r.amountPaise, 0);
            const showroomId = command.actor.showroomId ?? head.showroomId;
            const returnId = await store.insertReturn(
              db,
              trx,
              {
                key: command.key,
                saleId: head.id,
                showroomId,
                staffId: command.actor.staffId,
                reason: command.request.reason ?? null,
                amountPaise,
                points,
                lines: reversed.map((r) => ({
                  saleLineId: r.line.saleLineId,
                  quantity: r.quantity,
                  amountPaise: r.amountPaise,
                  points: r.points,
                })),
              },
              now,
            );
            returned.push({
              showroomId,
              amountPaise,
              points,
              lines: reversed.map((r) => ({
                categoryId: r.line.categoryId,
                amountPaise: r.amountPaise,
                points: r.points,
              })),
            });
            member.balance -= points;
            member.dirty ||= points !== 0;
            const balanceAfter = member.balance;
            if (points !== 0) {
              newEntries.push({
                key: command.key,
                memberId: member.id,
                kind: 'reverse',
                points: -points,
                balanceAfter,
                saleId: head.id,
                returnId,
                refersToEntryId: earnEntries.get(head.id) ?? null,
                showroomId,
                terminalId: null,
                staffId: command.actor.staffId,
                reason: command.request.reason ?? `return of bill ${head.billNumber}`,
              });
            }
            const body: ReturnResult = {
              returnId,
              saleId: head.id,
              memberId: member.id,
              amountPaise,
              points,
              balanceAfter,
              debtPoints: Math.max(0, -balanceAfter),
              lines: reversed.map((r) => ({
                lineNo: r.line.lineNo,
                quantity: r.quantity,
                amountPaise: r.amountPaise,
                points: r.points,
              })),
            };
            idempotent.push({
              key: command.key,
              operation: 'return',
              requestHash: command.requestHash,
              status: 201,
              body: () => body,
            });
            break;
          }
          case 'member-op': {
            const member = holderOf(command.memberId);
            if (!member) throw new AppError('not-found', `There is no member ${command.memberId}.`);
            const locked = (id: number) => {
              const m = members.get(id);
              if (!m) throw new Error(`member ${id} is not locked by this operation`);
              return m;
            };
            const opMember = (m: store.LockedMember): OpMember => ({
              id: m.id,
              mobile: m.mobile,
              balance: running.get(m.id) ?? m.balance,
              mergedIntoId: m.merged_into_id,
            });
            const posted: store.NewEntryRow[] = [];
            const running = new Map<number, number>();
            const answer = await command.run({
              trx,
              db,
              now,
              member: opMember(member),
              other: (id) => {
                const m = members.get(id);
                return m ? opMember(m) : undefined;
              },
              post: (entry) => {
                const target = locked(entry.memberId ?? member.id);
                const balance = (running.get(target.id) ?? target.balance) + entry.points;
                running.set(target.id, balance);
                const row: store.NewEntryRow = {
                  key: entry.key,
                  memberId: target.id,
                  kind: entry.kind,
                  points: entry.points,
                  balanceAfter: balance,
                  saleId: null,
                  returnId: null,
                  refersToEntryId: entry.refersToEntryId ?? null,
                  showroomId: entry.showroomId,
                  terminalId: entry.terminalId,
                  staffId: command.actor.staffId,
                  reason: entry.reason,
                };
                if (entry.refersToKey !== undefined) refersToKeyOf.set(row, entry.refersToKey);
                posted.push(row);
                return balance;
              },
              // Changes to members' replicated state are written at once and, like a wrong
              // OTP's count, stay even if the operation then refuses.
              mergeInto: async (sourceIds, targetId) => {
                const target = locked(targetId);
                const sources = sourceIds.map(locked);
                await store.setMergedInto(db, trx, sourceIds, target.id, now);
                for (const source of sources) {
                  source.merged_into_id = target.id;
                  source.dirty = true;
                }
                target.dirty = true;
              },
              changeMobile: async (mobile) => {
                await store.setMobile(db, trx, member.id, mobile, now);
                memberIdByMobile.delete(member.mobile);
                member.mobile = mobile;
                memberIdByMobile.set(mobile, member.id);
                member.dirty = true;
              },
            });
            for (const [id, balance] of running) {
              const m = locked(id);
              m.balance = balance;
              m.dirty = true;
            }
            newEntries.push(...posted);
            idempotent.push({
              key: command.key,
              operation: command.operation,
              requestHash: command.requestHash,
              status: answer.status,
              body: () => answer.body,
            });
            break;
          }
          case 'adjust': {
            if (command.actor.role === 'cashier') {
              throw new AppError('forbidden', 'An adjustment needs a manager.');
            }
            const member = members.get(command.memberId);
            if (!member) throw new AppError('not-found', `There is no member ${command.memberId}.`);
            if (member.merged_into_id !== null) {
              throw new AppError(
                'member-merged',
                `Member ${member.id} was merged into member ${member.merged_into_id}; adjust member ${member.merged_into_id} instead.`,
              );
            }
            const points = command.request.points;
            if (member.balance + points < 0) {
              throw new AppError(
                'insufficient-points',
                `The member has ${member.balance} points; an adjustment of ${points} would leave less than zero.`,
              );
            }
            const balanceBefore = member.balance;
            member.balance += points;
            member.dirty = true;
            const balanceAfter = member.balance;
            if (command.onWritten) {
              const hook = command.onWritten;
              const entryKey = command.key;
              adjustHooks.push(async () => {
                const entry = adjustEntries.get(entryIds.get(entryKey) ?? 0);
                if (!entry) throw new Error(`adjustment ${entryKey} has no entry`);
                await hook(trx, { memberId: member.id, balanceBefore, balanceAfter, entry });
              });
            }
            newEntries.push({
              key: command.key,
              memberId: member.id,
              kind: 'adjust',
              points,
              balanceAfter,
              saleId: null,
              returnId: null,
              refersToEntryId: null,
              showroomId: command.actor.showroomId,
              terminalId: null,
              staffId: command.actor.staffId,
              reason: command.request.reason,
            });
            const key = command.key;
            idempotent.push({
              key,
              operation: 'adjust',
              requestHash: command.requestHash,
              status: 201,
              body: () => ({ entry: adjustEntries.get(entryIds.get(key) ?? 0), balanceAfter }),
            });
            break;
          }
        }
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        results[index] = error;
      }
    }

    // 5. Append everything in a few statements, then take change numbers last. A prefetched
    //    batch (sales only: no entry refers to another) sends them together, in this order.
    const writes = pre?.writes;
    const saleIds = await store.insertSales(
      db,
      trx,
      newSales,
      now,
      pre ? { ids: pre.saleIds, batch: pre.writes } : undefined,
    );
    for (const entry of newEntries) {
      if (entry.kind === 'earn') entry.saleId = saleIds.get(entry.key) ?? null;
    }
    // In order, in as few statements as can be: an entry that refers to another of the batch
    // by key waits for that one's id (ids follow the batch's order, as running balances do).
    const entryIds = new Map<string, number>();
    let pending: store.NewEntryRow[] = [];
    const flush = async () => {
      if (writes) store.insertEntriesIn(writes, trx, pending, now);
      else {
        for (const [key, id] of await store.insertEntries(db, trx, pending, now)) {
          entryIds.set(key, id);
        }
      }
      pending = [];
    };
    for (const entry of newEntries) {
      const refersTo = refersToKeyOf.get(entry);
      if (refersTo !== undefined) {
        if (!entryIds.has(refersTo)) await flush();
        entry.refersToEntryId = entryIds.get(refersTo) ?? null;
      }
      pending.push(entry);
    }
    await flush();
    const adjustEntries = await store.loadEntries(
      trx,
      newEntries.filter((e) => e.kind === 'adjust').map((e) => entryIds.get(e.key) ?? 0),
    );
    for (const hook of adjustHooks) await hook();
    if (earned.length > 0) await this.options.inTransaction?.(trx, { now, earned }, writes);
    const answers = idempotent.map((i) => ({ ...i, response: i.body() }));
    await store.insertIdempotent(db, trx, answers, now, writes);
    const dirty = [...members.values()]
      .filter((m) => m.dirty)
      .map((m) => ({ id: m.id, balance: m.balance, lastVisitAt: m.visitedAt }));
    const finishRollups = await this.options.rollups?.(
      trx,
      { now, sales: newSales, returns: returned, entries: newEntries, enrolments },
      pre && {
        writes: pre.writes,
        ...(pre.rollupHistory ? { history: pre.rollupHistory } : {}),
      },
    );
    let stamp: store.Stamp | undefined;
    if (writes) {
      const stamped = store.stampMembersIn(writes, trx, dirty, now);
      await finishRollups?.(stamped !== undefined);
      // The COMMIT goes with the writes, unless a test waits before it.
      await writes.run(trx, { commit: !this.options.beforeCommit });
      stamp = stamped?.value;
    } else {
      stamp = await store.stampMembers(db, trx, dirty, now);
      await finishRollups?.(stamp !== undefined);
    }
    if (stamp) sink.stamp = stamp;
    const memberViews: Map<number, Member> = await store.loadMembers(
      trx,
      enrolled.map((e) => e.memberId),
    );

    const answerByKey = new Map(answers.map((a) => [a.key, a]));
    for (const { command, index } of todo) {
      if (results[index] !== undefined) continue;
      if (command.kind === 'enrol') continue;
      const answer = answerByKey.get(command.key);
      if (answer)
        results[index] = { status: answer.status, body: answer.response, replayed: false };
    }
    for (const e of enrolled) {
      results[e.index] = {
        status: e.created ? 201 : 200,
        body: { created: e.created, member: memberViews.get(e.memberId) },
        replayed: false,
      };
    }
    for (const [index, first] of repeats) {
      const c = keyed[index];
      const firstCommand = keyed[first];
      const firstResult = results[first];
      results[index] =
        c && firstCommand && c.requestHash === firstCommand.requestHash
          ? firstResult instanceof Error || firstResult === undefined
            ? firstResult
            : { ...firstResult, replayed: true }
          : reusedKey(c?.key ?? '');
    }
    return results.map((r) => r ?? new Error('command produced no result'));
  }

  private checkSaleTime(soldAt: Date, now: Date): void {
    const { saleMaxAgeDays, clockSkewSeconds } = this.options;
    if (soldAt.getTime() > now.getTime() + clockSkewSeconds * 1000) {
      throw new AppError(
        'sale-time-out-of-range',
        `soldAt ${soldAt.toISOString()} is in the future by central's clock (${now.toISOString()}); check the terminal's clock.`,
        [{ pointer: '/soldAt', message: 'in the future' }],
      );
    }
    if (soldAt.getTime() < now.getTime() - saleMaxAgeDays * 86_400_000) {
      throw new AppError(
        'sale-time-out-of-range',
        `soldAt ${soldAt.toISOString()} is more than ${saleMaxAgeDays} days ago; such a bill needs a manager's adjustment instead.`,
        [{ pointer: '/soldAt', message: `older than ${saleMaxAgeDays} days` }],
      );
    }
  }
}

/** Whether every showroom and category these commands name is in `ref`. */
function knowsAll(ref: ReferenceData, commands: readonly WriteCommand[]): boolean {
  return commands.every((command) => {
    if (command.kind === 'sale') {
      return (
        ref.showroomByCode.has(command.sale.showroomCode) &&
        command.sale.lines.every((l) => ref.categoryIdByCode.has(l.categoryCode))
      );
    }
    return command.kind !== 'enrol' || ref.showroomByCode.has(command.request.showroomCode);
  });
}

/** The (showroom, bill number) of each sale among these commands. */
function billPairs(ref: ReferenceData, commands: readonly WriteCommand[]): [number, string][] {
  return commands.flatMap((command) => {
    if (command.kind !== 'sale') return [];
    const showroomId = ref.showroomByCode.get(command.sale.showroomCode);
    return showroomId === undefined ? [] : [[showroomId, command.sale.billNumber]];
  });
}

function operationOf(command: Exclude<WriteCommand, { kind: 'enrol' }>): string {
  return command.kind === 'member-op' ? command.operation : command.kind;
}

function reusedKey(key: string): AppError {
  return new AppError(
    'idempotency-key-reused',
    `Idempotency-Key ${key} was already used for a different request; use a new key for a new operation.`,
  );
}

function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    (typeof code === 'string' && RETRYABLE_PG.has(code)) || code === 'SQLITE_CONSTRAINT_UNIQUE'
  );
}

import { EventEmitter } from 'node:events';
import { io, type Socket } from 'socket.io-client';
import { REDEEM_EVENTS, SmsPush } from '../shared/protocol/redeem.ts';
import {
  CATALOGUE_PULL,
  CataloguePage,
  ChangePush,
  HeadBeat,
  MAX_CATALOGUE_PAGE,
  MAX_PULL,
  MAX_SUBMIT,
  PROTOCOL_VERSION,
  PullResponse,
  SubmitResult,
  SyncRefusal,
  type MemberState,
} from '../shared/protocol/sync.ts';
import type { Credentials } from './credentials.ts';
import type { TerminalStore } from './store.ts';

/** Socket.IO path and namespace of central's sync endpoint (docs/protocol.md). */
export const SYNC_PATH = '/sync/socket.io';

export interface SyncClientOptions {
  store: TerminalStore;
  credentials: Credentials;
  appVersion: string;
  /** States per pull; central caps it at MAX_PULL. */
  pullLimit?: number;
  /** How long a push that skips ahead waits for the missing one before the terminal pulls. */
  gapWaitMs?: number;
  /** Items per outbox submit (central accepts up to MAX_SUBMIT). */
  submitBatch?: number;
  /**
   * Products per catalogue page (central allows up to MAX_CATALOGUE_PAGE). Small pages keep a
   * catalogue download from holding up a member pull behind it on a slow link.
   */
  cataloguePage?: number;
  /** How long to wait for central to answer a request before treating the link as lost. */
  requestTimeoutMs?: number;
  /** Overrides the URL from the credentials (e.g. through a proxy). */
  centralUrl?: string;
  /** Local clock, for tests of a terminal whose clock is far off. */
  now?: () => number;
}

export type LinkState = 'offline' | 'connecting' | 'online' | 'refused';

/** A request to central that did not succeed: `code` is central's problem code, or 'offline'. */
export class RequestError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 503) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/**
 * The terminal's side of replication: catch-up by cursor, live pushes, heartbeat checks and
 * the outbox replay. Events: 'status' (after any change of link, cursor or outbox), 'refused'
 * (a SyncRefusal: central will not talk to this terminal), 'applied' (states applied), 'rules'
 * (new rules stored: staff, rates, settings; with their version), 'catalogue:page' (a page of a
 * newer catalogue staged: {version, count}), 'catalogue' (a complete catalogue swapped in, with
 * its version).
 */
export class SyncClient extends EventEmitter {
  readonly socket: Socket;
  private readonly store: TerminalStore;
  private readonly opts: Required<Omit<SyncClientOptions, 'store' | 'credentials' | 'centralUrl'>>;
  private link: LinkState = 'connecting';
  private refusal: SyncRefusal | undefined;
  /** Pushes that arrived ahead of the cursor, by fromSeq, waiting for the gap to fill. */
  private readonly held = new Map<number, ChangePush>();
  private gapTimer: NodeJS.Timeout | undefined;
  private behindTimer: NodeJS.Timeout | undefined;
  private readonly catchUp = new Coalesced(
    () => this.pullToHead(),
    () => this.isOnline(),
    (error) => {
      this.failed(error);
    },
    () => {
      this.drainHeld();
      this.requestFlush();
      this.requestCatalogue();
    },
  );
  private readonly flusher = new Coalesced(
    () => this.flush(),
    () => this.isOnline(),
    (error) => {
      this.failed(error);
    },
    () => this.emit('status'),
  );
  /**
   * Fetches a newer catalogue in the background, beside (never in front of) member pulls and
   * the outbox. A failure is tried again at the next heartbeat or catch-up, from where it stopped.
   */
  private readonly catalogue = new Coalesced(
    () => this.fetchCatalogue(),
    () => this.isOnline(),
    (error) => this.emit('error-note', error),
    () => undefined,
  );
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 500;
  private centralHead = 0;
  private clockOffsetMs: number;
  private stopped = false;

  constructor(options: SyncClientOptions) {
    super();
    this.store = options.store;
    this.opts = {
      appVersion: options.appVersion,
      pullLimit: Math.min(options.pullLimit ?? MAX_PULL, MAX_PULL),
      gapWaitMs: options.gapWaitMs ?? 100,
      submitBatch: Math.min(options.submitBatch ?? 500, MAX_SUBMIT),
      cataloguePage: Math.min(options.cataloguePage ?? 1_000, MAX_CATALOGUE_PAGE),
      requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
      now: options.now ?? Date.now,
    };
    this.clockOffsetMs = Number(this.store.getMeta('clockOffsetMs') ?? '0');
    const url = new URL('/sync', options.centralUrl ?? options.credentials.centralUrl);
    this.socket = io(url.toString(), {
      path: SYNC_PATH,
      transports: ['websocket'],
      autoConnect: false,
      reconnectionDelay: 250,
      reconnectionDelayMax: 5_000,
      randomizationFactor: 0.5,
      auth: {
        protocolVersion: PROTOCOL_VERSION,
        terminalId: options.credentials.terminalId,
        secret: options.credentials.secret,
        appVersion: options.appVersion,
      },
    });
    this.socket.on('connect', () => {
      this.setLink('online');
      this.retryDelayMs = 500;
      void this.requestCatchUp();
      // Beside the pull, not after it (docs/protocol.md §6.2): an answer's state goes in only
      // if newer than the row held, so the order of the two does not matter, and a counter back
      // from a long outage has its sales at central while it is still reading the news.
      if (this.store.outboxCounts().queued > 0) this.requestFlush();
    });
    this.socket.on('disconnect', (reason) => {
      if (this.link !== 'refused') this.setLink(this.stopped ? 'offline' : 'connecting');
      // Pushes held for a gap are dropped: the catch-up on reconnection fetches their states.
      this.held.clear();
      this.clearGap();
      this.clearBehind();
      // Socket.IO does not reconnect after a disconnect the server asked for. Unless central
      // refused this terminal (then the link is 'refused'), try again a little later.
      if (reason === 'io server disconnect' && !this.stopped) {
        setTimeout(() => {
          if (!this.stopped && this.link !== 'refused' && !this.socket.connected)
            this.socket.connect();
        }, 1_000).unref();
      }
    });
    this.socket.on('connect_error', (error: Error & { data?: unknown }) => {
      const refusal = SyncRefusal.safeParse(error.data);
      if (refusal.success) this.refuse(refusal.data);
      else if (this.link !== 'refused') this.setLink('connecting');
    });
    this.socket.on('terminal:revoked', (raw: unknown) => {
      const refusal = SyncRefusal.safeParse(raw);
      this.refuse(
        refusal.success ? refusal.data : { code: 'revoked', message: 'This terminal was revoked.' },
      );
    });
    this.socket.on('member:changed', (raw: unknown) => {
      const push = ChangePush.safeParse(raw);
      // A malformed push changes nothing; the next heartbeat or pull brings the states.
      if (push.success) this.onPush(push.data);
      else
        this.emit(
          'error-note',
          new Error(`ignored a malformed push from central: ${describe(raw)}`),
        );
    });
    this.socket.on(REDEEM_EVENTS.sms, (raw: unknown) => {
      const push = SmsPush.safeParse(raw);
      if (push.success) this.emit('redeem:sms', push.data);
    });
    this.socket.on('sync:head', (raw: unknown) => {
      const beat = HeadBeat.safeParse(raw);
      if (beat.success) this.onHead(beat.data);
      else this.emit('error-note', new Error(`ignored a malformed heartbeat: ${describe(raw)}`));
    });
  }

  start(): void {
    this.stopped = false;
    this.socket.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.held.clear();
    this.clearGap();
    this.clearBehind();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.socket.disconnect();
    await Promise.allSettled([this.catchUp.running, this.flusher.running, this.catalogue.running]);
    this.setLink('offline');
  }

  get state(): {
    link: LinkState;
    refusal: SyncRefusal | undefined;
    centralHead: number;
    clockOffsetMs: number;
  } {
    return {
      link: this.link,
      refusal: this.refusal,
      centralHead: this.centralHead,
      clockOffsetMs: this.clockOffsetMs,
    };
  }

  /** Central's clock as this terminal best knows it (its own clock corrected by the offset). */
  centralNow(): Date {
    return new Date(this.opts.now() + this.clockOffsetMs);
  }

  /**
   * Sends a request event that needs central (redemption) and returns its answer. Offline, or
   * without an answer in time, it rejects with a RequestError the cashier can read; central's
   * refusal comes back as a RequestError with central's problem code and words.
   */
  async request(
    event: string,
    payload: unknown,
    timeoutMs = this.opts.requestTimeoutMs,
  ): Promise<unknown> {
    if (!this.isOnline()) {
      throw new RequestError(
        'offline',
        'Redemption needs the central server, which this counter cannot reach now; points will still be earned.',
      );
    }
    let answer: unknown;
    try {
      answer = await this.socket.timeout(timeoutMs).emitWithAck(event, payload);
    } catch {
      throw new RequestError(
        'no-answer',
        `Central did not answer within ${Math.round(timeoutMs / 1000)} s; check the redemption's status before trying again.`,
      );
    }
    const problem = (
      answer as { error?: { code?: unknown; detail?: unknown; status?: unknown } } | null
    )?.error;
    if (problem) {
      throw new RequestError(
        typeof problem.code === 'string' ? problem.code : 'refused',
        typeof problem.detail === 'string' ? problem.detail : 'Central refused the request.',
        typeof problem.status === 'number' ? problem.status : 400,
      );
    }
    return answer;
  }

  /** Sends the outbox now if online (after a sale or enrolment was queued). */
  kick(): void {
    if (this.isOnline()) this.requestFlush();
  }

  /** Resolves once the cursor reaches central's head and the outbox is empty, or rejects. */
  async settled(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const counts = this.store.outboxCounts();
      if (
        this.isOnline() &&
        !this.catchUp.running &&
        !this.flusher.running &&
        counts.queued === 0 &&
        this.store.cursor >= this.centralHead
      ) {
        // Ask central once more: a push may still be on its way.
        await this.requestCatchUp();
        if (this.store.cursor >= this.centralHead && this.store.outboxCounts().queued === 0) return;
      }
      if (Date.now() > deadline)
        throw new Error(
          `not settled after ${timeoutMs} ms: link ${this.link}, cursor ${this.store.cursor}, head ${this.centralHead}, queued ${counts.queued}`,
        );
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  // --- catch-up -----------------------------------------------------------------------------

  /** Pulls until the cursor reaches central's head, then drains held pushes and sends the outbox. */
  requestCatchUp(): Promise<void> {
    return this.catchUp.request();
  }

  /**
   * Pulls pages until the cursor reaches central's head. The next page is asked for as soon as
   * a page arrives (its `after` is known then), so central reads page n+1 while the terminal
   * writes page n.
   */
  private async pullToHead(): Promise<void> {
    if (!this.isOnline()) return;
    // Into an empty cache (a new terminal, or after a rebuild) rows go in without the lookup
    // indexes, which are built once at the end: a million members in seconds, not minutes.
    const bulk = this.store.memberCount() === 0;
    if (bulk) this.store.dropLookupIndexes();
    try {
      await this.pullPages();
    } finally {
      if (bulk && this.store.db.open) this.store.ensureLookupIndexes();
    }
  }

  private async pullPages(): Promise<void> {
    let next = this.askPull(this.store.cursor);
    for (;;) {
      const { after, sentAt, raw } = await next;
      const answer = PullResponse.safeParse(raw);
      if (!answer.success)
        throw new Error(`central's pull answer was not understood: ${describe(raw)}`);
      const pull = answer.data;
      this.measureClock(pull.serverTime, sentAt);
      this.centralHead = pull.head;
      const epoch = this.store.epoch;
      if ((epoch !== undefined && epoch !== pull.epoch) || pull.head < after) {
        // Central's history is not the one this cache follows (restored from a backup, or a
        // new database): forget every state and pull from the start.
        this.store.rebuild(pull.epoch);
        this.held.clear();
        this.emit('rebuilt', { from: epoch, to: pull.epoch, cursor: after, head: pull.head });
        next = this.askPull(0);
        continue;
      }
      const cursor = Math.max(pull.hasMore ? pull.lastSeq : pull.head, after);
      if (pull.hasMore && this.isOnline()) next = this.askPull(cursor);
      try {
        this.store.applyPage(textOf(pull.states), {
          cursor,
          epoch: pull.epoch,
          ...(pull.rules ? { rules: pull.rules } : {}),
          syncedAt: new Date(this.opts.now()).toISOString(),
        });
      } catch (error) {
        throw new Error(
          `central sent a page of states this cache refused (nothing of it was applied): ${(error as Error).message}`,
        );
      }
      if (pull.count > 0) this.emit('applied', pull.count);
      if (pull.rules) this.emit('rules', pull.rules.version);
      this.emit('status');
      if (!pull.hasMore || !this.isOnline()) return;
    }
  }

  /** Sends a pull; a rejection is observed even if the page is never awaited (a failed apply). */
  private askPull(after: number): Promise<{ after: number; sentAt: number; raw: unknown }> {
    const asked = this.sendPull(after);
    asked.catch(() => undefined);
    return asked;
  }

  private async sendPull(after: number): Promise<{ after: number; sentAt: number; raw: unknown }> {
    const sentAt = this.opts.now();
    const raw: unknown = await this.socket
      .timeout(this.opts.requestTimeoutMs)
      .emitWithAck('sync:pull', {
        after,
        limit: this.opts.pullLimit,
        rulesVersion: this.store.rules?.version,
      });
    return { after, sentAt, raw };
  }

  // --- catalogue ----------------------------------------------------------------------------

  /** Fetches the catalogue the rules name, if this cache holds another one (cheap otherwise). */
  private requestCatalogue(): void {
    if (this.isOnline() && this.wantsCatalogue() !== undefined) void this.catalogue.request();
  }

  /** The catalogue version the rules name when it is not the one held. */
  private wantsCatalogue(): string | undefined {
    const wanted = this.store.rules?.catalogueVersion;
    return wanted !== undefined && wanted !== this.store.catalogueVersion ? wanted : undefined;
  }

  /**
   * Pages the catalogue into the staging table by SKU and swaps it in at the last page (see
   * TerminalStore.stageCataloguePage). A fetch interrupted (link lost, timeout) resumes after
   * the last staged page if that version is still the one wanted; a page of another version
   * than the pages before it means the catalogue changed mid-way, and the fetch starts over.
   */
  private async fetchCatalogue(): Promise<void> {
    const wanted = this.wantsCatalogue();
    if (wanted === undefined) return;
    const staging = this.store.catalogueStaging;
    let resume = staging?.version === wanted ? staging : undefined;
    for (;;) {
      if (!this.isOnline()) return;
      const raw: unknown = await this.socket
        .timeout(this.opts.requestTimeoutMs)
        .emitWithAck(CATALOGUE_PULL, {
          ...(resume ? { afterSku: resume.afterSku } : {}),
          limit: this.opts.cataloguePage,
        });
      const answer = CataloguePage.safeParse(raw);
      if (!answer.success)
        throw new Error(`central's catalogue page was not understood: ${describe(raw)}`);
      const page = answer.data;
      if (resume && page.version !== resume.version) {
        resume = undefined;
        continue;
      }
      const swapped = this.store.stageCataloguePage(page, resume === undefined);
      this.emit('catalogue:page', { version: page.version, count: page.products.length });
      if (swapped) {
        this.emit('catalogue', page.version);
        // Newer rules may have named a newer catalogue meanwhile; the heartbeat asks again.
        return;
      }
      if (page.nextAfterSku === null) throw new Error('a catalogue page with more has no next SKU');
      resume = { version: page.version, afterSku: page.nextAfterSku };
    }
  }

  // --- live pushes --------------------------------------------------------------------------

  private onPush(push: ChangePush): void {
    if (push.epoch !== this.store.epoch) {
      void this.requestCatchUp();
      return;
    }
    if (push.toSeq <= this.store.cursor) return; // already held
    this.held.set(push.fromSeq, push);
    if (!this.catchUp.running) this.drainHeld();
  }

  /** Applies held pushes that continue from the cursor; waits briefly, then pulls, on a gap. */
  private drainHeld(): void {
    if (this.stopped || !this.isOnline()) return;
    let progressed = true;
    while (progressed) {
      progressed = false;
      const cursor = this.store.cursor;
      for (const [from, push] of this.held) {
        if (push.toSeq <= cursor) {
          this.held.delete(from);
        } else if (from <= cursor) {
          // Every change in (fromSeq, toSeq] is in this push, so the cursor can move to toSeq.
          this.held.delete(from);
          this.store.applyChanges(push.changes, {
            cursor: push.toSeq,
            epoch: push.epoch,
            syncedAt: new Date(this.opts.now()).toISOString(),
          });
          this.centralHead = Math.max(this.centralHead, push.toSeq);
          this.emitApplied(push.changes);
          progressed = true;
        }
      }
    }
    if (this.held.size === 0) this.clearGap();
    else if (!this.retryTimer) {
      // (After a failed catch-up the retry's backoff decides when to pull again.)
      this.gapTimer ??= setTimeout(() => {
        this.gapTimer = undefined;
        if (this.held.size > 0 && this.isOnline()) void this.requestCatchUp();
      }, this.opts.gapWaitMs);
      this.gapTimer.unref();
    }
  }

  private onHead(beat: HeadBeat): void {
    this.measureClock(beat.serverTime, this.opts.now());
    this.centralHead = Math.max(beat.head, this.store.cursor);
    const behind = beat.head > this.store.cursor;
    if (
      beat.epoch !== this.store.epoch ||
      beat.head < this.store.cursor ||
      beat.rulesVersion !== this.store.rules?.version
    ) {
      void this.requestCatchUp();
    } else if (behind) {
      // A push may be on its way from another central process; give it the gap's wait.
      this.behindTimer ??= setTimeout(() => {
        this.behindTimer = undefined;
        if (!this.stopped && this.store.cursor < beat.head) void this.requestCatchUp();
      }, this.opts.gapWaitMs);
      this.behindTimer.unref();
    }
    if (this.store.outboxCounts().queued > 0) this.requestFlush();
    this.requestCatalogue();
    this.emit('status');
  }

  // --- outbox -------------------------------------------------------------------------------

  private requestFlush(): void {
    void this.flusher.request();
  }

  private async flush(): Promise<void> {
    for (;;) {
      if (!this.isOnline()) return;
      const items = withinBytes(this.store.queued(this.opts.submitBatch), SUBMIT_MAX_BYTES);
      if (items.length === 0) return;
      const raw: unknown = await this.socket
        .timeout(this.opts.requestTimeoutMs)
        .emitWithAck('outbox:submit', {
          items: items.map((i) => ({ kind: i.kind, key: i.key, body: i.body })),
        });
      const answer = parseSubmitAnswer(raw);
      if ('error' in answer && (answer.error as { status?: unknown } | null)?.status === 403) {
        this.refuse({ code: 'revoked', message: 'Central refused this terminal: it was revoked.' });
        return;
      }
      if ('error' in answer) {
        // Central failed as a whole (or refused this terminal): nothing is settled; try later.
        this.store.settle(items.map((i) => ({ key: i.key, fate: 'failed', error: answer.error })));
        throw new Error(`central did not take the outbox: ${describe(answer.error)}`);
      }
      const byKey = new Map(answer.results.map((r) => [r.key, r]));
      const outcomes = items.map((item): Parameters<TerminalStore['settle']>[0][number] => {
        const result = byKey.get(item.key);
        if (!result) {
          return { key: item.key, fate: 'failed', error: { detail: 'no answer for this item' } };
        }
        if (result.outcome !== 'refused') {
          // The member's state after the commit goes in with the settlement, so the counter
          // never shows the member or the sale's points missing while the push is on its way.
          return result.state
            ? { key: item.key, fate: 'applied', state: result.state }
            : { key: item.key, fate: 'applied' };
        }
        if (result.status >= 500) {
          return { key: item.key, fate: 'failed', error: result.body };
        }
        return { key: item.key, fate: 'refused', error: result.body };
      });
      this.store.settle(outcomes);
      this.emit('status');
      if (outcomes.some((o) => o.fate === 'failed'))
        throw new Error('central could not apply some outbox items; will retry');
    }
  }

  private failed(error: unknown): void {
    this.emit('error-note', error);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, 30_000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.isOnline()) void this.requestCatchUp();
    }, delay);
    this.retryTimer.unref();
  }

  // --- helpers ------------------------------------------------------------------------------

  private measureClock(serverTime: string, sentAtMs: number): void {
    const receivedAt = this.opts.now();
    const offset = Date.parse(serverTime) - Math.round((sentAtMs + receivedAt) / 2);
    // Ignore jitter below a second; remember larger offsets across restarts.
    if (Math.abs(offset - this.clockOffsetMs) >= 1_000) {
      this.clockOffsetMs = offset;
      this.store.setMeta('clockOffsetMs', String(offset));
    }
  }

  private refuse(refusal: SyncRefusal): void {
    this.refusal = refusal;
    this.setLink('refused');
    this.socket.disconnect();
    this.emit('refused', refusal);
  }

  private clearGap(): void {
    if (this.gapTimer) clearTimeout(this.gapTimer);
    this.gapTimer = undefined;
  }

  private clearBehind(): void {
    if (this.behindTimer) clearTimeout(this.behindTimer);
    this.behindTimer = undefined;
  }

  private isOnline(): boolean {
    return this.link === 'online';
  }

  private setLink(link: LinkState): void {
    if (this.link === link) return;
    this.link = link;
    this.emit('status');
  }

  private emitApplied(changes: readonly MemberState[]): void {
    if (changes.length > 0) this.emit('applied', changes.length);
    this.emit('status');
  }
}

/**
 * Runs a task one at a time: a request while it runs makes it run once more afterwards (so
 * nothing asked for is missed), and many requests meanwhile still make only one more run.
 */
class Coalesced {
  running: Promise<void> | undefined;
  private asked = 0;

  private readonly task: () => Promise<void>;
  private readonly mayRepeat: () => boolean;
  private readonly onError: (error: unknown) => void;
  private readonly after: () => void;

  constructor(
    task: () => Promise<void>,
    mayRepeat: () => boolean,
    onError: (error: unknown) => void,
    after: () => void,
  ) {
    this.task = task;
    this.mayRepeat = mayRepeat;
    this.onError = onError;
    this.after = after;
  }

  request(): Promise<void> {
    this.asked += 1;
    this.running ??= this.run();
    return this.running;
  }

  private async run(): Promise<void> {
    try {
      let seen;
      do {
        seen = this.asked;
        await this.task();
      } while (seen !== this.asked && this.mayRepeat());
    } catch (error) {
      this.onError(error);
    } finally {
      this.running = undefined;
    }
    try {
      this.after();
    } catch (error) {
      this.onError(error);
    }
  }
}

/** A page's states as text: central sends them as a binary attachment (UTF-8 JSON text). */
function textOf(states: string | Uint8Array): string {
  return typeof states === 'string'
    ? states
    : Buffer.from(states.buffer, states.byteOffset, states.byteLength).toString('utf8');
}

/** Central accepts messages up to 2 MB; a submit stays well below it whatever its items hold. */
export const SUBMIT_MAX_BYTES = 1_000_000;

/** The leading items whose bodies fit in `maxBytes` (always at least one). */
function withinBytes<T extends { body: unknown }>(items: T[], maxBytes: number): T[] {
  let total = 0;
  const out: T[] = [];
  for (const item of items) {
    total += JSON.stringify(item.body).length + 200;
    if (out.length > 0 && total > maxBytes) break;
    out.push(item);
  }
  return out;
}

function parseSubmitAnswer(raw: unknown): { results: SubmitResult[] } | { error: unknown } {
  if (raw && typeof raw === 'object' && 'error' in raw) return { error: raw.error };
  const results = (raw as { results?: unknown } | null)?.results;
  if (!Array.isArray(results)) return { error: { detail: `unexpected answer ${describe(raw)}` } };
  return { results: results.map((r) => SubmitResult.parse(r)) };
}

function describe(value: unknown): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

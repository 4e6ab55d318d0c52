import type http from 'node:http';
import { EventEmitter } from 'node:events';
import { Server, type Namespace, type Socket } from 'socket.io';
import {
  CATALOGUE_PULL,
  CataloguePullRequest,
  type CataloguePage,
  type ChangePush,
  Hello,
  HEARTBEAT_MS,
  MAX_SUBMIT,
  type HeadBeat,
  OutboxItem,
  PROTOCOL_VERSION,
  PullRequest,
  SubmitRequest,
  type PullResponse,
  type Rules,
  type SubmitResult,
  type SyncRefusal,
} from '../../shared/protocol/sync.ts';
import { AppError, PROBLEMS } from '../errors.ts';
import type { Db } from '../db/connect.ts';
import { cataloguePage } from '../db/catalogue-store.ts';
import { readSyncFacts } from '../db/rules-revision.ts';
import type { Stamp } from '../db/ledger-store.ts';
import * as syncStore from '../db/sync-store.ts';
import { hashRequest, type Actor, type LedgerWriter } from '../ledger/writer.ts';
import type { Logger } from '../log.ts';
import type { Clock } from '../time.ts';
import { isTerminalSecret } from './pairing.ts';

/** How often connected terminals' last-seen time is written (one statement for all). */
const SEEN_WRITE_MS = 60_000;

/** Where Socket.IO listens on central's HTTP server. */
export const SYNC_PATH = '/sync/socket.io';

/** The Socket.IO room of a showroom's terminals. */
function showroomRoom(showroomId: number): string {
  return `showroom:${showroomId}`;
}

type TerminalData = CounterRef;

/** Interval of the cluster adapter's heartbeat: every live central process speaks this often. */
export const ADAPTER_HEARTBEAT_MS = 1_000;
/**
 * How long after start a process publishes every push to the other central processes, heard from
 * or not: three adapter heartbeats, by which time it has heard from every live one.
 */
const PEER_GRACE_MS = 3 * ADAPTER_HEARTBEAT_MS;
/** Heard nothing on the adapter for this long (not even its own heartbeat): it is not listening. */
export const ADAPTER_SILENCE_MS = 3 * ADAPTER_HEARTBEAT_MS;

/** Options of the sync server: a Socket.IO adapter to fan pushes out across central processes. */
export interface SyncOptions {
  /**
   * A cluster adapter. Its serverCount() must count the processes it has heard from (as the
   * Socket.IO adapters with heartbeats do): a push is published only while another may listen.
   */
  adapter?: Parameters<Server['adapter']>[0];
  /** Interval of the head heartbeat; HEARTBEAT_MS unless a test wants it faster. */
  heartbeatMs?: number;
  /** How long after start every push is published to other processes; PEER_GRACE_MS by default. */
  peerGraceMs?: number;
  /**
   * Whether the adapter has heard its channel lately (its own heartbeat at least): when it has
   * not, it cannot know who listens, and every push is published. Without it, always assumed.
   */
  adapterHears?: () => boolean;
  /**
   * Further request events a paired terminal may send (redemption): each answers its
   * acknowledgement with the handler's result, or `{ error: Problem }`. A revoked terminal is
   * refused and disconnected, as for outbox submits.
   */
  requests?: Record<string, (counter: CounterRef, raw: unknown) => Promise<unknown>>;
}

/** The paired terminal a request comes from. */
export interface CounterRef {
  terminalId: string;
  showroomId: number;
  showroomCode: string;
}

/** The parts the sync server needs from a central process. */
export interface SyncDeps {
  db: Db;
  writer: LedgerWriter;
  log: Logger;
  clock: Clock;
  /**
   * Emits 'committed' with a Stamp after each ledger commit that changed members; the sync
   * server emits 'committed:elsewhere' on it when another central process's commit reaches it.
   */
  changes: EventEmitter;
}

/** Central's side of replication: one Socket.IO namespace for every paired terminal. */
export class SyncServer {
  readonly io: Server;
  private readonly nsp: Namespace;
  private readonly deps: SyncDeps;
  private readonly heartbeat: NodeJS.Timeout;
  private seenWrittenAtMs = 0;
  private readonly onCommitted: (stamp: Stamp) => void;
  private epoch: string | undefined;
  /** Settles once the epoch is known. */
  readonly ready: Promise<void>;
  /**
   * The rules' chain-wide part and each showroom's rules, read again only when the rules
   * revision in the database moved (any process, the CLI): `asked` is the revision that made
   * it load, `loaded` the one it read.
   */
  private rules:
    | {
        asked: string;
        loaded: string | undefined;
        chain: Promise<syncStore.ChainRules>;
        byShowroom: Map<number, Rules>;
      }
    | undefined;
  /** What this process has done, for tests and diagnostics. */
  readonly stats = { rulesLoads: 0, cataloguePages: 0 };
  /** Whether other central processes share this namespace through an adapter. */
  private readonly clustered: boolean;
  /** Until then every push is published, heard from other processes or not (see pushElsewhere). */
  private readonly publishAllUntilMs: number;
  /** Whether this process's listening connection heard the adapter's channel lately. */
  readonly adapterHears: () => boolean;
  private readonly requests: NonNullable<SyncOptions['requests']>;

  constructor(httpServer: http.Server, deps: SyncDeps, options: SyncOptions = {}) {
    this.deps = deps;
    this.requests = options.requests ?? {};
    this.io = new Server(httpServer, {
      path: SYNC_PATH,
      serveClient: false,
      // WebSocket only: no long-polling, so a load balancer needs no sticky sessions.
      transports: ['websocket'],
      maxHttpBufferSize: 2_000_000,
      ...(options.adapter ? { adapter: options.adapter } : {}),
    });
    this.nsp = this.io.of('/sync');
    this.nsp.use((socket, next) => {
      this.admit(socket).then(
        () => {
          next();
        },
        (error: unknown) => {
          next(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
    this.nsp.on('connection', (socket) => {
      this.serve(socket);
    });
    this.onCommitted = (stamp) => {
      this.push(stamp);
    };
    this.clustered = options.adapter !== undefined;
    this.publishAllUntilMs = performance.now() + (options.peerGraceMs ?? PEER_GRACE_MS);
    this.adapterHears = options.adapterHears ?? (() => true);
    if (this.clustered) {
      // A commit on another central process: hand its push to the terminals connected here.
      this.nsp.on('member:changed', (message: ChangePush) => {
        this.nsp.local.emit('member:changed', message);
        // The console's live figures here are as stale as the terminals' caches were.
        deps.changes.emit('committed:elsewhere');
      });
    }
    // The epoch is read once, before any terminal is admitted, so a push goes out synchronously
    // after its commit: on the socket that submitted a sale, the push precedes the answer.
    this.ready = syncStore.getEpoch(deps.db.knex).then((epoch) => {
      this.epoch = epoch;
    });
    deps.changes.on('committed', this.onCommitted);
    this.heartbeat = setInterval(() => {
      void this.beat();
    }, options.heartbeatMs ?? HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Sends an event to one terminal, wherever it is connected (through the adapter). */
  sendToTerminal(terminalId: string, event: string, payload: unknown): void {
    this.nsp.to(`terminal:${terminalId}`).emit(event, payload);
  }

  /** Disconnects a terminal at once, on every central process sharing the adapter. */
  disconnectTerminal(terminalId: string): void {
    this.nsp.to(`terminal:${terminalId}`).emit('terminal:revoked', {
      code: 'revoked',
      message: 'An administrator revoked this terminal; pair it again to use it.',
    } satisfies SyncRefusal);
    this.nsp.in(`terminal:${terminalId}`).disconnectSockets(true);
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    this.deps.changes.off('committed', this.onCommitted);
    // Not disconnectSockets(): a client told to disconnect by the server does not come back by
    // itself. Closing the server drops the transports, and terminals reconnect to its successor.
    await new Promise<void>((resolve) => {
      void this.io.close(() => {
        resolve();
      });
    });
  }

  private async epochOf(): Promise<string> {
    await this.ready;
    return this.epoch ?? '';
  }

  /**
   * The rules of a showroom's terminals at `revision` (or later). The chain-wide part is read
   * once for every showroom (and once for concurrent callers), and only when the revision moved;
   * each showroom adds its own staff.
   */
  private async currentRules(showroomId: number, revision: string): Promise<Rules> {
    let cached = this.rules;
    if (!cached || (cached.asked !== revision && cached.loaded !== revision)) {
      const chain = syncStore.loadChainRules(this.deps.db);
      const entry = {
        asked: revision,
        loaded: undefined as string | undefined,
        chain,
        byShowroom: new Map<number, Rules>(),
      };
      this.rules = cached = entry;
      this.stats.rulesLoads += 1;
      chain.then(
        (read) => {
          entry.loaded = read.revision;
        },
        () => {
          // A failed read is not kept: the next caller reads again.
          if (this.rules === entry) this.rules = undefined;
        },
      );
    }
    const chain = await cached.chain;
    let rules = cached.byShowroom.get(showroomId);
    if (!rules) {
      rules = syncStore.rulesForShowroom(chain, showroomId);
      cached.byShowroom.set(showroomId, rules);
    }
    return rules;
  }

  private async admit(socket: Socket): Promise<void> {
    await this.ready;
    const hello = Hello.safeParse(socket.handshake.auth);
    if (!hello.success)
      throw refusal('bad-hello', 'The handshake is not a Showroom Loyalty terminal hello.');
    if (hello.data.protocolVersion !== PROTOCOL_VERSION) {
      throw refusal(
        'protocol-version',
        `This central speaks sync protocol ${PROTOCOL_VERSION}; the terminal speaks ${hello.data.protocolVersion}. Update the terminal${hello.data.protocolVersion > PROTOCOL_VERSION ? ' or central' : ''}.`,
      );
    }
    const terminal = await syncStore.findTerminal(this.deps.db, hello.data.terminalId);
    if (!terminal || !isTerminalSecret(hello.data.secret, terminal.secretHash)) {
      throw refusal(
        'unknown-terminal',
        'This terminal is not paired with this central (unknown id or wrong secret); pair it again.',
      );
    }
    if (terminal.revokedAt) {
      throw refusal(
        'revoked',
        `This terminal was revoked at ${terminal.revokedAt}; pair it again to use it.`,
      );
    }
    const data: TerminalData = {
      terminalId: terminal.id,
      showroomId: terminal.showroomId,
      showroomCode: terminal.showroomCode,
    };
    socket.data = data;
    await syncStore.touchTerminal(
      this.deps.db,
      terminal.id,
      this.deps.clock.now(),
      hello.data.appVersion ?? null,
    );
  }

  private serve(socket: Socket): void {
    const terminal = socket.data as TerminalData;
    void socket.join(`terminal:${terminal.terminalId}`);
    // Heartbeats go out per showroom: each carries the version of that showroom's rules.
    void socket.join(showroomRoom(terminal.showroomId));
    this.deps.log.info(
      { event: 'sync:connected', terminal: terminal.terminalId },
      'terminal connected',
    );
    socket.on('sync:pull', (raw: unknown, maybeAck: unknown) => {
      const ack = asAck(maybeAck);
      if (!ack) return;
      this.pull(terminal, raw).then(
        (answer) => {
          ack(answer);
        },
        (error: unknown) => {
          ack({ error: problemOf(this.deps.log, error) });
        },
      );
    });
    socket.on(CATALOGUE_PULL, (raw: unknown, maybeAck: unknown) => {
      const ack = asAck(maybeAck);
      if (!ack) return;
      this.catalogue(raw).then(
        (answer) => {
          ack(answer);
        },
        (error: unknown) => {
          ack({ error: problemOf(this.deps.log, error) });
        },
      );
    });
    socket.on('outbox:submit', (raw: unknown, maybeAck: unknown) => {
      const ack = asAck(maybeAck);
      if (!ack) return;
      this.submit(terminal, raw).then(
        (answer) => {
          ack(answer);
        },
        (error: unknown) => {
          ack({ error: problemOf(this.deps.log, error) });
        },
      );
    });
    for (const [event, handler] of Object.entries(this.requests)) {
      socket.on(event, (raw: unknown, maybeAck: unknown) => {
        const ack = asAck(maybeAck);
        if (!ack) return;
        let revoked = false;
        this.isRevoked(terminal.terminalId)
          .then((isRevoked) => {
            revoked = isRevoked;
            if (revoked) {
              throw new AppError(
                'forbidden',
                'This terminal was revoked; pair it again to use it.',
              );
            }
            return handler(terminal, raw);
          })
          .then(
            (answer) => {
              ack(answer);
            },
            (error: unknown) => {
              ack({ error: requestProblem(this.deps.log, error) });
              // After the answer, so the counter reads why before the link drops.
              if (revoked) this.disconnectTerminal(terminal.terminalId);
            },
          );
      });
    }
    socket.on('disconnect', (reason) => {
      this.deps.log.info(
        { event: 'sync:disconnected', terminal: terminal.terminalId, reason },
        'terminal left',
      );
    });
  }

  private async pull(terminal: TerminalData, raw: unknown): Promise<PullResponse> {
    const request = PullRequest.safeParse(raw);
    if (!request.success)
      throw new AppError(
        'validation',
        `sync:pull: ${request.error.issues[0]?.message ?? 'invalid'}`,
      );
    const { after, limit, rulesVersion } = request.data;
    const { rulesRevision, ...page } = await syncStore.pullChanges(this.deps.db, after, limit);
    // Only the rules travel here, never the catalogue: an answer stays a page of states.
    const rules = await this.currentRules(terminal.showroomId, rulesRevision);
    return {
      ...page,
      // As a binary attachment: 700 kB of JSON text inside a JSON packet would be escaped by
      // central and unescaped by the terminal; binary goes as it is (a fifth less time a page).
      states: Buffer.from(page.states, 'utf8'),
      hasMore: page.count === limit,
      ...(rulesVersion === rules.version ? {} : { rules }),
      serverTime: this.deps.clock.now().toISOString(),
    };
  }

  /** One page of the catalogue (`catalogue:pull`), fetched by a terminal in the background. */
  private async catalogue(raw: unknown): Promise<CataloguePage> {
    const request = CataloguePullRequest.safeParse(raw);
    if (!request.success)
      throw new AppError(
        'validation',
        `catalogue:pull: ${request.error.issues[0]?.message ?? 'invalid'}`,
      );
    const { afterSku, limit } = request.data;
    const page = await cataloguePage(this.deps.db, afterSku, limit);
    this.stats.cataloguePages += 1;
    return {
      version: page.version,
      products: page.products,
      hasMore: page.hasMore,
      nextAfterSku: page.hasMore ? (page.products.at(-1)?.sku ?? null) : null,
    };
  }

  private async submit(terminal: TerminalData, raw: unknown): Promise<{ results: SubmitResult[] }> {
    const request = SubmitRequest.safeParse(raw);
    if (!request.success)
      throw new AppError('validation', `outbox:submit needs 1–${MAX_SUBMIT} items.`);
    // A revoked terminal is disconnected at once (on every process, through the adapter); one
    // revoked from the CLI is caught here within a second, and by the heartbeat.
    if (await this.isRevoked(terminal.terminalId)) {
      this.disconnectTerminal(terminal.terminalId);
      throw new AppError('forbidden', 'This terminal was revoked; pair it again to use it.');
    }
    const actor: Actor = {
      staffId: null,
      role: 'cashier',
      showroomId: terminal.showroomId,
      terminalId: terminal.terminalId,
    };
    // Items go to the writer together, so a replayed outbox is grouped into few commits, but a
    // sale waits for its member's enrolment to commit: concurrent batches commit in any order.
    const results: SubmitResult[] = [];
    // A member whose item failed on central's side (5xx): its later items are not attempted
    // (503, so the terminal resends them with it), lest a sale be refused for want of an
    // enrolment that will succeed on the next try.
    const failed = new Set<string>();
    for (const segment of segmentsByMember(request.data.items)) {
      results.push(
        ...(await Promise.all(
          segment.map(async (raw) => {
            const mobile = mobileKeyOf(raw);
            if (mobile && failed.has(mobile)) return notAttempted(raw);
            const result = await this.submitOne(actor, raw);
            if (mobile && result.outcome === 'refused' && result.status >= 500) failed.add(mobile);
            return result;
          }),
        )),
      );
    }
    // Each written item carries its member's state as of after the commit, so the terminal
    // settles the item and holds that state in one step: its push may still be on its way.
    // The writer gives the state it stamped; a replay (nothing stamped) reads it.
    const missing = results.flatMap((r) => {
      const id = r.outcome === 'refused' || r.state ? undefined : memberIdOf(r.body);
      return id === undefined ? [] : [id];
    });
    const states = await syncStore.memberStates(this.deps.db, missing);
    return {
      results: results.map((r) => {
        if (r.outcome === 'refused' || r.state) return r;
        const state = states.get(memberIdOf(r.body) ?? 0);
        return state ? { ...r, state } : r;
      }),
    };
  }

  private readonly revocation = new Map<string, { checkedMs: number; revoked: boolean }>();

  /** Whether a terminal is revoked, read from the database at most once a second. */
  private async isRevoked(terminalId: string): Promise<boolean> {
    const now = performance.now();
    const known = this.revocation.get(terminalId);
    if (known && now - known.checkedMs < 1_000) return known.revoked;
    const row = await syncStore.findTerminal(this.deps.db, terminalId);
    const revoked = !row || row.revokedAt !== null;
    this.revocation.set(terminalId, { checkedMs: now, revoked });
    return revoked;
  }

  private async submitOne(actor: Actor, rawItem: unknown): Promise<SubmitResult> {
    const item = OutboxItem.safeParse(rawItem);
    const key =
      typeof (rawItem as { key?: unknown } | null)?.key === 'string'
        ? (rawItem as { key: string }).key
        : '';
    if (!item.success) {
      const issue = item.error.issues[0];
      return {
        key,
        outcome: 'refused',
        status: 400,
        body: problemBody(
          new AppError(
            'validation',
            `/${issue?.path.join('/') ?? ''}: ${issue?.message ?? 'invalid'}`,
          ),
        ),
      };
    }
    try {
      const outcome =
        item.data.kind === 'sale'
          ? await this.deps.writer.write({
              kind: 'sale',
              key: item.data.key,
              requestHash: hashRequest(item.data.body),
              sale: item.data.body,
              actor,
            })
          : await this.deps.writer.write({ kind: 'enrol', request: item.data.body, actor });
      return {
        key: item.data.key,
        outcome: outcome.replayed ? 'replayed' : 'applied',
        status: outcome.status,
        body: outcome.body,
        ...(outcome.state ? { state: outcome.state } : {}),
      };
    } catch (error) {
      // A refusal is final for this item; anything else is central's failure: 500, retried.
      const body = problemOf(this.deps.log, error);
      return { key: item.data.key, outcome: 'refused', status: body.status, body };
    }
  }

  private push(stamp: Stamp): void {
    if (this.epoch === undefined) return; // nobody is admitted before the epoch is known
    const message: ChangePush = {
      epoch: this.epoch,
      fromSeq: stamp.fromSeq,
      toSeq: stamp.toSeq,
      changes: stamp.states,
    };
    // To this process's terminals first, synchronously, so that on the socket that submitted the
    // item the push goes out before the answer (docs/protocol.md §6.4). A cluster adapter's
    // broadcast delivers locally only after its publish (a NOTIFY round trip on PostgreSQL), by
    // when the answer has gone; so other processes get the push separately.
    this.nsp.local.emit('member:changed', message);
    if (this.clustered) this.pushElsewhere(message);
  }

  /**
   * Publishes a push to the other central processes, unless none is known. With one process, the
   * usual installation, each publish was a NOTIFY transaction at PostgreSQL (a commit; past 8,000
   * bytes also an attachment row) echoed back to this process, for no listener: a tenth of
   * central's CPU at 200 sales/s. The adapter counts the processes it has heard from, and every
   * live one speaks at least once per ADAPTER_HEARTBEAT_MS (and is forgotten after 10 s of
   * silence). So every push is published for PEER_GRACE_MS after start, before this process can
   * have heard them all, and whenever its own listening connection has heard nothing lately
   * (down, or reconnecting), when silence proves nothing. A push another process misses all the
   * same (its own listening connection was down) is caught up like every lost push: its
   * terminals see the gap in change numbers at the next push, or the head in the next beat.
   */
  private pushElsewhere(message: ChangePush): void {
    const toAll = performance.now() < this.publishAllUntilMs || !this.adapterHears();
    // serverCount() resolves at once; every push waits for it, so pushes leave in commit order
    // (microtasks are FIFO) whichever way each is decided.
    this.nsp.adapter.serverCount().then(
      (processes) => {
        if (toAll || processes > 1) this.nsp.serverSideEmit('member:changed', message);
      },
      () => {
        this.nsp.serverSideEmit('member:changed', message);
      },
    );
  }

  private async beat(): Promise<void> {
    try {
      const head: { head: number } | undefined = await this.deps.db
        .knex('change_seq')
        .where('id', 1)
        .first('head');
      // Re-read, so that `new-epoch` run beside a live central takes effect within a beat; and
      // the rules' revision, one value: the rules are read again only when it moved.
      const facts = await readSyncFacts(this.deps.db.knex);
      this.epoch = facts.epoch;
      const sockets = [...this.nsp.sockets.values()].map((s) => s.data as TerminalData);
      for (const showroomId of new Set(sockets.map((t) => t.showroomId))) {
        const rules = await this.currentRules(showroomId, facts.rulesRevision);
        this.nsp.local.to(showroomRoom(showroomId)).emit('sync:head', {
          epoch: this.epoch,
          head: head?.head ?? 0,
          rulesVersion: rules.version,
          serverTime: this.deps.clock.now().toISOString(),
        } satisfies HeadBeat);
      }
      // A terminal revoked from another process or the CLI is cut off within one heartbeat.
      const connected = sockets.map((t) => t.terminalId);
      if (connected.length > 0) {
        const revoked: { id: string }[] = await this.deps.db
          .knex('terminals')
          .whereIn('id', connected)
          .whereNotNull('revoked_at')
          .select('id');
        for (const r of revoked) this.disconnectTerminal(r.id);
        // "Last seen" in the console: connected terminals are seen now, written once a minute.
        const nowMs = this.deps.clock.now().getTime();
        if (nowMs - this.seenWrittenAtMs >= SEEN_WRITE_MS) {
          this.seenWrittenAtMs = nowMs;
          await syncStore.markTerminalsSeen(this.deps.db, connected, this.deps.clock.now());
        }
      }
    } catch (error) {
      this.deps.log.warn({ event: 'sync:heartbeat-failed', err: error }, 'heartbeat failed');
    }
  }
}

/** The member a written sale (memberId) or enrolment (member.id) concerns. */
function memberIdOf(body: unknown): number | undefined {
  const b = body as { memberId?: unknown; member?: { id?: unknown } } | null;
  const id = b?.memberId ?? b?.member?.id;
  return typeof id === 'number' ? id : undefined;
}

type Ack = (answer: unknown) => void;

/** A request without an acknowledgement callback has no one to answer; it is ignored. */
function asAck(value: unknown): Ack | undefined {
  return typeof value === 'function' ? (value as Ack) : undefined;
}

function refusal(code: SyncRefusal['code'], message: string): Error {
  const error = new Error(message) as Error & { data: SyncRefusal };
  error.data = { code, message };
  return error;
}

function problemBody(error: AppError): { type: string; status: number; detail: string } {
  return { type: `/problems/${error.code}`, status: error.status, detail: error.message };
}

/** The member an item concerns, as the last ten digits of its mobile ('' if none). */
function mobileKeyOf(item: unknown): string {
  const mobile = (item as { body?: { mobile?: unknown } } | null)?.body?.mobile;
  return typeof mobile === 'string' ? mobile.replace(/\D/g, '').slice(-10) : '';
}

function notAttempted(item: unknown): SubmitResult {
  const key = (item as { key?: unknown } | null)?.key;
  return {
    key: typeof key === 'string' ? key : '',
    outcome: 'refused',
    status: 503,
    body: {
      type: '/problems/not-attempted',
      status: 503,
      detail: 'Not attempted: an earlier item for this member failed on central; send both again.',
    },
  };
}

/**
 * Splits items into runs, keeping their order, so that a sale never shares a run with the
 * enrolment of its member: the enrolment's run commits first. Other items need no order
 * between them (each sale earns on its own), so a replayed outbox stays in few commits.
 */
export function segmentsByMember(items: readonly unknown[]): unknown[][] {
  const segments: unknown[][] = [];
  let current: unknown[] = [];
  let enrolled = new Set<string>();
  for (const item of items) {
    const kind = (item as { kind?: unknown } | null)?.kind;
    const mobile = mobileKeyOf(item);
    if (mobile && enrolled.has(mobile)) {
      segments.push(current);
      current = [];
      enrolled = new Set();
    }
    if (mobile && kind === 'enrol') enrolled.add(mobile);
    current.push(item);
  }
  if (current.length > 0) segments.push(current);
  return segments;
}

/** A request event's problem: RFC 9457 fields plus the code and any field errors. */
function requestProblem(log: Logger, error: unknown): Record<string, unknown> {
  if (!(error instanceof AppError)) return { ...problemOf(log, error), code: 'internal' };
  return {
    ...problemBody(error),
    title: PROBLEMS[error.code].title,
    code: error.code,
    ...(error.errors ? { errors: error.errors } : {}),
  };
}

function problemOf(log: Logger, error: unknown): { type: string; status: number; detail: string } {
  if (error instanceof AppError) return problemBody(error);
  log.error({ event: 'sync:error', err: error }, 'sync request failed');
  return {
    type: '/problems/internal',
    status: 500,
    detail:
      'Central failed on this request; the terminal will send it again (its key makes that safe).',
  };
}

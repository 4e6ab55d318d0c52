/**
 * Replication baselines for the sync benchmark (bench/sync.ts imports these).
 *
 * Everything runs in this one process, on loopback (127.0.0.1, ephemeral ports), with
 * in-memory storage only; nothing is written to disk. Every function starts its own
 * servers and clients and tears all of them down (sockets, HTTP servers, replications,
 * feeds, timers, in-memory databases) before it resolves or rejects, so a process that
 * runs them can exit on its own.
 *
 * Three families:
 *
 * - `socketIoRelayPropagation`: the floor. A bare Socket.IO server with no database that
 *   relays every message from one client to all the others.
 * - PouchDB: express-pouchdb 4 run standalone (it brings its own Express 4 app; it does not
 *   mount in Express 5) over an in-memory PouchDB; terminals are in-memory PouchDBs that
 *   replicate over HTTP with PouchDB's own CouchDB replication protocol.
 * - RxDB 17 (open-core plugins only, dev-mode off): the central is an RxDatabase on the
 *   memory storage whose collection is exposed through RxDB's own server-side replication
 *   handler (`rxStorageInstanceToReplicationHandler`, the same handler RxDB's free
 *   `replication-websocket` plugin serves) over a Socket.IO server on loopback; terminals
 *   are memory-storage RxDatabases that run `replicateRxCollection` with pull/push
 *   handlers and a pull stream$ carried by Socket.IO. Why Socket.IO and not the
 *   `replication-websocket` plugin's client: that client opens its own reconnecting
 *   socket which a caller cannot close or take offline short of closing the database,
 *   and it logs to the console on errors; with Socket.IO the transport is the same one
 *   the relay floor (and the product) uses, and the catch-up case can take B offline.
 *
 * The member document is `{ id, mobile, name, balance, tier: 'base', smsConsent, seq }`.
 * PouchDB stores it under `_id = m:${id}`. RxDB needs a string primary key, so its
 * documents carry an extra `pk = m:${id}` field (RxDB cannot use the numeric `id`).
 * `seq` is set to the number of the write that produced the state.
 *
 * All latencies are `performance.now()` differences within this process, taken from just
 * before the writer's local write (or emit) until the receiver's change callback runs.
 * Servers and clients share this one Node event loop, so the figures include the work
 * of every other in-process client, which separate terminals would not impose on each
 * other; once that loop saturates, the latency is mostly queueing. (PouchDB saturates it
 * already at 5 clients and 50 background writes/s: each change costs each client several
 * HTTP requests through express-pouchdb.)
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Server as IoServer } from 'socket.io';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { Subject } from 'rxjs';
import {
  awaitRxStorageReplicationFirstInSync,
  cancelRxStorageReplication,
  createRxDatabase,
  defaultConflictHandler,
  defaultHashSha256,
  fillWithDefaultSettings,
  getRxReplicationMetaInstanceSchema,
  replicateRxStorageInstance,
  rxStorageInstanceToReplicationHandler,
  type RxCollection,
  type RxDatabase,
  type RxDocumentData,
  type RxJsonSchema,
  type RxReplicationHandler,
  type RxReplicationPullStreamItem,
  type RxReplicationWriteToMasterRow,
  type RxStorageDefaultCheckpoint,
  type RxStorageInstance,
} from 'rxdb';
import { getRxStorageMemory } from 'rxdb/plugins/storage-memory';
import { replicateRxCollection, type RxReplicationState } from 'rxdb/plugins/replication';

// ---------------------------------------------------------------------------------------
// Public shapes

export interface PropagationOptions {
  /** Measured writes (after 5 unmeasured warm-up writes). */
  samples: number;
  /** Connected/replicating clients in total, writer A and receiver B included (>= 2). */
  clients: number;
  /** Background member updates per second, relayed/replicated to every client (0 = none). */
  backgroundPerSec: number;
  /**
   * A sample that has not reached B after this long fails the run (default 15 000 ms).
   * An overloaded in-process PouchDB setup (e.g. 20+ clients with background writes) can
   * need more; past saturation its latency grows without bound.
   */
  sampleTimeoutMs?: number;
}

export interface PropagationResult {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface CatchUpOptions {
  /** Member documents changed at the server while B is offline. */
  changes: number;
  /** Member documents at the server in total (default: 2 × changes, at least `changes`). */
  members?: number;
}

export interface BootstrapOptions {
  members: number;
}

export interface MemberDoc {
  id: number;
  mobile: string;
  name: string;
  balance: number;
  tier: 'base';
  smsConsent: boolean;
  seq: number;
}

// ---------------------------------------------------------------------------------------
// Shared helpers

const WARMUP_WRITES = 5;
/** Sample writes rotate over these member ids; background writes use the ones after. */
const SAMPLE_DOCS = 20;
const BACKGROUND_DOCS = 100;
const PROPAGATION_MEMBERS = SAMPLE_DOCS + BACKGROUND_DOCS;
/** Batch size for one-shot replications (catch-up and bootstrap), both systems. */
const ONE_SHOT_BATCH = 1000;
const SAMPLE_TIMEOUT_MS = 15_000;
const CONVERGE_TIMEOUT_MS = 60_000;
const SEED_CHUNK = 1000;

export function memberDoc(id: number, balance = id % 1000, seq = 0): MemberDoc {
  return {
    id,
    mobile: `+9198${String(id).padStart(8, '0')}`,
    name: `Member ${id}`,
    balance,
    tier: 'base',
    smsConsent: id % 2 === 0,
    seq,
  };
}

const docKey = (id: number): string => `m:${id}`;

const round2 = (n: number): number => Number(n.toFixed(2));

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/** A teardown step; each function runs its steps in reverse order of registration. */
type Cleanup = () => unknown;

/** Nearest-rank percentile of sorted numbers (same definition as bench/support.ts). */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? NaN;
}

function summarize(latencies: number[]): PropagationResult {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    p50Ms: round2(percentile(sorted, 50)),
    p99Ms: round2(percentile(sorted, 99)),
    maxMs: round2(sorted[sorted.length - 1] ?? NaN),
  };
}

function checkPropagationOptions(name: string, opts: PropagationOptions): void {
  const { samples, clients, backgroundPerSec } = opts;
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`${name}: samples must be >= 1`);
  if (!Number.isInteger(clients) || clients < 2) throw new Error(`${name}: clients must be >= 2`);
  if (!(backgroundPerSec >= 0)) throw new Error(`${name}: backgroundPerSec must be >= 0`);
  if (opts.sampleTimeoutMs !== undefined && !(opts.sampleTimeoutMs > 0)) {
    throw new Error(`${name}: sampleTimeoutMs must be > 0`);
  }
}

function checkCount(name: string, what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: ${what} must be an integer >= 1`);
}

async function withTimeout<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`timed out after ${ms} ms: ${what}`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves on the first matching event of a receiver; one outstanding wait at a time. */
class Arrival {
  private pending: { match: (value: unknown) => boolean; resolve: (t: number) => void } | null =
    null;

  /** Call from the receiver's callback. */
  offer(value: unknown): void {
    const p = this.pending;
    if (p?.match(value)) {
      this.pending = null;
      p.resolve(performance.now());
    }
  }

  /** Arm before the write; the promise gives the performance.now() of the arrival. */
  expect(
    what: string,
    match: (value: unknown) => boolean,
    timeoutMs = SAMPLE_TIMEOUT_MS,
  ): Promise<number> {
    if (this.pending) throw new Error('Arrival: a wait is already outstanding');
    const arrived = withTimeout(
      what,
      timeoutMs,
      new Promise<number>((resolve) => {
        this.pending = { match, resolve };
      }),
    ).finally(() => {
      this.pending = null;
    });
    // If the write fails, nobody awaits this; its timeout must not become unhandled.
    arrived.catch(() => undefined);
    return arrived;
  }
}

/**
 * Drives `write` at `ratePerSec` from a 5 ms ticker. Writes run one after another; if they
 * fall behind, the backlog is capped at 100 ms worth of writes (the rest is dropped, so
 * an overloaded system sees at most the target rate, never a runaway burst). When the
 * rate reached is under 90 % of the one asked, stop() says so in a process warning, since
 * the latency figures then stand for a lighter load than requested.
 */
function startBackground(
  label: string,
  ratePerSec: number,
  write: (n: number) => Promise<void> | void,
): { stop(): Promise<number> } {
  if (ratePerSec <= 0) return { stop: () => Promise.resolve(0) };
  const start = performance.now();
  const maxBacklog = Math.max(1, Math.ceil(ratePerSec / 10));
  const state = { due: 0, written: 0, stopped: false, failure: null as unknown };
  let running: Promise<void> | null = null;
  const tick = (): void => {
    if (state.stopped || running || state.failure !== null) return;
    const target = Math.floor(((performance.now() - start) * ratePerSec) / 1000);
    if (target - state.due > maxBacklog) state.due = target - maxBacklog;
    if (target <= state.due) return;
    running = (async () => {
      while (!state.stopped && state.due < target) {
        state.due++;
        await write(state.written);
        state.written++;
      }
    })()
      .catch((err: unknown) => {
        state.failure = err;
      })
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(tick, 5);
  return {
    async stop() {
      state.stopped = true;
      clearInterval(timer);
      await running;
      if (state.failure !== null) throw asError(state.failure);
      const reached = state.written / ((performance.now() - start) / 1000);
      if (reached < 0.9 * ratePerSec) {
        process.emitWarning(
          `${label}: background load reached ${reached.toFixed(1)}/s of the ${ratePerSec}/s asked`,
        );
      }
      return state.written;
    },
  };
}

/** Polls `check` until it returns null (converged) or the timeout; throws its last complaint. */
async function converge(what: string, check: () => Promise<string | null>): Promise<void> {
  const deadline = performance.now() + CONVERGE_TIMEOUT_MS;
  for (;;) {
    const problem = await check();
    if (problem === null) return;
    if (performance.now() > deadline) throw new Error(`${what} did not converge: ${problem}`);
    await sleep(50);
  }
}

/** Compares two id → balance maps; null when equal. */
function diffBalances(
  label: string,
  got: Map<string, number>,
  want: Map<string, number>,
): string | null {
  if (got.size !== want.size) return `${label}: ${got.size} docs, server has ${want.size}`;
  for (const [id, balance] of want) {
    const mine = got.get(id);
    if (mine !== balance) return `${label}: ${id} balance ${mine} != server ${balance}`;
  }
  return null;
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

async function closeHttp(server: http.Server): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  server.closeAllConnections();
  await closed;
}

/**
 * Runs every cleanup step (last registered first), even if some fail. A failed teardown
 * is reported as a process warning rather than thrown, so it cannot mask the error (or
 * replace the verified result) of the run it follows.
 */
async function cleanupAll(steps: Cleanup[]): Promise<void> {
  for (const step of steps.reverse()) {
    try {
      await step();
    } catch (err) {
      process.emitWarning(`sync-baselines cleanup failed: ${asError(err).message}`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Socket.IO plumbing (relay floor and RxDB transport)

interface IoHost {
  io: IoServer;
  url: string;
  close(): Promise<void>;
}

async function startIo(): Promise<IoHost> {
  const httpServer = http.createServer();
  const io = new IoServer(httpServer, {
    transports: ['websocket'],
    serveClient: false,
    // RxDB one-shot batches of 1000 members are ~0.2 MB; leave room.
    maxHttpBufferSize: 64 * 1024 * 1024,
  });
  const port = await listen(httpServer);
  return {
    io,
    url: `http://127.0.0.1:${port}`,
    async close() {
      io.disconnectSockets(true);
      await io.close();
      await closeHttp(httpServer);
    },
  };
}

async function connectIo(url: string): Promise<ClientSocket> {
  // forceNew: one engine connection per client (no multiplexing over a shared Manager).
  const socket = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  await withTimeout(
    `connect to ${url}`,
    10_000,
    new Promise<void>((resolve, reject) => {
      socket.once('connect', () => {
        resolve();
      });
      socket.once('connect_error', reject);
    }),
  ).catch((err: unknown) => {
    socket.disconnect();
    throw err;
  });
  return socket;
}

// ---------------------------------------------------------------------------------------
// 1. Socket.IO relay floor

interface RelayMessage {
  from: 'A' | 'bg';
  doc: MemberDoc;
}

/**
 * The floor: a Socket.IO server without a database relays each message to every other
 * client (`socket.broadcast.emit`). Client A emits a member update; the figure is the time
 * until client B's handler runs. Client #3 (or an extra client when `clients` is 2) emits
 * `backgroundPerSec` other member updates, relayed to everyone. Verifies that B saw each
 * update intact and that every client except A received every A update.
 */
export async function socketIoRelayPropagation(
  opts: PropagationOptions,
): Promise<PropagationResult> {
  checkPropagationOptions('socketIoRelayPropagation', opts);
  const cleanup: Cleanup[] = [];
  try {
    const host = await startIo();
    cleanup.push(() => host.close());
    host.io.on('connection', (socket) => {
      socket.on('member', (msg: RelayMessage) => {
        socket.broadcast.emit('member', msg);
      });
    });

    const clients: ClientSocket[] = [];
    cleanup.push(() => {
      for (const c of clients) c.disconnect();
    });
    for (let i = 0; i < opts.clients; i++) clients.push(await connectIo(host.url));
    const a = clients[0];
    const b = clients[1];
    if (!a || !b) throw new Error('unreachable: fewer than two clients');
    let bg = clients[2];
    if (!bg) {
      bg = await connectIo(host.url);
      clients.push(bg);
    }

    const fromA = new Map<ClientSocket, number>();
    const atB = new Map<number, MemberDoc>();
    const arrival = new Arrival();
    for (const c of clients) {
      if (c === a) continue;
      fromA.set(c, 0);
      c.on('member', (msg: RelayMessage) => {
        if (msg.from === 'A') fromA.set(c, (fromA.get(c) ?? 0) + 1);
        if (c === b) {
          if (msg.from === 'A') atB.set(msg.doc.seq, msg.doc);
          arrival.offer(msg);
        }
      });
    }

    const background = startBackground('socketIoRelayPropagation', opts.backgroundPerSec, (n) => {
      const id = SAMPLE_DOCS + (n % BACKGROUND_DOCS);
      bg.emit('member', { from: 'bg', doc: memberDoc(id, n, n) } satisfies RelayMessage);
    });

    const balances = new Map<number, number>();
    const latencies: number[] = [];
    const total = WARMUP_WRITES + opts.samples;
    try {
      for (let seq = 1; seq <= total; seq++) {
        const id = seq % SAMPLE_DOCS;
        const balance = (balances.get(id) ?? memberDoc(id).balance) + 1;
        balances.set(id, balance);
        const doc = memberDoc(id, balance, seq);
        const arrived = arrival.expect(
          `relay sample ${seq} to B`,
          (v) => {
            const m = v as RelayMessage;
            return m.from === 'A' && m.doc.seq === seq;
          },
          opts.sampleTimeoutMs,
        );
        const t0 = performance.now();
        a.emit('member', { from: 'A', doc } satisfies RelayMessage);
        const t1 = await arrived;
        if (JSON.stringify(atB.get(seq)) !== JSON.stringify(doc)) {
          throw new Error(`relay sample ${seq}: B got ${JSON.stringify(atB.get(seq))}`);
        }
        if (seq > WARMUP_WRITES) latencies.push(t1 - t0);
        await sleep(5 + Math.random() * 15);
      }
    } finally {
      await background.stop();
    }

    // Everyone but A must have received every A update.
    await converge('relay fan-out', () => {
      for (const [c, n] of fromA) {
        if (n !== total) return Promise.resolve(`client ${c.id ?? '?'} got ${n}/${total}`);
      }
      return Promise.resolve(null);
    });
    return summarize(latencies);
  } finally {
    await cleanupAll(cleanup);
  }
}

// ---------------------------------------------------------------------------------------
// PouchDB (no bundled types: narrow local interfaces over createRequire)

type PouchMember = MemberDoc & { _id: string; _rev?: string };

interface PouchChange {
  id: string;
  deleted?: boolean;
  doc?: PouchMember;
}

interface PouchEmitter {
  on(event: 'change', fn: (change: PouchChange) => void): this;
  on(event: 'complete', fn: (info: unknown) => void): this;
  on(event: 'error', fn: (err: unknown) => void): this;
  cancel(): void;
}

interface PouchReplicationResult {
  ok: boolean;
  docs_read: number;
  docs_written: number;
}

type PouchReplication = PouchEmitter & PromiseLike<PouchReplicationResult>;

interface PouchReplicateOptions {
  live?: boolean;
  retry?: boolean;
  batch_size?: number;
}

interface PouchDatabase {
  put(doc: PouchMember): Promise<{ ok: boolean; id: string; rev: string }>;
  get(id: string): Promise<PouchMember>;
  bulkDocs(docs: PouchMember[]): Promise<{ id: string; rev?: string; error?: string }[]>;
  allDocs(opts: {
    include_docs: true;
  }): Promise<{ total_rows: number; rows: { id: string; doc?: PouchMember }[] }>;
  info(): Promise<{ doc_count: number }>;
  changes(opts: { live: true; since: 'now'; include_docs: true }): PouchEmitter;
  replicate: {
    from(remote: PouchDatabase, opts?: PouchReplicateOptions): PouchReplication;
  };
  sync(remote: PouchDatabase, opts?: PouchReplicateOptions): PouchEmitter;
  destroy(): Promise<unknown>;
  close(): Promise<unknown>;
}

interface PouchStatic {
  new (name: string, opts?: { skip_setup?: boolean }): PouchDatabase;
  plugin(plugin: unknown): PouchStatic;
  defaults(opts: { adapter: string }): PouchStatic;
}

interface ExpressPouchApp {
  listen(port: number, host: string, cb: () => void): http.Server;
}

const require = createRequire(import.meta.url);

interface PouchClasses {
  /** Opens remote (URL) databases over HTTP. */
  Http: PouchStatic;
  /**
   * Opens in-memory (memdown) databases: the terminals, and the databases express-pouchdb
   * serves. One class for all servers: express-pouchdb installs pouchdb-all-dbs on the
   * class it is given unless that class already has it, and PouchDB's class-level events
   * are global, so a class per server would stack an all-dbs listener per server.
   */
  Mem: PouchStatic;
}

let pouchCache: PouchClasses | undefined;

function pouch(): PouchClasses {
  if (!pouchCache) {
    const PouchDB = require('pouchdb') as PouchStatic;
    PouchDB.plugin(require('pouchdb-adapter-memory'));
    pouchCache = { Http: PouchDB, Mem: PouchDB.defaults({ adapter: 'memory' }) };
  }
  return pouchCache;
}

/**
 * Every live `_changes` listener on a PouchDB database (one per terminal's long-poll,
 * plus one per local live feed) adds listeners to emitters PouchDB keeps private (the
 * memdown adapter's per-name change notifier, the db's 'destroyed' event). Beyond 10
 * terminals Node then prints MaxListenersExceededWarning over and over. Those emitters
 * use `EventEmitter.defaultMaxListeners`, so the PouchDB runs raise it while they last
 * and put it back afterwards (it only moves a warning threshold).
 */
let listenerCapHolders = 0;
let savedListenerCap = EventEmitter.defaultMaxListeners;

function raiseListenerCap(): () => void {
  if (listenerCapHolders++ === 0) {
    savedListenerCap = EventEmitter.defaultMaxListeners;
    EventEmitter.defaultMaxListeners = Math.max(savedListenerCap, 10_000);
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--listenerCapHolders === 0) EventEmitter.defaultMaxListeners = savedListenerCap;
  };
}

interface PouchServer {
  /** Remote database URL. */
  url: string;
  /** The same in-memory store express-pouchdb serves, opened in this process. */
  db: PouchDatabase;
  /** A fresh HTTP client of the served database (one per replicating terminal). */
  remote(): PouchDatabase;
  close(): Promise<void>;
}

/**
 * express-pouchdb standalone (its own Express 4 app) in 'minimumForPouchDB' mode, which
 * leaves out the config/log files of full mode, so it touches no disk. The in-process
 * handle shares memdown storage and change notifications with the served database
 * (memdown stores are per name, process-wide).
 */
async function startPouchServer(): Promise<PouchServer> {
  const { Http, Mem } = pouch();
  const createApp = require('express-pouchdb') as (
    PouchDB: PouchStatic,
    opts: { mode: 'minimumForPouchDB' },
  ) => ExpressPouchApp;
  const app = createApp(Mem, { mode: 'minimumForPouchDB' });
  const server = await new Promise<http.Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', () => {
      resolve(s);
    });
    s.once('error', reject);
  });
  const name = `members-${randomUUID()}`;
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${name}`;
  // Create it through HTTP (express-pouchdb registers it), then open it in-process.
  try {
    await new Http(url).info();
  } catch (err) {
    await closeHttp(server);
    throw err;
  }
  const db = new Mem(name);
  return {
    url,
    db,
    remote: () => new Http(url, { skip_setup: true }),
    async close() {
      // DELETE through express-pouchdb, so it also drops its cached db object; the
      // in-process handle hears 'destroyed' for the name and closes.
      await new Http(url, { skip_setup: true }).destroy();
      await closeHttp(server);
    },
  };
}

async function seedPouch(db: PouchDatabase, members: number): Promise<void> {
  for (let start = 0; start < members; start += SEED_CHUNK) {
    const docs: PouchMember[] = [];
    for (let id = start; id < Math.min(members, start + SEED_CHUNK); id++) {
      docs.push({ _id: docKey(id), ...memberDoc(id) });
    }
    const res = await db.bulkDocs(docs);
    const bad = res.find((r) => r.error);
    if (bad) throw new Error(`seeding ${bad.id}: ${bad.error ?? ''}`);
  }
}

async function pouchBalances(db: PouchDatabase): Promise<Map<string, number>> {
  const { rows } = await db.allDocs({ include_docs: true });
  const out = new Map<string, number>();
  for (const row of rows) if (row.doc) out.set(row.id, row.doc.balance);
  return out;
}

/** Cancels a live replication/sync and waits for its 'complete' (bounded). */
async function cancelPouch(rep: PouchEmitter): Promise<void> {
  const done = new Promise<void>((resolve) => {
    rep.on('complete', () => {
      resolve();
    });
  });
  rep.cancel();
  await withTimeout('PouchDB replication cancel', 10_000, done).catch(() => undefined);
}

function checkReplicationResult(what: string, res: PouchReplicationResult): void {
  if (!res.ok) throw new Error(`${what}: replication reported ok=false`);
}

/**
 * PouchDB live propagation. Every one of `clients` terminals is an in-memory PouchDB with a
 * live two-way `sync` (retry on) with the server database; A is client 0, B is client 1.
 * A updates a member (get outside the timing, then put balance+1); the figure runs from
 * just before A's put until B's live changes feed (since 'now', include_docs) shows the
 * new balance. Background updates go straight into the server database (in-process) at
 * `backgroundPerSec`. At the end (background stopped), every client must hold exactly the
 * server's documents and balances.
 *
 * Cost: each client holds a long-poll `_changes` request, and every change costs each
 * client several HTTP requests (pull: changes, bulk_get, checkpoints; push side:
 * changes, revs_diff, checkpoints), all on this process's one event loop. Measured on the
 * 2-core box: 2 clients without background ≈ 20 ms p50; 5 clients at 50/s already
 * saturate the loop (≈ 200 ms p50); 20 clients at 10/s ≈ 1 s p50. 50 clients at 50/s will
 * likely exceed `sampleTimeoutMs`. The caller chooses `clients`.
 */
export async function pouchdbPropagation(opts: PropagationOptions): Promise<PropagationResult> {
  checkPropagationOptions('pouchdbPropagation', opts);
  const { Mem } = pouch();
  const cleanup: Cleanup[] = [raiseListenerCap()];
  try {
    const server = await startPouchServer();
    cleanup.push(() => server.close());
    await seedPouch(server.db, PROPAGATION_MEMBERS);

    const clients: PouchDatabase[] = [];
    const syncs: PouchEmitter[] = [];
    cleanup.push(async () => {
      for (const s of syncs) await cancelPouch(s);
      for (const c of clients) await c.destroy();
    });
    const syncErrors: unknown[] = [];
    for (let i = 0; i < opts.clients; i++) {
      const local = new Mem(`pouch-client-${i}-${randomUUID()}`);
      clients.push(local);
      const remote = server.remote();
      checkReplicationResult(
        'initial pull',
        await local.replicate.from(remote, { batch_size: 500 }),
      );
      const sync = local.sync(remote, { live: true, retry: true });
      sync.on('error', (err) => syncErrors.push(err));
      syncs.push(sync);
    }
    const a = clients[0];
    const b = clients[1];
    if (!a || !b) throw new Error('unreachable: fewer than two clients');

    const arrival = new Arrival();
    const feed = b.changes({ live: true, since: 'now', include_docs: true });
    cleanup.push(() => {
      feed.cancel();
    });
    feed.on('change', (change) => {
      arrival.offer(change);
    });

    const bgRevs = new Map<number, PouchMember>();
    const background = startBackground('pouchdbPropagation', opts.backgroundPerSec, async (n) => {
      const id = SAMPLE_DOCS + (n % BACKGROUND_DOCS);
      const current = bgRevs.get(id) ?? (await server.db.get(docKey(id)));
      const next: PouchMember = { ...current, balance: current.balance + 1, seq: n };
      const res = await server.db.put(next);
      bgRevs.set(id, { ...next, _rev: res.rev });
    });

    const latencies: number[] = [];
    try {
      for (let seq = 1; seq <= WARMUP_WRITES + opts.samples; seq++) {
        const key = docKey(seq % SAMPLE_DOCS);
        const current = await a.get(key);
        const balance = current.balance + 1;
        const arrived = arrival.expect(
          `PouchDB sample ${seq} to B`,
          (v) => {
            const c = v as PouchChange;
            return c.id === key && c.doc?.balance === balance && c.doc.seq === seq;
          },
          opts.sampleTimeoutMs,
        );
        const t0 = performance.now();
        await a.put({ ...current, balance, seq });
        const t1 = await arrived;
        if (seq > WARMUP_WRITES) latencies.push(t1 - t0);
        await sleep(5 + Math.random() * 15);
      }
    } finally {
      await background.stop();
    }

    await converge('PouchDB clients', async () => {
      const want = await pouchBalances(server.db);
      for (const [i, c] of clients.entries()) {
        const problem = diffBalances(`client ${i}`, await pouchBalances(c), want);
        if (problem) return problem;
      }
      return null;
    });
    if (syncErrors.length > 0) throw new Error(`PouchDB sync error: ${String(syncErrors[0])}`);
    return summarize(latencies);
  } finally {
    await cleanupAll(cleanup);
  }
}

/**
 * PouchDB catch-up. The server holds `members` docs (default 2 × changes). B pulls them,
 * runs a live pull replication (proven live by one server write reaching B), then goes
 * offline: the live replication is cancelled (the HTTP keep-alive pool stays, so no
 * connection setup is timed). The first `changes` members get balance+1 at the server.
 * The figure is one one-shot `replicate.from` (batch_size 1000, same replication id, so
 * it resumes from B's checkpoint) until it resolves. Verifies that B then equals the
 * server (count and every balance) and that it read no more than the changed docs (+ the
 * live-phase write, in case its checkpoint had not been stored yet).
 */
export async function pouchdbCatchUp(opts: CatchUpOptions): Promise<{ ms: number }> {
  checkCount('pouchdbCatchUp', 'changes', opts.changes);
  const members = Math.max(opts.members ?? opts.changes * 2, opts.changes);
  const { Mem } = pouch();
  const cleanup: Cleanup[] = [raiseListenerCap()];
  try {
    const server = await startPouchServer();
    cleanup.push(() => server.close());
    await seedPouch(server.db, members);

    const b = new Mem(`pouch-catchup-b-${randomUUID()}`);
    cleanup.push(() => b.destroy());
    const remote = server.remote();
    checkReplicationResult(
      'initial pull',
      await b.replicate.from(remote, { batch_size: ONE_SHOT_BATCH }),
    );

    // Live phase, proven by one server write arriving at B.
    let live: PouchReplication | null = b.replicate.from(remote, { live: true, retry: true });
    cleanup.push(async () => {
      if (live) await cancelPouch(live);
    });
    const arrival = new Arrival();
    const feed = b.changes({ live: true, since: 'now', include_docs: true });
    feed.on('change', (change) => {
      arrival.offer(change);
    });
    cleanup.push(() => {
      feed.cancel();
    });
    const probe = await server.db.get(docKey(0));
    const seen = arrival.expect('PouchDB live probe', (v) => (v as PouchChange).id === probe._id);
    await server.db.put({ ...probe, balance: probe.balance + 1, seq: 1 });
    await seen;
    feed.cancel();
    const stopping = live;
    live = null;
    await cancelPouch(stopping);

    // Offline: change `changes` members at the server.
    const { rows } = await server.db.allDocs({ include_docs: true });
    const changed: PouchMember[] = [];
    for (const row of rows) {
      const doc = row.doc;
      if (doc && changed.length < opts.changes) {
        changed.push({ ...doc, balance: doc.balance + 1, seq: doc.seq + 1 });
      }
    }
    for (let i = 0; i < changed.length; i += SEED_CHUNK) {
      const res = await server.db.bulkDocs(changed.slice(i, i + SEED_CHUNK));
      const bad = res.find((r) => r.error);
      if (bad) throw new Error(`server change ${bad.id}: ${bad.error ?? ''}`);
    }

    const t0 = performance.now();
    const res = await b.replicate.from(remote, { batch_size: ONE_SHOT_BATCH });
    const ms = performance.now() - t0;

    checkReplicationResult('catch-up', res);
    const problem = diffBalances('B', await pouchBalances(b), await pouchBalances(server.db));
    if (problem) throw new Error(`pouchdbCatchUp: ${problem}`);
    if (res.docs_read < opts.changes || res.docs_read > opts.changes + 1) {
      throw new Error(
        `pouchdbCatchUp: read ${res.docs_read} docs for ${opts.changes} changes (checkpoint not resumed?)`,
      );
    }
    return { ms: round2(ms) };
  } finally {
    await cleanupAll(cleanup);
  }
}

/**
 * PouchDB bootstrap: the server holds `members` docs; a fresh in-memory B runs one one-shot
 * `replicate.from` (batch_size 1000). The figure is that call until it resolves. Verifies
 * B's doc count and every balance against the server.
 */
export async function pouchdbBootstrap(
  opts: BootstrapOptions,
): Promise<{ ms: number; rowsPerSec: number }> {
  checkCount('pouchdbBootstrap', 'members', opts.members);
  const { Mem } = pouch();
  const cleanup: Cleanup[] = [raiseListenerCap()];
  try {
    const server = await startPouchServer();
    cleanup.push(() => server.close());
    await seedPouch(server.db, opts.members);

    const b = new Mem(`pouch-bootstrap-b-${randomUUID()}`);
    cleanup.push(() => b.destroy());
    const remote = server.remote();

    const t0 = performance.now();
    const res = await b.replicate.from(remote, { batch_size: ONE_SHOT_BATCH });
    const ms = performance.now() - t0;

    checkReplicationResult('bootstrap', res);
    const info = await b.info();
    if (info.doc_count !== opts.members) {
      throw new Error(`pouchdbBootstrap: B has ${info.doc_count} docs, expected ${opts.members}`);
    }
    const problem = diffBalances('B', await pouchBalances(b), await pouchBalances(server.db));
    if (problem) throw new Error(`pouchdbBootstrap: ${problem}`);
    return { ms: round2(ms), rowsPerSec: round2(opts.members / (ms / 1000)) };
  } finally {
    await cleanupAll(cleanup);
  }
}

// ---------------------------------------------------------------------------------------
// RxDB

type RxMember = MemberDoc & { pk: string };
type MemberCollection = RxCollection<RxMember>;
type MemberDatabase = RxDatabase<{ members: MemberCollection }>;
type Checkpoint = RxStorageDefaultCheckpoint;
type StreamItem = RxReplicationPullStreamItem<RxMember, Checkpoint>;

const RX_SCHEMA: RxJsonSchema<RxMember> = {
  version: 0,
  primaryKey: 'pk',
  type: 'object',
  properties: {
    pk: { type: 'string', maxLength: 32 },
    id: { type: 'integer' },
    mobile: { type: 'string' },
    name: { type: 'string' },
    balance: { type: 'number' },
    tier: { type: 'string', enum: ['base'] },
    smsConsent: { type: 'boolean' },
    seq: { type: 'integer' },
  },
  required: ['pk', 'id', 'mobile', 'name', 'balance', 'tier', 'smsConsent', 'seq'],
  additionalProperties: false,
};

const rxMember = (id: number, balance?: number, seq?: number): RxMember => ({
  pk: docKey(id),
  ...memberDoc(id, balance, seq),
});

/**
 * RxDB's open core allows 13 open RxCollections per process (NON_PREMIUM_COLLECTION_LIMIT);
 * the central and the terminals A and B use three. Other terminals in the propagation run
 * are therefore replicas at the storage level: RxDB's replication protocol
 * (`replicateRxStorageInstance`, what `replicateRxCollection` runs underneath) between a
 * memory-storage instance and the same Socket.IO handler. They do the same network,
 * replication and storage work per change, minus the RxCollection/RxDocument layer.
 */
async function createMemberDb(
  role: string,
): Promise<{ db: MemberDatabase; col: MemberCollection }> {
  const db: MemberDatabase = await createRxDatabase<{ members: MemberCollection }>({
    name: `rx-${role}-${randomUUID()}`,
    storage: getRxStorageMemory(),
    multiInstance: false,
    eventReduce: true,
  });
  try {
    const cols = await db.addCollections({ members: { schema: RX_SCHEMA } });
    return { db, col: cols.members };
  } catch (err) {
    await db.remove();
    throw err;
  }
}

interface RxServer {
  url: string;
  db: MemberDatabase;
  col: MemberCollection;
  close(): Promise<void>;
}

/**
 * The RxDB central: a memory-storage RxDatabase; its collection's storage instance is
 * wrapped by RxDB's replication handler and served over Socket.IO. The change stream is
 * subscribed once and broadcast to the 'stream' room (one encoding per change).
 */
async function startRxServer(): Promise<RxServer> {
  const { db, col } = await createMemberDb('central');
  let host: IoHost | undefined;
  try {
    host = await startIo();
    const handler = rxStorageInstanceToReplicationHandler<RxMember, Checkpoint>(
      col.storageInstance,
      col.conflictHandler,
      db.token,
    );
    const io = host.io;
    const streamSub = handler.masterChangeStream$.subscribe((ev) => {
      io.to('stream').emit('stream', ev);
    });
    io.on('connection', (socket) => {
      socket.on('sub', (on: boolean, ack: (ok: boolean) => void) => {
        if (on) void socket.join('stream');
        else void socket.leave('stream');
        ack(true);
      });
      socket.on(
        'pull',
        (checkpoint: Checkpoint | null, batchSize: number, ack: (res: unknown) => void) => {
          handler
            .masterChangesSince(checkpoint ?? undefined, batchSize)
            .then(ack, (err: unknown) => {
              ack({ error: String(err) });
            });
        },
      );
      socket.on(
        'push',
        (rows: RxReplicationWriteToMasterRow<RxMember>[], ack: (res: unknown) => void) => {
          handler.masterWrite(rows).then(ack, (err: unknown) => {
            ack({ error: String(err) });
          });
        },
      );
    });
    const started = host;
    return {
      url: host.url,
      db,
      col,
      async close() {
        streamSub.unsubscribe();
        await started.close();
        await db.remove();
      },
    };
  } catch (err) {
    await host?.close();
    await db.remove();
    throw err;
  }
}

/** A terminal's link to the RxDB central: the RxDB replication handler over Socket.IO. */
interface RxLink {
  socket: ClientSocket;
  handler: RxReplicationHandler<RxMember, Checkpoint>;
  /** Joins/leaves the server's change-stream room (acknowledged). */
  subscribe(on: boolean): Promise<void>;
  close(): void;
}

async function linkRx(url: string): Promise<RxLink> {
  const socket = await connectIo(url);
  const stream$ = new Subject<StreamItem>();
  socket.on('stream', (ev: StreamItem) => {
    stream$.next(ev);
  });
  // any: RxDB's replication handler answers each method with its own shape; callers narrow it.
  const call = async (event: string, ...args: unknown[]): Promise<any> => {
    const res = await socket.timeout(30_000).emitWithAck(event, ...args);
    if (res && typeof res === 'object' && 'error' in res) {
      throw new Error(`RxDB server ${event}: ${String(res.error)}`);
    }
    return res;
  };
  return {
    socket,
    handler: {
      masterChangeStream$: stream$.asObservable(),
      masterChangesSince: (checkpoint, batchSize) => call('pull', checkpoint ?? null, batchSize),
      masterWrite: (rows) => call('push', rows),
    },
    async subscribe(on) {
      await call('sub', on);
    },
    close() {
      stream$.complete();
      socket.disconnect();
    },
  };
}

function replicateMembers(
  col: MemberCollection,
  link: RxLink,
  opts: { id: string; live: boolean; push: boolean; batchSize: number },
): RxReplicationState<RxMember, Checkpoint> {
  const { handler } = link;
  return replicateRxCollection<RxMember, Checkpoint>({
    collection: col,
    replicationIdentifier: opts.id,
    live: opts.live,
    retryTime: 1000,
    waitForLeadership: false,
    autoStart: true,
    pull: {
      batchSize: opts.batchSize,
      handler: async (checkpoint, batchSize) => {
        const res = await handler.masterChangesSince(checkpoint, batchSize);
        return { checkpoint: res.checkpoint, documents: res.documents };
      },
      stream$: opts.live ? handler.masterChangeStream$ : undefined,
    },
    push: opts.push
      ? {
          batchSize: opts.batchSize,
          handler: (rows) => handler.masterWrite(rows),
        }
      : undefined,
  });
}

/** Collects replication errors (RxDB retries on its own); a run with any of them fails. */
function watchErrors(rep: RxReplicationState<RxMember, Checkpoint>, sink: unknown[]): void {
  rep.error$.subscribe((err) => sink.push(err));
}

async function rxBalances(col: MemberCollection): Promise<Map<string, number>> {
  const docs = await col.find().exec();
  return new Map(docs.map((d) => [d.pk, d.balance]));
}

async function seedRx(col: MemberCollection, members: number): Promise<void> {
  for (let start = 0; start < members; start += SEED_CHUNK) {
    const docs: RxMember[] = [];
    for (let id = start; id < Math.min(members, start + SEED_CHUNK); id++) docs.push(rxMember(id));
    const res = await col.bulkInsert(docs);
    if (res.error.length > 0) throw new Error(`seeding RxDB: ${JSON.stringify(res.error[0])}`);
  }
}

interface StorageReplica {
  fork: RxStorageInstance<RxMember, unknown, unknown>;
  close(): Promise<void>;
}

/** A terminal below the RxCollection layer (see the note on createMemberDb). */
async function startStorageReplica(link: RxLink, index: number): Promise<StorageReplica> {
  const storage = getRxStorageMemory();
  const databaseName = `rx-replica-${index}-${randomUUID()}`;
  const databaseInstanceToken = randomUUID();
  const schema = fillWithDefaultSettings(RX_SCHEMA);
  const base = {
    databaseName,
    databaseInstanceToken,
    options: {},
    multiInstance: false,
    devMode: false,
  };
  const fork = await storage.createStorageInstance<RxMember>({
    ...base,
    collectionName: 'members',
    schema,
  });
  const meta = await storage.createStorageInstance({
    ...base,
    collectionName: 'members-meta',
    schema: getRxReplicationMetaInstanceSchema(schema, false),
  });
  const state = replicateRxStorageInstance<RxMember>({
    identifier: `replica-${index}`,
    pullBatchSize: 100,
    pushBatchSize: 100,
    replicationHandler: link.handler,
    conflictHandler: defaultConflictHandler,
    forkInstance: fork,
    metaInstance: meta,
    hashFunction: defaultHashSha256,
    skipStoringPullMeta: false,
  });
  await withTimeout(
    `storage replica ${index} initial sync`,
    CONVERGE_TIMEOUT_MS,
    awaitRxStorageReplicationFirstInSync(state),
  );
  return {
    fork,
    async close() {
      await cancelRxStorageReplication(state);
      await fork.remove();
      await meta.remove();
    },
  };
}

async function replicaBalances(
  fork: RxStorageInstance<RxMember, unknown, unknown>,
  ids: string[],
): Promise<Map<string, number>> {
  const docs: RxDocumentData<RxMember>[] = await fork.findDocumentsById(ids, false);
  return new Map(docs.map((d) => [d.pk, d.balance]));
}

/**
 * RxDB live propagation. A and B are RxCollections (memory storage) with a live two-way
 * `replicateRxCollection` against the central; the other `clients - 2` terminals are
 * storage-level replicas (open-core collection limit, see createMemberDb). A updates a
 * member (`incrementalPatch` balance+1 on the document fetched outside the timing); the
 * figure runs from just before the patch until B's `collection.$` emits the new balance.
 * Background updates are upserts straight into the central collection. At the end every
 * terminal must hold exactly the central's documents and balances.
 */
export async function rxdbPropagation(opts: PropagationOptions): Promise<PropagationResult> {
  checkPropagationOptions('rxdbPropagation', opts);
  const cleanup: Cleanup[] = [];
  try {
    const server = await startRxServer();
    cleanup.push(() => server.close());
    await seedRx(server.col, PROPAGATION_MEMBERS);

    const errors: unknown[] = [];
    const terminals: { col: MemberCollection; rep: RxReplicationState<RxMember, Checkpoint> }[] =
      [];
    for (const role of ['a', 'b']) {
      const link = await linkRx(server.url);
      cleanup.push(() => {
        link.close();
      });
      const { db, col } = await createMemberDb(role);
      cleanup.push(() => db.remove());
      await link.subscribe(true);
      const rep = replicateMembers(col, link, {
        id: 'central',
        live: true,
        push: true,
        batchSize: 100,
      });
      cleanup.push(() => rep.cancel());
      watchErrors(rep, errors);
      terminals.push({ col, rep });
    }
    const replicas: StorageReplica[] = [];
    for (let i = 2; i < opts.clients; i++) {
      const link = await linkRx(server.url);
      cleanup.push(() => {
        link.close();
      });
      await link.subscribe(true);
      const replica = await startStorageReplica(link, i);
      cleanup.push(() => replica.close());
      replicas.push(replica);
    }
    const [a, b] = terminals;
    if (!a || !b) throw new Error('unreachable: A and B missing');
    await withTimeout(
      'RxDB initial replication',
      CONVERGE_TIMEOUT_MS,
      Promise.all(terminals.map((t) => t.rep.awaitInitialReplication())),
    );

    const arrival = new Arrival();
    const sub = b.col.$.subscribe((ev) => {
      arrival.offer(ev.documentData);
    });
    cleanup.push(() => {
      sub.unsubscribe();
    });

    const background = startBackground('rxdbPropagation', opts.backgroundPerSec, async (n) => {
      const id = SAMPLE_DOCS + (n % BACKGROUND_DOCS);
      const doc = await server.col.findOne(docKey(id)).exec();
      if (!doc) throw new Error(`central lost ${docKey(id)}`);
      await doc.incrementalPatch({ balance: doc.balance + 1, seq: n });
    });

    const latencies: number[] = [];
    try {
      for (let seq = 1; seq <= WARMUP_WRITES + opts.samples; seq++) {
        const key = docKey(seq % SAMPLE_DOCS);
        const doc = await a.col.findOne(key).exec();
        if (!doc) throw new Error(`A lacks ${key}`);
        const balance = doc.balance + 1;
        const arrived = arrival.expect(
          `RxDB sample ${seq} to B`,
          (v) => {
            const d = v as RxMember;
            return d.pk === key && d.balance === balance && d.seq === seq;
          },
          opts.sampleTimeoutMs,
        );
        const t0 = performance.now();
        await doc.incrementalPatch({ balance, seq });
        const t1 = await arrived;
        if (seq > WARMUP_WRITES) latencies.push(t1 - t0);
        await sleep(5 + Math.random() * 15);
      }
    } finally {
      await background.stop();
    }

    await converge('RxDB terminals', async () => {
      const want = await rxBalances(server.col);
      for (const [i, t] of terminals.entries()) {
        const problem = diffBalances(`terminal ${i}`, await rxBalances(t.col), want);
        if (problem) return problem;
      }
      const ids = [...want.keys()];
      for (const [i, r] of replicas.entries()) {
        const problem = diffBalances(`replica ${i + 2}`, await replicaBalances(r.fork, ids), want);
        if (problem) return problem;
      }
      return null;
    });
    if (errors.length > 0) throw new Error(`RxDB replication error: ${String(errors[0])}`);
    return summarize(latencies);
  } finally {
    await cleanupAll(cleanup);
  }
}

/**
 * RxDB catch-up, same steps as pouchdbCatchUp: B pulls the central's `members` docs, runs
 * a live pull replication (proven live by one central write reaching B), then goes
 * offline: the replication is cancelled and B leaves the change-stream room (the socket
 * stays, so no connection setup is timed). The first `changes` members get balance+1 at
 * the central. The figure is a one-shot pull replication (live: false, batchSize 1000,
 * same replicationIdentifier, so it resumes from B's stored checkpoint) until
 * `awaitInitialReplication()` resolves. Verifies B equals the central and that no more
 * than the changed docs (+ the live-phase write) were pulled.
 */
export async function rxdbCatchUp(opts: CatchUpOptions): Promise<{ ms: number }> {
  checkCount('rxdbCatchUp', 'changes', opts.changes);
  const members = Math.max(opts.members ?? opts.changes * 2, opts.changes);
  const cleanup: Cleanup[] = [];
  try {
    const server = await startRxServer();
    cleanup.push(() => server.close());
    await seedRx(server.col, members);

    const link = await linkRx(server.url);
    cleanup.push(() => {
      link.close();
    });
    const { db, col } = await createMemberDb('catchup-b');
    cleanup.push(() => db.remove());
    const errors: unknown[] = [];
    const replicate = (live: boolean): RxReplicationState<RxMember, Checkpoint> => {
      const rep = replicateMembers(col, link, {
        id: 'central',
        live,
        push: false,
        batchSize: ONE_SHOT_BATCH,
      });
      watchErrors(rep, errors);
      cleanup.push(() => rep.cancel());
      return rep;
    };

    await link.subscribe(true);
    const live = replicate(true);
    await withTimeout('RxDB initial pull', CONVERGE_TIMEOUT_MS, live.awaitInitialReplication());
    const arrival = new Arrival();
    const sub = col.$.subscribe((ev) => {
      arrival.offer(ev.documentData);
    });
    cleanup.push(() => {
      sub.unsubscribe();
    });
    const probe = await server.col.findOne(docKey(0)).exec();
    if (!probe) throw new Error('central lacks m:0');
    const seen = arrival.expect('RxDB live probe', (v) => (v as RxMember).pk === probe.pk);
    await probe.incrementalPatch({ balance: probe.balance + 1, seq: 1 });
    await seen;
    sub.unsubscribe();
    await live.cancel();
    await link.subscribe(false);

    // Offline: change `changes` members at the central.
    const all = await server.col.find().exec();
    const changed = all
      .slice(0, opts.changes)
      .map((d) => ({ ...d.toMutableJSON(), balance: d.balance + 1, seq: d.seq + 1 }));
    for (let i = 0; i < changed.length; i += SEED_CHUNK) {
      const res = await server.col.bulkUpsert(changed.slice(i, i + SEED_CHUNK));
      if (res.error.length > 0) throw new Error(`central change: ${JSON.stringify(res.error[0])}`);
    }

    const t0 = performance.now();
    const rep = replicate(false);
    let received = 0;
    rep.received$.subscribe(() => {
      received++;
    });
    await withTimeout('RxDB catch-up', CONVERGE_TIMEOUT_MS, rep.awaitInitialReplication());
    const ms = performance.now() - t0;

    if (errors.length > 0) throw new Error(`RxDB replication error: ${String(errors[0])}`);
    const problem = diffBalances('B', await rxBalances(col), await rxBalances(server.col));
    if (problem) throw new Error(`rxdbCatchUp: ${problem}`);
    if (received < opts.changes || received > opts.changes + 1) {
      throw new Error(
        `rxdbCatchUp: pulled ${received} docs for ${opts.changes} changes (checkpoint not resumed?)`,
      );
    }
    return { ms: round2(ms) };
  } finally {
    await cleanupAll(cleanup);
  }
}

/**
 * RxDB bootstrap: the central holds `members` docs; a fresh B (new memory RxDatabase)
 * runs a one-shot pull replication (live: false, batchSize 1000). The figure is from
 * starting the replication until `awaitInitialReplication()` resolves. Verifies B's count
 * and every balance against the central.
 */
export async function rxdbBootstrap(
  opts: BootstrapOptions,
): Promise<{ ms: number; rowsPerSec: number }> {
  checkCount('rxdbBootstrap', 'members', opts.members);
  const cleanup: Cleanup[] = [];
  try {
    const server = await startRxServer();
    cleanup.push(() => server.close());
    await seedRx(server.col, opts.members);

    const link = await linkRx(server.url);
    cleanup.push(() => {
      link.close();
    });
    const { db, col } = await createMemberDb('bootstrap-b');
    cleanup.push(() => db.remove());
    const errors: unknown[] = [];

    const t0 = performance.now();
    const rep = replicateMembers(col, link, {
      id: 'central',
      live: false,
      push: false,
      batchSize: ONE_SHOT_BATCH,
    });
    cleanup.push(() => rep.cancel());
    watchErrors(rep, errors);
    await withTimeout('RxDB bootstrap', CONVERGE_TIMEOUT_MS, rep.awaitInitialReplication());
    const ms = performance.now() - t0;

    if (errors.length > 0) throw new Error(`RxDB replication error: ${String(errors[0])}`);
    const count = await col.count().exec();
    if (count !== opts.members) {
      throw new Error(`rxdbBootstrap: B has ${count} docs, expected ${opts.members}`);
    }
    const problem = diffBalances('B', await rxBalances(col), await rxBalances(server.col));
    if (problem) throw new Error(`rxdbBootstrap: ${problem}`);
    return { ms: round2(ms), rowsPerSec: round2(opts.members / (ms / 1000)) };
  } finally {
    await cleanupAll(cleanup);
  }
}

// ---------------------------------------------------------------------------------------
// Self-check: `node bench/sync-baselines.ts` runs everything small and prints one JSON line.

if (import.meta.main) {
  const propagation = { samples: 50, clients: 5, backgroundPerSec: 50 };
  const started = performance.now();
  const result = {
    socketIoRelayPropagation: await socketIoRelayPropagation(propagation),
    pouchdbPropagation: await pouchdbPropagation(propagation),
    pouchdbCatchUp: await pouchdbCatchUp({ changes: 1000 }),
    pouchdbBootstrap: await pouchdbBootstrap({ members: 5000 }),
    rxdbPropagation: await rxdbPropagation(propagation),
    rxdbCatchUp: await rxdbCatchUp({ changes: 1000 }),
    rxdbBootstrap: await rxdbBootstrap({ members: 5000 }),
    totalSeconds: round2((performance.now() - started) / 1000),
  };
  console.log(JSON.stringify(result));
}

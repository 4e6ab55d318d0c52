/**
 * Redemption at central on PostgreSQL, spoken over the terminals' sync socket: OTP request and
 * verify latency one at a time, and redemptions per second from several counters, spread over
 * many members and contended on one. Beside it, in the same run: the floor (a bare Socket.IO
 * request/ack and a bare PostgreSQL row-lock transaction) and earn sales per second through the
 * same ledger writer. Central runs in the benchmark's process with the development SMS provider;
 * OTPs are read back from its outbox file, outside the timed spans.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { Server } from 'socket.io';
import { io, type Socket } from 'socket.io-client';
import { loadConfig } from '../central/config.ts';
import * as catalogue from '../central/db/catalogue-store.ts';
import { saveProgramSettings } from '../central/db/settings-store.ts';
import * as syncStore from '../central/db/sync-store.ts';
import { AppError } from '../central/errors.ts';
import { verifyLedger } from '../central/ledger/verify.ts';
import { hashRequest, type Actor } from '../central/ledger/writer.ts';
import { createCentral, listen, type Central, type Listening } from '../central/server.ts';
import { DEV_OUTBOX_FILE } from '../central/sms/providers/index.ts';
import type { DevMessage } from '../central/sms/providers/dev.ts';
import type { SmsStatusEvent } from '../central/sms/worker.ts';
import {
  hashPairingCode,
  hashTerminalSecret,
  issuePairingCode,
  newTerminalCredentials,
} from '../central/sync/pairing.ts';
import type { SaleRequest, SaleResult } from '../shared/protocol/api.ts';
import {
  REDEEM_EVENTS,
  type RedemptionOutcome,
  type RedemptionView,
} from '../shared/protocol/redeem.ts';
import { PROTOCOL_VERSION } from '../shared/protocol/sync.ts';
import { SYNC_PATH } from '../terminal/sync-client.ts';
import { createPgDatabase, median, percentile, randomUUID, round } from './support.ts';

interface Sizes {
  /** Sequential request+confirm pairs measured (after `warmUp` more). */
  samples: number;
  warmUp: number;
  terminals: number;
  /** Members of each terminal in the spread rounds. */
  spreadMembersPerTerminal: number;
  spreadRounds: number;
  spreadMs: number;
  contendedRounds: number;
  /** Redemptions per contended round; one member may be sent at most 100 OTPs an hour. */
  contendedTarget: number;
  salesRounds: number;
  salesMs: number;
  salesConcurrency: number;
}

const FULL: Sizes = {
  samples: 300,
  warmUp: 20,
  terminals: 8,
  spreadMembersPerTerminal: 50,
  spreadRounds: 3,
  spreadMs: 8_000,
  contendedRounds: 3,
  contendedTarget: 90,
  salesRounds: 3,
  salesMs: 3_000,
  salesConcurrency: 64,
};

const QUICK: Sizes = {
  samples: 30,
  warmUp: 5,
  terminals: 4,
  spreadMembersPerTerminal: 10,
  spreadRounds: 1,
  spreadMs: 1_500,
  contendedRounds: 1,
  contendedTarget: 30,
  salesRounds: 1,
  salesMs: 1_000,
  salesConcurrency: 64,
};

const SHOWROOM = 'MUM-01';
/** Points asked for in every redemption (the default minimum). */
const POINTS = 100;
/** ₹10,000: points may pay up to half, far above POINTS. */
const BILL_PAISE = 1_000_000;
/** Books earn 5 points per ₹100. */
const BOOK_RATE = 5;
const ACTOR: Actor = { staffId: null, role: 'admin', showroomId: null };
const OTP_WAIT_MS = 10_000;
const ACK_TIMEOUT_MS = 15_000;

interface Stats {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted.at(-1) ?? NaN),
  };
}

/** Mobile of the i-th bench member: +917 followed by nine digits. */
const mobileOf = (i: number) => `+917${String(i).padStart(9, '0')}`;

/** A problem central acknowledged a request with. */
class Refusal extends Error {
  readonly code: string;
  readonly status: number;
  constructor(problem: { code?: string; detail?: string; status?: number }, event: string) {
    super(`${event}: ${problem.code ?? '?'} ${problem.detail ?? ''}`);
    this.code = problem.code ?? 'unknown';
    this.status = problem.status ?? 0;
  }
}

/** One request over the sync socket; resolves with its answer, rejects with a Refusal. */
async function call<T>(socket: Socket, event: string, body: unknown): Promise<T> {
  const answer = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, body)) as
    T | { error: { code?: string; detail?: string; status?: number } };
  if (answer !== null && typeof answer === 'object' && 'error' in answer) {
    throw new Refusal(answer.error, event);
  }
  return answer;
}

/**
 * The OTPs the development provider writes, read as they are sent: on each 'sms:status' of an
 * OTP, the lines appended to the outbox file since the last read are parsed (never the whole
 * file), and the code goes to whoever waits for that redemption.
 */
class OtpTail {
  readonly file: string;
  readonly failures: string[] = [];
  private fd: number | undefined;
  private offset = 0;
  private rest: Buffer = Buffer.alloc(0);
  private readonly codeByOutbox = new Map<number, string>();
  private readonly ready = new Map<number, string>();
  private readonly waiting = new Map<
    number,
    { resolve: (code: string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }
  >();

  constructor(file: string) {
    this.file = file;
  }

  readonly onStatus = (event: SmsStatusEvent): void => {
    if (event.kind !== 'otp' || event.redemptionId === null) return;
    if (event.status !== 'sent') {
      this.fail(
        event.redemptionId,
        `OTP SMS ${event.outboxId} is ${event.status}: ${event.error ?? ''}`,
      );
      return;
    }
    this.readNew();
    const code = this.codeByOutbox.get(event.outboxId);
    this.codeByOutbox.delete(event.outboxId);
    if (!code) {
      this.fail(event.redemptionId, `no OTP line for outbox ${event.outboxId} in ${this.file}`);
      return;
    }
    const waiter = this.waiting.get(event.redemptionId);
    if (waiter) {
      this.waiting.delete(event.redemptionId);
      clearTimeout(waiter.timer);
      waiter.resolve(code);
    } else {
      this.ready.set(event.redemptionId, code);
    }
  };

  /** The OTP sent for a redemption, once its SMS is out. */
  otpFor(redemptionId: number): Promise<string> {
    const code = this.ready.get(redemptionId);
    if (code) {
      this.ready.delete(redemptionId);
      return Promise.resolve(code);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(redemptionId);
        reject(new Error(`no OTP SMS for redemption ${redemptionId} within ${OTP_WAIT_MS} ms`));
      }, OTP_WAIT_MS);
      this.waiting.set(redemptionId, { resolve, reject, timer });
    });
  }

  close(): void {
    for (const w of this.waiting.values()) clearTimeout(w.timer);
    this.waiting.clear();
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private fail(redemptionId: number, why: string): void {
    this.failures.push(why);
    const waiter = this.waiting.get(redemptionId);
    if (!waiter) return;
    this.waiting.delete(redemptionId);
    clearTimeout(waiter.timer);
    waiter.reject(new Error(why));
  }

  private readNew(): void {
    if (this.fd === undefined) {
      try {
        this.fd = fs.openSync(this.file, 'r');
      } catch {
        return;
      }
    }
    const size = fs.fstatSync(this.fd).size;
    if (size <= this.offset) return;
    const chunk = Buffer.alloc(size - this.offset);
    const n = fs.readSync(this.fd, chunk, 0, chunk.length, this.offset);
    this.offset += n;
    const data = Buffer.concat([this.rest, chunk.subarray(0, n)]);
    const end = data.lastIndexOf(0x0a);
    this.rest = Buffer.from(data.subarray(end + 1));
    if (end < 0) return;
    for (const line of data.toString('utf8', 0, end).split('\n')) {
      if (!line.includes('"kind":"otp"')) continue;
      const message = JSON.parse(line) as DevMessage;
      const code = /\d{6}/.exec(message.text)?.[0];
      if (message.kind === 'otp' && code) this.codeByOutbox.set(message.outboxId, code);
    }
  }
}

interface Counter {
  terminalId: string;
  socket: Socket;
}

/** Pairs terminals at the showroom through central's pairing store, as the pair route does. */
async function pairCounters(central: Central, url: string, count: number): Promise<Counter[]> {
  const counters: Counter[] = [];
  for (let i = 0; i < count; i += 1) {
    const now = new Date();
    const issued = await issuePairingCode(central.db, SHOWROOM, now);
    if (!issued) throw new Error(`no showroom ${SHOWROOM}`);
    const credentials = newTerminalCredentials(SHOWROOM);
    const paired = await syncStore.pairTerminal(
      central.db,
      hashPairingCode(issued.code),
      {
        id: credentials.id,
        name: `Bench counter ${i + 1}`,
        secretHash: hashTerminalSecret(credentials.secret),
      },
      now,
    );
    if (!paired) throw new Error('pairing failed');
    const socket = io(`${url}/sync`, {
      path: SYNC_PATH,
      transports: ['websocket'],
      reconnection: false,
      auth: {
        terminalId: credentials.id,
        secret: credentials.secret,
        protocolVersion: PROTOCOL_VERSION,
      },
    });
    counters.push({ terminalId: credentials.id, socket });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
  }
  return counters;
}

/** Enrols members and gives each `points` with one sale of Books, through the writer. */
async function seedMembers(
  central: Central,
  mobiles: string[],
  points: number,
  balances: Map<string, number>,
): Promise<void> {
  for (let start = 0; start < mobiles.length; start += 200) {
    const chunk = mobiles.slice(start, start + 200);
    await Promise.all(
      chunk.map((mobile) =>
        central.writer.write({
          kind: 'enrol',
          request: { mobile, name: 'Bench Member', smsConsent: true, showroomCode: SHOWROOM },
          actor: ACTOR,
        }),
      ),
    );
    await Promise.all(
      chunk.map(async (mobile) => {
        const sale: SaleRequest = {
          showroomCode: SHOWROOM,
          billNumber: `SEED-${mobile.slice(1)}`,
          mobile,
          lines: [
            {
              sku: 'SEED',
              categoryCode: 'BOOK',
              quantity: 1,
              amountPaise: (points * 10_000) / BOOK_RATE,
            },
          ],
        };
        const outcome = await central.writer.write({
          kind: 'sale',
          key: `seed-${mobile}`,
          requestHash: hashRequest(sale),
          sale,
          actor: ACTOR,
        });
        const body = outcome.body as SaleResult;
        if (outcome.status !== 201 || body.points !== points) {
          throw new Error(`seed sale for ${mobile}: ${outcome.status} ${JSON.stringify(body)}`);
        }
        balances.set(mobile, body.balanceAfter);
      }),
    );
  }
}

/** What one confirmed redemption took, and how long its two requests waited for their acks. */
interface Redeemed {
  requestMs: number;
  /** From the request's ack to the OTP in hand (the SMS worker's send; not in either latency). */
  otpMs: number;
  verifyMs: number;
  points: number;
  balanceAfter: number;
}

/** Asks for the OTP, reads it from the SMS, confirms it. */
async function redeemOnce(
  counter: Counter,
  tail: OtpTail,
  mobile: string,
  billNumber: string,
): Promise<Redeemed> {
  const t0 = performance.now();
  const view = await call<RedemptionView>(counter.socket, REDEEM_EVENTS.request, {
    mobile,
    billNumber,
    billAmountPaise: BILL_PAISE,
    points: POINTS,
  });
  const requestMs = performance.now() - t0;
  if (view.status !== 'awaiting-otp' || view.points !== POINTS) {
    throw new Error(`redeem:request answered ${JSON.stringify(view)}`);
  }
  const otp = await tail.otpFor(view.id);
  const t1 = performance.now();
  const otpMs = t1 - t0 - requestMs;
  const outcome = await call<RedemptionOutcome>(counter.socket, REDEEM_EVENTS.confirm, {
    redemptionId: view.id,
    otp,
  });
  const verifyMs = performance.now() - t1;
  const r = outcome.redemption;
  if (r.id !== view.id || r.status !== 'confirmed' || r.balanceAfter === null) {
    throw new Error(`redeem:confirm answered ${JSON.stringify(outcome)}`);
  }
  if (outcome.state && outcome.state.balance !== r.balanceAfter) {
    throw new Error(
      `redemption ${r.id}: balance ${outcome.state.balance} but balanceAfter ${r.balanceAfter}`,
    );
  }
  return { requestMs, otpMs, verifyMs, points: r.points, balanceAfter: r.balanceAfter };
}

/** Every counter redeems for its own members, round robin, for `ms`. */
async function spreadRound(
  counters: Counter[],
  tail: OtpTail,
  members: string[][],
  ms: number,
  tag: string,
  balances: Map<string, number>,
): Promise<{ redemptions: number; perSec: number; cpu: number; steps: Redeemed[] }> {
  let redemptions = 0;
  const steps: Redeemed[] = [];
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const end = started + ms;
  await Promise.all(
    counters.map(async (counter, c) => {
      const own = members[c] ?? [];
      for (let k = 0; performance.now() < end; k += 1) {
        const mobile = own[k % own.length] ?? '';
        const done = await redeemOnce(counter, tail, mobile, `${tag}-${c}-${k}`);
        balances.set(mobile, (balances.get(mobile) ?? 0) - done.points);
        if (done.balanceAfter !== balances.get(mobile)) {
          throw new Error(
            `${mobile}: balance after ${done.balanceAfter}, expected ${balances.get(mobile)}`,
          );
        }
        redemptions += 1;
        steps.push(done);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { redemptions, perSec: redemptions / seconds, cpu: cpuShare(cpu0, seconds), steps };
}

/** This process's CPU time since `from` (central and the clients), as a share of one core. */
function cpuShare(from: NodeJS.CpuUsage, seconds: number): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6 / seconds;
}

/**
 * Every counter redeems for the same member at once until `target` redemptions are confirmed;
 * a counter refused because another holds the member's live OTP pauses 1–5 ms and asks again.
 */
async function contendedRound(
  counters: Counter[],
  tail: OtpTail,
  mobile: string,
  target: number,
  tag: string,
): Promise<{
  redemptions: number;
  refusals: number;
  points: number;
  seconds: number;
  cpu: number;
}> {
  let redemptions = 0;
  let refusals = 0;
  let points = 0;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    counters.map(async (counter, c) => {
      for (let k = 0; redemptions < target; k += 1) {
        try {
          const done = await redeemOnce(counter, tail, mobile, `${tag}-${c}-${k}`);
          redemptions += 1;
          points += done.points;
        } catch (error) {
          if (!(error instanceof Refusal) || error.code !== 'otp-pending-elsewhere') throw error;
          refusals += 1;
          await sleep(1 + Math.random() * 4);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { redemptions, refusals, points, seconds, cpu: cpuShare(cpu0, seconds) };
}

/** Earn sales through the same writer, `concurrency` at once, for `ms`. */
async function salesRound(
  central: Central,
  mobiles: string[],
  options: { ms: number; concurrency: number; tag: string },
  balances: Map<string, number>,
): Promise<{ sales: number; perSec: number; cpu: number }> {
  let sales = 0;
  let n = 0;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const end = started + options.ms;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (performance.now() < end) {
        n += 1;
        const i = n;
        const mobile = mobiles[(i * 7919) % mobiles.length] ?? '';
        const sale: SaleRequest = {
          showroomCode: SHOWROOM,
          billNumber: `${options.tag}-${i}`,
          mobile,
          lines: [
            { sku: `SKU-${i % 500}`, categoryCode: 'BOOK', quantity: 1, amountPaise: 20_000 },
          ],
        };
        const outcome = await central.writer.write({
          kind: 'sale',
          key: `${options.tag}-${i}-${randomUUID()}`,
          requestHash: hashRequest(sale),
          sale,
          actor: ACTOR,
        });
        if (outcome.status !== 201) throw new Error(`sale ${i}: ${outcome.status}`);
        balances.set(mobile, (balances.get(mobile) ?? 0) + (outcome.body as SaleResult).points);
        sales += 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { sales, perSec: sales / seconds, cpu: cpuShare(cpu0, seconds) };
}

/** The floor of a request over Socket.IO: a server that acks at once, on loopback. */
async function socketIoFloor(samples: number, warmUp: number): Promise<Stats> {
  const server = http.createServer();
  const ioServer = new Server(server, {
    path: '/floor/socket.io',
    serveClient: false,
    transports: ['websocket'],
  });
  ioServer.of('/floor').on('connection', (socket) => {
    socket.on('ping', (body: { billNumber: string }, ack: (answer: unknown) => void) => {
      ack({ id: 1, billNumber: body.billNumber, status: 'awaiting-otp' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const socket = io(`http://127.0.0.1:${port}/floor`, {
    path: '/floor/socket.io',
    transports: ['websocket'],
    reconnection: false,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    const times: number[] = [];
    for (let i = 0; i < warmUp + samples; i += 1) {
      const t0 = performance.now();
      await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('ping', {
        mobile: mobileOf(i),
        billNumber: `FLOOR-${i}`,
        billAmountPaise: BILL_PAISE,
        points: POINTS,
      });
      if (i >= warmUp) times.push(performance.now() - t0);
    }
    return stats(times);
  } finally {
    socket.close();
    await new Promise<void>((resolve) => {
      void ioServer.close(() => {
        resolve();
      });
    });
  }
}

/** The floor of a redemption's database work: lock a row, update it, commit (one fsync). */
async function pgTxFloor(samples: number, warmUp: number): Promise<Stats> {
  const db = await createPgDatabase('sl_bench_floor');
  const client = new pg.Client({ connectionString: db.url });
  try {
    await client.connect();
    await client.query('create table floor_row (id int primary key, n bigint not null)');
    await client.query('insert into floor_row values (1, 0)');
    const times: number[] = [];
    for (let i = 0; i < warmUp + samples; i += 1) {
      const t0 = performance.now();
      await client.query('begin');
      await client.query('select n from floor_row where id = 1 for update');
      await client.query('update floor_row set n = n + 1 where id = 1');
      await client.query('commit');
      if (i >= warmUp) times.push(performance.now() - t0);
    }
    const { rows } = await client.query<{ n: string }>('select n from floor_row where id = 1');
    if (Number(rows[0]?.n) !== warmUp + samples) throw new Error('floor: updates went missing');
    return stats(times);
  } finally {
    await client.end().catch(() => undefined);
    await db.drop();
  }
}

/** Every member's balance equals what the benchmark expects and the sum of its ledger. */
async function checkBalances(central: Central, balances: Map<string, number>): Promise<void> {
  const rows = (await central.db.knex
    .raw(
      `select m.mobile, m.balance, coalesce(sum(e.points), 0) as ledger
         from members m left join ledger_entries e on e.member_id = m.id
        group by m.id, m.mobile, m.balance`,
    )
    .then((r: { rows: unknown[] }) => r.rows)) as {
    mobile: string;
    balance: string | number;
    ledger: string | number;
  }[];
  if (rows.length !== balances.size) {
    throw new Error(`${rows.length} members at central, the benchmark made ${balances.size}`);
  }
  for (const row of rows) {
    const balance = Number(row.balance);
    if (balance !== balances.get(row.mobile)) {
      throw new Error(`${row.mobile}: balance ${balance}, expected ${balances.get(row.mobile)}`);
    }
    if (Number(row.ledger) !== balance) {
      throw new Error(`${row.mobile}: balance ${balance} but its ledger sums to ${row.ledger}`);
    }
    if (balance < 0) throw new Error(`${row.mobile}: balance ${balance} below zero`);
  }
  const report = await verifyLedger(central.db);
  if (report.balanceDrift.length > 0 || report.runningDrift.length > 0) {
    throw new Error(`verify: ${JSON.stringify(report).slice(0, 500)}`);
  }
}

export async function run(quick: boolean): Promise<void> {
  const size = quick ? QUICK : FULL;
  const say = (line: string) => {
    console.log(line);
  };
  say(`redeem benchmark${quick ? ' (quick: checks that it works, figures not meaningful)' : ''}`);
  const figures: Record<string, unknown> = { bench: 'redeem', quick };

  say('\nFloor, one at a time on loopback:');
  const ackFloor = await socketIoFloor(size.samples, size.warmUp);
  const pgFloor = await pgTxFloor(size.samples, size.warmUp);
  const row = (name: string, s: Stats) => {
    say(
      `  ${name.padEnd(52)} p50 ${String(s.p50Ms).padStart(6)} ms  p99 ${String(s.p99Ms).padStart(6)} ms  max ${String(s.maxMs).padStart(6)} ms`,
    );
  };
  row('bare Socket.IO request → ack', ackFloor);
  row('bare PostgreSQL tx: select … for update, update', pgFloor);

  const pgDb = await createPgDatabase('sl_bench_redeem');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-bench-redeem-'));
  let central: Central | undefined;
  let listening: Listening | undefined;
  let counters: Counter[] = [];
  const tail = new OtpTail(path.join(dataDir, DEV_OUTBOX_FILE));
  try {
    central = await createCentral(
      loadConfig({
        DATABASE_URL: pgDb.url,
        DATA_DIR: dataDir,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        OTP_SECRET: 'bench-redeem-otp-secret-0123456789abcdef',
      }),
    );
    const c = central;
    const now = new Date();
    await catalogue.insertShowroom(
      c.db,
      { code: SHOWROOM, name: 'Andheri West', city: 'Mumbai' },
      now,
    );
    await catalogue.insertCategory(
      c.db,
      {
        code: 'BOOK',
        name: 'Books',
        pointsPer100Rupees: BOOK_RATE,
        effectiveFrom: new Date('2020-01-01T00:00:00Z'),
        staffId: null,
      },
      now,
    );
    // Room for the benchmark's OTPs. No earn SMS: the seed sales and the sales baseline would
    // queue thousands, which the SMS worker would still be sending during later rounds.
    // Redemptions keep their OTP and redeem-notice SMS.
    await saveProgramSettings(
      c.db.knex,
      {
        earnNotices: false,
        otp: { perMemberPerHour: 100, perMemberPerDay: 1_000, perTerminalPerHour: 10_000 },
      },
      { staffId: null, now },
    );
    c.settings.forget();
    c.changes.on('sms:status', tail.onStatus);
    listening = await listen(c);

    const balances = new Map<string, number>();
    let next = 1;
    const take = (n: number) => Array.from({ length: n }, () => mobileOf(next++));
    const latencyMembers = take(size.warmUp + size.samples);
    const spreadMembers = Array.from({ length: size.terminals }, () =>
      take(size.spreadMembersPerTerminal),
    );
    const contendedMembers = take(size.contendedRounds);
    const seedStarted = performance.now();
    await seedMembers(c, [...latencyMembers, ...spreadMembers.flat()], 10_000, balances);
    await seedMembers(c, contendedMembers, 200_000, balances);
    counters = await pairCounters(c, listening.url, size.terminals);
    say(
      `\nCentral in this process on a fresh PostgreSQL database, development SMS provider; ${balances.size} members seeded through the writer and ${size.terminals} counters paired at ${SHOWROOM} in ${round((performance.now() - seedStarted) / 1000, 1)} s`,
    );

    // --- latency, one at a time -----------------------------------------------------------
    say(
      `\nLatency, one at a time: ${size.samples} request+confirm pairs (after ${size.warmUp} warm-up), one counter, each on its own member; reading the OTP from the SMS is not counted`,
    );
    const first = counters[0];
    if (!first) throw new Error('no counter');
    const requestTimes: number[] = [];
    const verifyTimes: number[] = [];
    const otpTimes: number[] = [];
    for (const [i, mobile] of latencyMembers.entries()) {
      const done = await redeemOnce(first, tail, mobile, `LAT-${i}`);
      balances.set(mobile, (balances.get(mobile) ?? 0) - done.points);
      if (done.balanceAfter !== balances.get(mobile)) {
        throw new Error(
          `${mobile}: balance after ${done.balanceAfter}, expected ${balances.get(mobile)}`,
        );
      }
      if (i >= size.warmUp) {
        requestTimes.push(done.requestMs);
        verifyTimes.push(done.verifyMs);
        otpTimes.push(done.otpMs);
      }
    }
    const request = stats(requestTimes);
    const verify = stats(verifyTimes);
    row('redeem:request (rules, redemption, OTP queued) → ack', request);
    row('redeem:confirm (OTP checked, points written) → ack', verify);
    row('floor: bare Socket.IO request → ack', ackFloor);
    row('floor: bare PostgreSQL row-lock transaction', pgFloor);
    const otpWait = stats(otpTimes);
    row('(not counted) request ack → OTP read from the outbox', otpWait);
    say(
      `  p50 ÷ Socket.IO floor: request ${round(request.p50Ms / ackFloor.p50Ms, 1)}×, verify ${round(verify.p50Ms / ackFloor.p50Ms, 1)}×; ÷ PostgreSQL tx floor: request ${round(request.p50Ms / pgFloor.p50Ms, 1)}×, verify ${round(verify.p50Ms / pgFloor.p50Ms, 1)}×`,
    );
    Object.assign(figures, {
      samples: size.samples,
      requestP50Ms: request.p50Ms,
      requestP99Ms: request.p99Ms,
      verifyP50Ms: verify.p50Ms,
      verifyP99Ms: verify.p99Ms,
      floorAckP50Ms: ackFloor.p50Ms,
      floorAckP99Ms: ackFloor.p99Ms,
      floorPgTxP50Ms: pgFloor.p50Ms,
      floorPgTxP99Ms: pgFloor.p99Ms,
      otpDeliveryP50Ms: otpWait.p50Ms,
    });

    // --- spread over many members -----------------------------------------------------------
    say(
      `\nRedemptions per second, ${size.terminals} counters at once, each looping request → OTP → confirm:`,
    );
    const spread: number[] = [];
    const spreadCpu: number[] = [];
    const spreadSteps: Redeemed[] = [];
    let spreadTotal = 0;
    for (let r = 0; r < size.spreadRounds; r += 1) {
      const result = await spreadRound(
        counters,
        tail,
        spreadMembers,
        size.spreadMs,
        `SPR${r}`,
        balances,
      );
      spread.push(result.perSec);
      spreadCpu.push(result.cpu);
      spreadSteps.push(...result.steps);
      spreadTotal += result.redemptions;
    }
    const spreadRate = median(spread);
    const underLoad = {
      request: stats(spreadSteps.map((x) => x.requestMs)),
      otp: stats(spreadSteps.map((x) => x.otpMs)),
      verify: stats(spreadSteps.map((x) => x.verifyMs)),
    };
    say(
      `  spread over ${size.terminals * size.spreadMembersPerTerminal} members (each counter its own): ${round(spreadRate, 0)} redemptions/s (rounds of ${size.spreadMs / 1000} s: ${spread.map((s) => round(s, 0)).join(', ')}), ${spreadTotal} redemptions`,
    );
    say(
      `    meanwhile p50 / p99: request ${underLoad.request.p50Ms} / ${underLoad.request.p99Ms} ms, OTP read ${underLoad.otp.p50Ms} / ${underLoad.otp.p99Ms} ms, confirm ${underLoad.verify.p50Ms} / ${underLoad.verify.p99Ms} ms; this process (central and the counters) ${round(median(spreadCpu) * 100, 0)}% of one core`,
    );

    // --- contended on one member ------------------------------------------------------------
    const contended: { perSec: number; refusalsPerSec: number; cpu: number }[] = [];
    let contendedTotal = 0;
    let refusedTotal = 0;
    for (let r = 0; r < size.contendedRounds; r += 1) {
      const mobile = contendedMembers[r] ?? '';
      const before = balances.get(mobile) ?? 0;
      const result = await contendedRound(counters, tail, mobile, size.contendedTarget, `CON${r}`);
      balances.set(mobile, before - result.points);
      const member: { id: number; balance: string | number } | undefined = await c.db
        .knex('members')
        .where('mobile', mobile)
        .first('id', 'balance');
      if (!member) throw new Error(`contended ${mobile}: no such member`);
      const ledger = (await c.db
        .knex('ledger_entries')
        .where('member_id', member.id)
        .sum({ s: 'points' })
        .first()) as { s: string | number | null };
      const confirmed = (await c.db
        .knex('redemptions')
        .where({ member_id: member.id, status: 'confirmed' })
        .count({ n: '*' })
        .first()) as { n: string | number };
      const balance = Number(member.balance);
      if (balance !== before - result.points || balance < 0) {
        throw new Error(
          `contended ${mobile}: balance ${balance}, expected ${before} − ${result.points}`,
        );
      }
      if (Number(ledger.s) !== balance) {
        throw new Error(`contended ${mobile}: balance ${balance} but ledger sums to ${ledger.s}`);
      }
      if (Number(confirmed.n) !== result.redemptions) {
        throw new Error(
          `contended ${mobile}: ${confirmed.n} confirmed redemptions at central, ${result.redemptions} acknowledged`,
        );
      }
      contended.push({
        perSec: result.redemptions / result.seconds,
        refusalsPerSec: result.refusals / result.seconds,
        cpu: result.cpu,
      });
      contendedTotal += result.redemptions;
      refusedTotal += result.refusals;
    }
    const contendedRate = median(contended.map((x) => x.perSec));
    const refusalRate = median(contended.map((x) => x.refusalsPerSec));
    say(
      `  contended, all ${size.terminals} on one member: ${round(contendedRate, 0)} redemptions/s and ${round(refusalRate, 0)} refusals/s 'otp-pending-elsewhere' (rounds of ${size.contendedTarget} redemptions, each on a fresh member: ${contended.map((x) => `${round(x.perSec, 0)}/${round(x.refusalsPerSec, 0)}`).join(', ')}), ${contendedTotal} redemptions, ${refusedTotal} refusals; this process ${round(median(contended.map((x) => x.cpu)) * 100, 0)}% of one core; balance = start − redeemed = sum of ledger, every round`,
    );

    // --- earn sales through the same writer -------------------------------------------------
    const sales: number[] = [];
    const salesCpu: number[] = [];
    let salesTotal = 0;
    for (let r = 0; r < size.salesRounds; r += 1) {
      const result = await salesRound(
        c,
        spreadMembers.flat(),
        { ms: size.salesMs, concurrency: size.salesConcurrency, tag: `SALE${r}` },
        balances,
      );
      sales.push(result.perSec);
      salesCpu.push(result.cpu);
      salesTotal += result.sales;
    }
    const salesRate = median(sales);
    say(
      `  baseline: earn sales through the same writer, ${size.salesConcurrency} at once (no earn SMS): ${round(salesRate, 0)} sales/s (rounds of ${size.salesMs / 1000} s: ${sales.map((s) => round(s, 0)).join(', ')}), ${salesTotal} sales; this process ${round(median(salesCpu) * 100, 0)}% of one core`,
    );
    say(
      `  spread redemptions/s ÷ sales/s: ${round(spreadRate / salesRate, 3)}; contended ÷ spread: ${round(contendedRate / spreadRate, 2)}`,
    );
    Object.assign(figures, {
      terminals: size.terminals,
      spreadMembers: size.terminals * size.spreadMembersPerTerminal,
      spreadRedemptionsPerS: round(spreadRate, 0),
      contendedRedemptionsPerS: round(contendedRate, 0),
      contendedRefusalsPerS: round(refusalRate, 0),
      salesPerS: round(salesRate, 0),
      spreadToSalesRatio: round(spreadRate / salesRate, 3),
      spreadRequestP50Ms: underLoad.request.p50Ms,
      spreadOtpReadP50Ms: underLoad.otp.p50Ms,
      spreadVerifyP50Ms: underLoad.verify.p50Ms,
      spreadCpuPctOfOneCore: round(median(spreadCpu) * 100, 0),
    });

    // --- the benchmark checks its own result ------------------------------------------------
    if (tail.failures.length > 0) throw new Error(`OTP SMS: ${tail.failures.join('; ')}`);
    const redeemed = (await c.db
      .knex('redemptions')
      .where('status', 'confirmed')
      .count({ n: '*' })
      .first()) as { n: string | number };
    const acknowledged = latencyMembers.length + spreadTotal + contendedTotal;
    if (Number(redeemed.n) !== acknowledged) {
      throw new Error(
        `${redeemed.n} confirmed redemptions at central, ${acknowledged} acknowledged`,
      );
    }
    await checkBalances(c, balances);
    say(
      `\nChecked: ${acknowledged} redemptions confirmed at central as acknowledged; all ${balances.size} balances as expected, equal to their ledgers, none below zero; ledger verifies`,
    );
  } catch (error) {
    if (error instanceof AppError)
      throw new Error(`central refused: ${error.code} ${error.message}`);
    throw error;
  } finally {
    for (const counter of counters) counter.socket.close();
    central?.changes.off('sms:status', tail.onStatus);
    tail.close();
    await listening?.close().catch(() => undefined);
    await central?.db.knex.destroy().catch(() => undefined);
    await pgDb.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(JSON.stringify(figures));
}

/**
 * The SMS outbox across kill -9 of central. Sales stream in over HTTP while central, a real OS
 * process, sends their earn notices to a gateway stand-in that answers each request a little
 * late; central is SIGKILLed several times (each time while the gateway holds a request) and
 * started again on the same database. Afterwards: each sale of a consenting member has exactly
 * one notice, none else exists, every notice ended 'sent' or 'unknown', and the gateway got no
 * message twice.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDb, fromDbBool, type Db } from '../central/db/connect.ts';
import { startTestCentral, PASSWORDS } from './support/central.ts';
import { createTestDatabase, describeEachDb, type TestDatabase } from './support/databases.ts';
import {
  killAllChildren,
  login,
  sleep,
  spawnCentral,
  spawnCentralOnFreePort,
  type CentralProcess,
} from './support/processes.ts';
import {
  INDIAN_GATEWAY_PATH,
  startIndianGatewayStandIn,
  type IndianGatewayAccepted,
  type ReceivedRequest,
  type StandIn,
} from './support/sms-standins.ts';
import { createSeededRandom } from './support/random.ts';

const AUTH_KEY = 'stand-in-auth-key-1';
const LEASE_SECONDS = 5;
const CONCURRENCY = 4;
const GATEWAY_DELAY_MS = 35;
const KILLS = 3;
/** A sale request that takes longer than this, with central alive, is a stall, not a slow answer. */
const SALE_TIMEOUT_MS = 8_000;
/** How long the outbox may take to settle after the selling stops (the lease is 5 s). */
const DRAIN_MS = 20_000;

const MEMBERS = [
  { mobile: '+919820040001', name: 'Kavita Rao', smsConsent: true },
  { mobile: '+919820040002', name: 'Suresh Menon', smsConsent: true },
  { mobile: '+918820040003', name: 'Farah Khan', smsConsent: false },
  { mobile: '+917820040004', name: 'Deepak Joshi', smsConsent: true },
  { mobile: '+916820040005', name: 'Meera Pillai', smsConsent: true },
  { mobile: '+919820040006', name: 'Arjun Nair', smsConsent: false },
] as const;

interface OutboxDbRow {
  id: number;
  kind: string;
  dedupe_key: string;
  member_id: number | null;
  mobile: string;
  text: string;
  status: string;
  attempts: number;
  last_error: string | null;
  provider_message_id: string | null;
}

/** The outbox id the provider put in a request (its `ref` field), or undefined. */
function refOf(request: ReceivedRequest): number | undefined {
  const body = request.body as Record<string, string> | undefined;
  const ref = body?.ref;
  return ref === undefined ? undefined : Number(ref);
}

describeEachDb('SMS outbox: central killed between commit and send', (dialect) => {
  const seed = Number(process.env.SMS_CRASH_SEED ?? Date.now() % 1_000_000);
  const random = createSeededRandom(seed);
  const state = {
    database: undefined as TestDatabase | undefined,
    gateway: undefined as StandIn<IndianGatewayAccepted> | undefined,
    central: undefined as CentralProcess | undefined,
    db: undefined as Db | undefined,
    dir: '',
    env: {} as Record<string, string>,
    token: '',
  };

  beforeAll(async () => {
    state.database = await createTestDatabase(dialect);
    // The fixture chain (MUM-01, categories, staff) written in-process, then central let go.
    const seeded = await startTestCentral(dialect, { database: state.database });
    await seeded.close();

    state.gateway = await startIndianGatewayStandIn({
      authKey: AUTH_KEY,
      delayMs: GATEWAY_DELAY_MS,
    });
    state.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-sms-crash-'));
    const configFile = path.join(state.dir, 'sms.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        provider: {
          provider: 'http',
          label: 'stand-in gateway',
          url: `${state.gateway.url}${INDIAN_GATEWAY_PATH}`,
          method: 'POST',
          bodyType: 'form',
          template: {
            authkey: AUTH_KEY,
            mobiles: '{{to91}}',
            message: '{{text}}',
            sender: '{{header}}',
            route: '4',
            DLT_TE_ID: '{{templateId}}',
            PE_ID: '{{entityId}}',
            unicode: '{{unicode}}',
            response: 'json',
            ref: '{{outboxId}}',
          },
          successPattern: '"type":"success"',
          messageIdPattern: '"message":"([0-9a-f]+)"',
          // Below the lease: a send is over, one way or the other, before anyone may judge it.
          timeoutMs: 2_000,
        },
        worker: {
          leaseSeconds: LEASE_SECONDS,
          pollMs: 100,
          concurrency: CONCURRENCY,
          retryBaseSeconds: 1,
          retryMaxSeconds: 2,
        },
      }),
    );
    state.env = {
      ...state.database.env,
      DEMO_SEED: 'never',
      SMS_CONFIG_FILE: configFile,
      OTP_SECRET: 'sms-crash-test-secret-0123456789abcdef',
    };
    state.central = await spawnCentralOnFreePort(state.env);
    state.db = openDb({
      dataDir: state.database.env.DATA_DIR,
      poolMax: 2,
      ...(state.database.env.DATABASE_URL ? { databaseUrl: state.database.env.DATABASE_URL } : {}),
    });
    state.token = await login(state.central.url, 'mum.cashier', PASSWORDS.cashier);
  });

  afterAll(async () => {
    await killAllChildren();
    await state.gateway?.close();
    await state.db?.knex.destroy();
    await state.database?.drop();
    if (state.dir) fs.rmSync(state.dir, { recursive: true, force: true });
  });

  it('loses no notice and sends none twice across kill -9 of central mid-send', async () => {
    const { gateway, db } = state;
    if (!gateway || !db || !state.central) throw new Error('setup did not finish');
    const knex = db.knex;
    const url = state.central.url;
    const port = state.central.port;

    const call = async (
      method: string,
      route: string,
      body: unknown,
      headers: Record<string, string> = {},
    ) => {
      const response = await fetch(url + route, {
        method,
        headers: {
          authorization: `Bearer ${state.token}`,
          'content-type': 'application/json',
          ...headers,
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(SALE_TIMEOUT_MS),
      });
      return { status: response.status, headers: response.headers, text: await response.text() };
    };

    for (const m of MEMBERS) {
      const r = await call('POST', '/api/members', { ...m, showroomCode: 'MUM-01' });
      expect(r.status, r.text).toBe(201);
    }
    const memberIds = new Map<string, number>();
    const memberRows: { id: number; mobile: string; sms_consent: unknown }[] = await knex(
      'members',
    ).select('id', 'mobile', 'sms_consent');
    for (const row of memberRows) {
      memberIds.set(row.mobile, row.id);
      const want = MEMBERS.find((m) => m.mobile === row.mobile)?.smsConsent;
      expect(fromDbBool(row.sms_consent)).toBe(want);
    }
    const consenting = new Set(
      MEMBERS.filter((m) => m.smsConsent).map((m) => memberIds.get(m.mobile)),
    );

    // The stream: two counters, each selling one bill after another; a failed request (central
    // dead or starting) is retried with the same key, as a counter does.
    const confirmed = new Map<string, { mobile: string; billNumber: string; points: number }>();
    const problems: string[] = [];
    let replays = 0;
    let retriedKeys = 0;
    let slowest = 0;
    let stopSelling = false;
    const runId = `${dialect}${seed}`;
    const counter = async (c: number) => {
      for (let n = 1; !stopSelling && problems.length === 0; n += 1) {
        const member = MEMBERS[(n * 5 + c) % MEMBERS.length] ?? MEMBERS[0];
        const key = `sms-crash-${runId}-${c}-${n}`;
        const billNumber = `SC-${c}-${n}`;
        const sale = {
          showroomCode: 'MUM-01',
          billNumber,
          mobile: member.mobile,
          lines: [
            { sku: 'LED-9W', categoryCode: 'ELEC', quantity: 1, amountPaise: 10_000 + n * 100 },
          ],
        };
        const giveUpAt = Date.now() + 15_000;
        for (let attempt = 1; ; attempt += 1) {
          let r: Awaited<ReturnType<typeof call>> | undefined;
          const sentAt = performance.now();
          try {
            r = await call('POST', '/api/sales', sale, { 'idempotency-key': key });
            slowest = Math.max(slowest, performance.now() - sentAt);
          } catch (error) {
            const name = (error as Error).name;
            if (name === 'TimeoutError' || name === 'AbortError') {
              problems.push(`sale ${key} got no answer within ${SALE_TIMEOUT_MS} ms`);
              return;
            }
            // Connection refused or dropped: central is dead or starting.
          }
          if (r?.status === 201) {
            const body = JSON.parse(r.text) as { points: number; billNumber: string };
            confirmed.set(key, { mobile: member.mobile, billNumber, points: body.points });
            if (attempt > 1) retriedKeys += 1;
            break;
          }
          if (r && r.status < 500) {
            problems.push(`sale ${key}: HTTP ${r.status} ${r.text}`);
            return;
          }
          if (Date.now() > giveUpAt) {
            problems.push(`sale ${key} not confirmed within 15 s (${r?.status ?? 'no answer'})`);
            return;
          }
          await sleep(100);
        }
        // Now and then the counter sends a confirmed sale again: a replay, no second notice.
        if (n % 9 === 0) {
          const again = await call('POST', '/api/sales', sale, { 'idempotency-key': key }).catch(
            () => undefined,
          );
          if (again?.status === 201 && again.headers.get('idempotent-replayed') === 'true') {
            replays += 1;
          }
        }
        await sleep(30 + ((n * 7 + c * 13) % 30));
      }
    };

    const kills: { sendingAfter: number; gatewayHeld: number }[] = [];
    const leftSending = new Set<number>();
    let soldAtLastRestart = 0;
    const counters = [counter(1), counter(2)];
    const started = Date.now();
    try {
      const waitSold = async (count: number, ms: number) => {
        const until = Date.now() + ms;
        while (confirmed.size < count && problems.length === 0 && Date.now() < until) {
          await sleep(20);
        }
      };
      await waitSold(20, 10_000);
      for (let k = 0; k < KILLS && problems.length === 0; k += 1) {
        // Sell for a random while, with a gateway hiccup now and then (retried with backoff)...
        if (k !== 1) gateway.failNext('server-error', 2);
        await sleep(800 + Math.floor(random() * 1_500));
        // ...then kill at the next moment the gateway holds a request central has not heard back.
        const until = Date.now() + 3_000;
        while (gateway.pending() === 0 && Date.now() < until) await sleep(1);
        const gatewayHeld = gateway.pending();
        const central = state.central;
        await central.kill();
        // A statement PostgreSQL was running for the dead process still ends (and commits).
        await sleep(150);
        // Rows left 'sending' by this process (an earlier one's may be there too, lease not over).
        const sending = (await knex('sms_outbox')
          .where('status', 'sending')
          .pluck('id')) as number[];
        const left = sending.map(Number).filter((id) => !leftSending.has(id));
        for (const id of left) leftSending.add(id);
        kills.push({ sendingAfter: left.length, gatewayHeld });
        await sleep(Math.floor(random() * 200));
        state.central = await spawnCentral(port, state.env);
        soldAtLastRestart = confirmed.size;
        await waitSold(soldAtLastRestart + 15, 10_000);
      }
      // The last process sells on for longer than central keeps anything cached (the program
      // settings an earn notice depends on are read again after 5 s).
      await sleep(6_500);
    } finally {
      stopSelling = true;
      await Promise.all(counters);
    }
    const sellingMs = Date.now() - started;
    expect(problems).toEqual([]);
    expect(kills).toHaveLength(KILLS);
    // Central took sales after its last restart, for longer than 5 s.
    expect(confirmed.size - soldAtLastRestart).toBeGreaterThan(20);
    // The test is not vacuous: at least one kill left messages mid-send.
    expect(leftSending.size, 'no kill landed while a message was in flight').toBeGreaterThan(0);

    // Wait, bounded, until nothing is waiting or in flight any more.
    const drainUntil = Date.now() + DRAIN_MS;
    let open = -1;
    for (;;) {
      const row: { n?: number | string } | undefined = await knex('sms_outbox')
        .whereIn('status', ['queued', 'retrying', 'sending'])
        .count({ n: '*' })
        .first();
      open = Number(row?.n ?? 0);
      if (open === 0 || Date.now() > drainUntil) break;
      await sleep(200);
    }
    await sleep(2 * GATEWAY_DELAY_MS); // nothing should arrive now; give a stray request the chance
    const outbox = (await knex('sms_outbox').orderBy('id').select()) as OutboxDbRow[];
    const byStatus = (status: string) => outbox.filter((r) => r.status === status);
    expect(open, JSON.stringify(outbox.filter((r) => r.status !== 'sent').slice(0, 5))).toBe(0);

    // 1. Exactly the sales of consenting members have a notice, once each.
    const sales: { idempotency_key: string; member_id: number; bill_number: string }[] = await knex(
      'sales',
    ).select('idempotency_key', 'member_id', 'bill_number');
    const saleByKey = new Map(sales.map((s) => [s.idempotency_key, s]));
    const missingSales = [...confirmed.keys()].filter((key) => !saleByKey.has(key));
    const nonConsentingSold = [...confirmed.values()].filter(
      (s) => !consenting.has(memberIds.get(s.mobile)),
    ).length;
    expect(nonConsentingSold).toBeGreaterThan(0);
    expect(missingSales, 'confirmed sales missing from the database').toEqual([]);
    expect(outbox.every((r) => r.kind === 'earn')).toBe(true);
    const noticesByKey = new Map<string, OutboxDbRow[]>();
    for (const r of outbox) {
      const key = r.dedupe_key.replace(/^earn:/, '');
      noticesByKey.set(key, [...(noticesByKey.get(key) ?? []), r]);
    }
    const withoutSale = outbox.filter((r) => !saleByKey.has(r.dedupe_key.replace(/^earn:/, '')));
    expect(
      withoutSale.map((r) => r.dedupe_key),
      'notices without a sale',
    ).toEqual([]);
    const notConsenting = outbox.filter((r) => !consenting.has(Number(r.member_id)));
    expect(
      notConsenting.map((r) => r.dedupe_key),
      'notices to non-consenting',
    ).toEqual([]);
    const consentingSales = sales.filter((s) => consenting.has(s.member_id));
    const notOnce = consentingSales
      .filter((s) => noticesByKey.get(s.idempotency_key)?.length !== 1)
      .map((s) => s.idempotency_key);
    expect(notOnce, 'sales of consenting members without exactly one notice').toEqual([]);
    const confirmedConsenting = [...confirmed.entries()].filter(([, s]) =>
      consenting.has(memberIds.get(s.mobile)),
    );
    for (const [key, s] of confirmedConsenting) {
      const notice = noticesByKey.get(key)?.[0];
      expect(notice?.member_id).toBe(memberIds.get(s.mobile));
      expect(notice?.mobile).toBe(s.mobile);
      expect(notice?.text).toContain(`you earned ${s.points} points on bill ${s.billNumber} `);
    }
    expect(outbox).toHaveLength(consentingSales.length);

    // 2. Every notice ended sent or unknown; unknown only for what a killed process held.
    const sent = byStatus('sent');
    const unknown = byStatus('unknown');
    expect(
      outbox.filter((r) => r.status !== 'sent' && r.status !== 'unknown').map((r) => r.status),
    ).toEqual([]);
    expect(
      unknown.filter((r) => !(r.last_error ?? '').startsWith('central stopped while sending')),
    ).toEqual([]);
    expect(unknown.length).toBeLessThanOrEqual(KILLS * CONCURRENCY);
    // What a killed process held is 'unknown' (not sent again), and nothing else is.
    expect(
      unknown.map((r) => r.id).sort((a, b) => a - b),
      "the 'unknown' rows are not exactly those a killed process left 'sending'",
    ).toEqual([...leftSending].sort((a, b) => a - b));
    expect(sent.length).toBeGreaterThanOrEqual(0.8 * outbox.length);

    // 3. The gateway got no message twice; each sent one exactly once, an unknown one at most once.
    const requests = gateway.received.filter((r) => r.path === INDIAN_GATEWAY_PATH);
    expect(requests.every((r) => refOf(r) !== undefined)).toBe(true);
    const delivered = new Map<number, ReceivedRequest[]>();
    for (const r of requests.filter((q) => q.fault === undefined)) {
      const id = refOf(r) ?? 0;
      delivered.set(id, [...(delivered.get(id) ?? []), r]);
    }
    const twice = [...delivered].filter(([, list]) => list.length > 1).map(([id]) => id);
    expect(twice, 'outbox ids the gateway received more than once').toEqual([]);
    const texts = gateway.accepted.map((a) => a.message);
    expect(new Set(texts).size, 'one text delivered twice').toBe(texts.length);
    const outboxIds = new Set(outbox.map((r) => r.id));
    expect([...delivered.keys()].filter((id) => !outboxIds.has(id))).toEqual([]);
    expect(sent.filter((r) => delivered.get(r.id)?.length !== 1).map((r) => r.id)).toEqual([]);
    expect(unknown.filter((r) => (delivered.get(r.id)?.length ?? 0) > 1)).toEqual([]);
    expect(gateway.accepted).toHaveLength(delivered.size);

    // 4. What the gateway received is the outbox's text, to the outbox's number.
    for (const r of outbox) {
      const got = delivered.get(r.id)?.[0];
      if (!got) continue;
      const body = got.body as Record<string, string>;
      expect(body.message).toBe(r.text);
      expect(`+${body.mobiles ?? ''}`).toBe(r.mobile);
    }
    const answered = new Set(gateway.accepted.map((a) => a.requestId));
    expect(sent.filter((r) => !answered.has(r.provider_message_id ?? ''))).toEqual([]);

    // Retries with backoff ran: the gateway's 503s were sent again later, and went.
    const faulted = new Set(requests.filter((r) => r.fault !== undefined).map((r) => refOf(r)));
    const retriedAndSent = sent.filter((r) => faulted.has(r.id) && r.attempts > 1).length;
    expect(faulted.size).toBeGreaterThan(0);
    expect(retriedAndSent).toBeGreaterThan(0);

    const unknownReceived = unknown.filter((r) => delivered.has(r.id)).length;
    const midSend = kills.filter((k) => k.sendingAfter > 0).length;
    console.log(
      `[${dialect}] seed ${seed}: ${confirmed.size} sales confirmed in ${Math.round(sellingMs / 1000)} s ` +
        `(${retriedKeys} after a retry across a kill, ${replays} replays, slowest answer ${Math.round(slowest)} ms), ` +
        `${sales.length} in the database; ` +
        `${outbox.length} notices: ${sent.length} sent, ${unknown.length} unknown ` +
        `(${unknownReceived} of them reached the gateway, ${unknown.length - unknownReceived} never left); ` +
        `${retriedAndSent} sent after a 503 and a retry; ` +
        `kills mid-send ${midSend}/${kills.length} ` +
        `(rows left 'sending' per kill: ${kills.map((k) => k.sendingAfter).join(', ')}; ` +
        `gateway holding a request at the kill: ${kills.map((k) => k.gatewayHeld).join(', ')})`,
    );
  }, 40_000);
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from './support/databases.ts';
import { startTestCentral, type TestCentral } from './support/central.ts';
import { startChaosProxy, type ChaosProxy } from './support/chaos-proxy.ts';
import { createSeededRandom } from './support/random.ts';
import {
  centralHead,
  centralStates,
  startPairedTerminal,
  waitConverged,
  waitFor,
  expectBalancesFromSales,
} from './support/terminal.ts';
import { CounterError } from '../terminal/core.ts';
import { pointsForAmount } from '../shared/points/earn.ts';

type Terminal = Awaited<ReturnType<typeof startPairedTerminal>>;

/** The fixture's earn rates (test/support/central.ts), points per ₹100: the test's own oracle. */
const RATES = { ELEC: 2, ELTR: 1, APPL: 1, BOOK: 5 } as const;
type Category = keyof typeof RATES;
const CATEGORIES = Object.keys(RATES) as Category[];

/** How long the terminals take sales and enrolments while the proxies cut and delay. */
const CHAOS_MS = 3_000;
/** `CHAOS_SEED=<n>` replays a run's fault schedules and workload choices (not its timing). */
const BASE_SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));

interface ConfirmedSale {
  key: string;
  billNumber: string;
  mobile: string;
  points: number;
  terminal: number;
  /** The member was enrolled at another terminal than the one that sold to them. */
  crossTerminal: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A member's name from the mobile's last digits, in letters (names hold no digits). */
function nameFor(mobile: string): string {
  return `Chaos ${mobile.slice(-5).replace(/\d/g, (d) => 'ABCDEFGHIJ'.charAt(Number(d)))}`;
}

describeEachDb('sync under network chaos', (dialect) => {
  let c: TestCentral;
  const proxies: ChaosProxy[] = [];
  const terminals: Terminal[] = [];

  beforeAll(async () => {
    c = await startTestCentral(dialect, { sync: { heartbeatMs: 200 } });
    const port = Number(new URL(c.url).port);
    for (const showroom of ['MUM-01', 'DEL-01', 'MUM-01']) {
      const proxy = await startChaosProxy({ host: '127.0.0.1', port });
      proxies.push(proxy);
      terminals.push(await startPairedTerminal(c, showroom, { sync: { centralUrl: proxy.url } }));
    }
    await Promise.all(terminals.map((t) => waitConverged(t.core, c.central)));
    // An empty cache equals an empty central at once: wait for the first pull's earn rates.
    await waitFor('every terminal to have the earn rates', () =>
      terminals.every((t) => t.core.store.rules !== undefined),
    );
  });

  afterAll(async () => {
    for (const t of terminals) await t.close();
    for (const p of proxies) await p.close();
    await c.close();
  });

  it('three terminals behind flapping links sell and enrol; every confirmed item lands once', async () => {
    const seed = BASE_SEED + (dialect === 'pg' ? 1_000 : 0);
    console.log(`sync chaos [${dialect}]: seed ${seed} (replay with CHAOS_SEED=${BASE_SEED})`);
    const random = createSeededRandom(seed);
    const pick = <T>(items: readonly T[]): T => {
      const item = items[Math.floor(random() * items.length)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    };

    // The counters at which each mobile was enrolled (first one first), and every confirmed sale.
    const enrolledAt = new Map<string, number[]>();
    const confirmed: ConfirmedSale[] = [];
    let mobileNo = 0;
    let billNo = 0;
    let refusedAtCounter = 0;
    let duplicateEnrolments = 0;
    const newMobile = () => `+9198300${String((mobileNo += 1)).padStart(5, '0')}`;

    const enrol = (i: number, mobile: string) => {
      const t = terminals[i] as Terminal;
      const r = t.core.enrol({ mobile, name: nameFor(mobile), smsConsent: i !== 1 });
      const at = enrolledAt.get(mobile) ?? [];
      // Enrolled again at a counter that has not seen the first enrolment yet: central answers
      // with the same member. Never at the counter that enrolled it.
      expect(at.includes(i) && r.created, `${mobile} enrolled twice at counter ${i}`).toBe(false);
      if (at.length > 0 && r.created) duplicateEnrolments += 1;
      enrolledAt.set(mobile, [...at, i]);
    };

    const sell = (i: number, mobile: string): void => {
      const t = terminals[i] as Terminal;
      billNo += 1;
      const billNumber = `CHAOS-${dialect}-${billNo}`;
      const lines = Array.from({ length: 1 + Math.floor(random() * 2) }, (_, n) => ({
        sku: `SKU-${n + 1}`,
        categoryCode: pick(CATEGORIES),
        quantity: 1 + Math.floor(random() * 3),
        amountPaise: 100 + Math.floor(random() * 2_000_000),
      }));
      const points = lines.reduce(
        (sum, l) => sum + pointsForAmount(l.amountPaise, RATES[l.categoryCode]),
        0,
      );
      try {
        const sale = t.core.recordSale({ billNumber, mobile, lines });
        expect(sale.pendingPoints).toBe(points);
        confirmed.push({
          key: sale.key,
          billNumber,
          mobile,
          points,
          terminal: i,
          crossTerminal: !enrolledAt.get(mobile)?.includes(i),
        });
      } catch (error) {
        // A member enrolled at another counter whose enrolment has not reached this one yet.
        if (!(error instanceof CounterError) || error.code !== 'not-a-member') throw error;
        // A member enrolled at this counter is always known here (from the outbox until central
        // answers, then from the state the answer carries): only other counters' members wait.
        expect(
          enrolledAt.get(mobile)?.includes(i),
          `${mobile}, enrolled at counter ${i}, refused there`,
        ).not.toBe(true);
        refusedAtCounter += 1;
      }
    };

    // One member per terminal, enrolled and replicated before the faults start, so that sales
    // to a member enrolled at another counter certainly happen during the chaos.
    for (const i of [0, 1, 2]) enrol(i, newMobile());
    await Promise.all(terminals.map((t) => waitConverged(t.core, c.central)));

    proxies.forEach((p, i) => {
      p.startRandomFaults({ seed: seed + i, cutEveryMs: [50, 300], delayMs: [0, 30] });
    });
    const until = performance.now() + CHAOS_MS;
    while (performance.now() < until) {
      const i = Math.floor(random() * terminals.length);
      const roll = random();
      const mobiles = [...enrolledAt.keys()];
      if (roll < 0.15) {
        enrol(i, newMobile());
      } else if (roll < 0.22) {
        // The same customer enrolled at a second counter (often before it has heard of them).
        enrol(i, pick(mobiles.slice(-5)));
      } else if (roll < 0.5) {
        // A recently enrolled member, very likely enrolled elsewhere and not yet replicated.
        sell(i, pick(mobiles.slice(-4)));
      } else {
        sell(i, pick(mobiles));
      }
      await sleep(2 + Math.floor(random() * 10));
    }
    for (const p of proxies) p.stopFaults();

    const stats = proxies.map((p, i) => ({ terminal: i, ...p.stats() }));
    console.log(
      `sync chaos [${dialect}]: ${confirmed.length} sales confirmed ` +
        `(${confirmed.filter((s) => s.crossTerminal).length} to members enrolled at another counter), ` +
        `${refusedAtCounter} refused at the counter as not yet known there ` +
        `${enrolledAt.size} members, ${duplicateEnrolments} enrolled twice\n` +
        stats.map((s) => `  proxy ${JSON.stringify(s)}`).join('\n'),
    );
    for (const s of stats)
      expect(s.cut, `proxy of terminal ${s.terminal} never cut`).toBeGreaterThan(0);
    expect(confirmed.some((s) => s.crossTerminal)).toBe(true);

    // Every terminal converges once the links are healthy, and all agree at the same moment.
    const startedAt = performance.now();
    await Promise.all(terminals.map((t) => waitConverged(t.core, c.central, 20_000)));
    await waitFor(
      'every terminal to equal central at once',
      async () => {
        const [want, head] = await Promise.all([centralStates(c.central), centralHead(c.central)]);
        return terminals.every(
          (t) =>
            t.core.store.cursor === head &&
            JSON.stringify(t.core.store.allMembers()) === JSON.stringify(want),
        );
      },
      10_000,
    );
    console.log(
      `sync chaos [${dialect}]: converged ${Math.round(performance.now() - startedAt)} ms after the faults stopped`,
    );
    for (const t of terminals) {
      expect(t.core.outbox(), `outbox of ${t.credentials.terminalId}`).toEqual([]);
    }

    const knex = c.central.db.knex;
    // Each confirmed sale is at central exactly once, under its key and its bill, and no other.
    const sales: { idempotency_key: string; bill_number: string; points: number }[] = await knex(
      'sales',
    ).select('idempotency_key', 'bill_number', 'points');
    expect(sales).toHaveLength(confirmed.length);
    const saleByKey = new Map(sales.map((s) => [s.idempotency_key, s]));
    for (const s of confirmed) {
      expect(saleByKey.get(s.key), `sale ${s.key}`).toMatchObject({
        bill_number: s.billNumber,
        points: s.points,
      });
    }
    expect(new Set(sales.map((s) => s.bill_number)).size).toBe(sales.length);
    const keys: { key: string }[] = await knex('idempotency_keys').select('key');
    const keyCounts = new Map<string, number>();
    for (const k of keys) keyCounts.set(k.key, (keyCounts.get(k.key) ?? 0) + 1);
    for (const s of confirmed) expect(keyCounts.get(s.key), `key ${s.key}`).toBe(1);

    // One member per mobile, exactly the mobiles enrolled, each holding the points it earned,
    // and the ledger agrees with the balances, entry by entry.
    expect(await expectBalancesFromSales(c.central, [...enrolledAt.keys()], confirmed)).toBe(
      enrolledAt.size,
    );
  }, 60_000);
});

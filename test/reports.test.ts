import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../central/errors.ts';
import {
  fromDbTime,
  migrateDownLast,
  migrateLatest,
  openDb,
  toDbTime,
} from '../central/db/connect.ts';
import { hashRequest, type Actor, type WriteCommand } from '../central/ledger/writer.ts';
import { cancelKey, redeemKey } from '../central/redeem/service.ts';
import { insertShowroom } from '../central/db/catalogue-store.ts';
import * as showroomCounts from '../migrations/central/20261127090000_member_showroom_counts.ts';
import * as showroomSets from '../migrations/central/20261128090000_member_showroom_sets.ts';
import { rupeesOf } from '../central/reports/csv.ts';
import {
  CHURN_K,
  CHURN_MIN_VISITS,
  liabilityReport,
  membersReport,
  patternsReport,
  salesReport,
  todaySummary,
  type ReportDeps,
} from '../central/reports/queries.ts';
import { rebuildRollups, ROLLUP_TABLES } from '../central/reports/rollups.ts';
import { dayOf } from '../central/reports/days.ts';
import { boundsOf, ledgerSource } from '../central/reports/sources.ts';
import {
  LiabilityReportQuery,
  MembersReportQuery,
  PatternsReportQuery,
  SalesReportQuery,
  TodayQuery,
} from '../shared/protocol/reports.ts';
import { newKey, startPeerCentral, startTestCentral, type TestCentral } from './support/central.ts';
import { describeEachDb } from './support/databases.ts';
import { within } from './support/deadline.ts';
import { createSeededRandom } from './support/random.ts';

const ADMIN: Actor = { staffId: null, role: 'admin', showroomId: null };
const SHOWROOMS = ['MUM-01', 'DEL-01'] as const;
/**
 * The random activity's showrooms: eight, so a filter can take several but not all, and most
 * of them with two or more left out (the reports then count the chain less the rest).
 */
const RANDOM_SHOWROOMS = [
  ...SHOWROOMS,
  'BLR-01',
  'PUN-01',
  'HYD-01',
  'CHE-01',
  'KOL-01',
  'JAI-01',
] as const;
const CATEGORIES = ['ELEC', 'ELTR', 'APPL', 'BOOK'] as const;

function depsOf(c: TestCentral): ReportDeps {
  return { db: c.central.db, timeZone: c.central.config.TIME_ZONE, clock: c.clock };
}

/** Every rollup table's rows, sorted, with numbers as numbers. */
async function snapshot(c: TestCentral): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of ROLLUP_TABLES) {
    const rows: Record<string, unknown>[] = await c.central.db.knex(t).select('*');
    out[t] = rows
      .map((r) =>
        JSON.stringify(
          Object.keys(r)
            .sort()
            .map((k) => [
              k,
              typeof r[k] === 'string' && /^-?\d+$/.test(r[k]) ? Number(r[k]) : r[k],
            ]),
        ),
      )
      .sort();
  }
  return out;
}

/** Writes through the real writer, as the routes do; resolves with the answer or the refusal. */
async function write(c: TestCentral, command: WriteCommand): Promise<unknown> {
  try {
    return (await c.central.writer.write(command)).body;
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
}

/** A redemption (and its cancellation) as the redemption service writes them. */
function redeem(
  c: TestCentral,
  memberId: number,
  points: number,
  showroomId: number,
): WriteCommand {
  const key = newKey('redeem');
  return {
    kind: 'member-op',
    operation: 'redeem',
    key,
    requestHash: hashRequest({ key }),
    memberId,
    actor: ADMIN,
    run: async (ctx) => {
      if (ctx.member.balance < points) throw new AppError('insufficient-points', 'too few');
      const at = toDbTime(c.central.db, ctx.now);
      const rows: { id: number }[] = await ctx
        .trx('redemptions')
        .insert({
          member_id: memberId,
          showroom_id: showroomId,
          terminal_id: 'T-TEST',
          bill_number: key,
          bill_amount_paise: points * 1000,
          points,
          value_paise: points * 25,
          status: 'confirmed',
          requested_at: at,
          confirmed_at: at,
        })
        .returning('id');
      const id = (rows[0] as { id: number }).id;
      ctx.post({
        kind: 'redeem',
        points: -points,
        key: redeemKey(id),
        showroomId,
        terminalId: 'T-TEST',
        reason: 'test',
      });
      return { status: 201, body: { redemptionId: id } };
    },
  };
}

function cancel(
  c: TestCentral,
  memberId: number,
  redemptionId: number,
  showroomId: number,
): WriteCommand {
  const key = newKey('cancel');
  return {
    kind: 'member-op',
    operation: 'redeem-cancel',
    key,
    requestHash: hashRequest({ key }),
    memberId,
    actor: ADMIN,
    run: async (ctx) => {
      const row: { points: number } = await ctx
        .trx('redemptions')
        .where('id', redemptionId)
        .first('points');
      await ctx.trx('redemptions').where('id', redemptionId).update({ status: 'cancelled' });
      ctx.post({
        kind: 'reverse',
        points: row.points,
        key: cancelKey(redemptionId),
        showroomId,
        terminalId: 'T-TEST',
        reason: 'cancelled',
      });
      return { status: 200, body: {} };
    },
  };
}

function bonus(memberId: number, points: number): WriteCommand {
  const key = newKey('bonus');
  return {
    kind: 'member-op',
    operation: 'wish',
    key,
    requestHash: hashRequest({ key }),
    memberId,
    actor: ADMIN,
    run: (ctx) => {
      ctx.post({
        kind: 'bonus',
        points,
        key,
        showroomId: null,
        terminalId: null,
        reason: 'birthday',
      });
      return Promise.resolve({ status: 201, body: {} });
    },
  };
}

function saleCommand(
  mobile: string,
  showroomCode: string,
  lines: [string, number, number][],
): WriteCommand {
  const key = newKey('sale');
  const sale = {
    showroomCode,
    billNumber: key,
    mobile,
    lines: lines.map(([categoryCode, quantity, amountPaise], i) => ({
      sku: `SKU-${i}`,
      categoryCode,
      quantity,
      amountPaise,
    })),
  };
  return { kind: 'sale', key, requestHash: hashRequest(sale), sale, actor: ADMIN };
}

function enrolCommand(mobile: string, showroomCode: string, smsConsent = true): WriteCommand {
  return {
    kind: 'enrol',
    request: { mobile, name: 'Test Member', smsConsent, showroomCode },
    actor: ADMIN,
  };
}

function returnCommand(
  saleId: number,
  lines?: { lineNo: number; quantity: number }[],
): WriteCommand {
  const key = newKey('return');
  const request = lines ? { lines, reason: 'faulty' } : { reason: 'faulty' };
  return {
    kind: 'return',
    key,
    requestHash: hashRequest(request),
    saleId,
    request,
    actor: { staffId: null, role: 'manager', showroomId: null },
  };
}

function adjustCommand(memberId: number, points: number): WriteCommand {
  const key = newKey('adjust');
  const request = { points, reason: 'goodwill gesture' };
  return {
    kind: 'adjust',
    key,
    requestHash: hashRequest(request),
    memberId,
    request,
    actor: { staffId: null, role: 'manager', showroomId: null },
  };
}

/**
 * Random activity over about `days` days: enrolments, sales (1–3 lines), partial and whole
 * returns, redemptions and their cancellation, adjustments and bonuses, several commands per
 * batch (so the writer groups them), the clock moving a few hours between batches.
 */
async function randomActivity(c: TestCentral, seed: number, days: number): Promise<void> {
  const rnd = createSeededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const showroomIds = new Map<string, number>();
  for (const r of await c.central.db.knex('showrooms').select('id', 'code')) {
    showroomIds.set(r.code as string, r.id as number);
  }
  const members: { id: number; mobile: string }[] = [];
  const sales: { id: number; lines: number }[] = [];
  const redemptions: { id: number; memberId: number; showroomId: number }[] = [];
  let serial = 0;
  const endMs = c.clock.now().getTime() + days * 86_400_000;
  while (c.clock.now().getTime() < endMs) {
    c.clock.advance(Math.floor(rnd() * 10 * 3_600_000) + 60_000);
    const batch: { command: WriteCommand; after?: (body: unknown) => void }[] = [];
    const size = 1 + Math.floor(rnd() * 5);
    for (let i = 0; i < size; i += 1) {
      const roll = rnd();
      const showroom = pick(RANDOM_SHOWROOMS);
      if (members.length < 3 || roll < 0.12) {
        serial += 1;
        const mobile = `+9198${String(seed % 1000).padStart(3, '0')}${String(serial).padStart(5, '0')}`;
        batch.push({
          command: enrolCommand(mobile, showroom),
          after: (b) => {
            const m = (b as { member?: { id: number } }).member;
            if (m) members.push({ id: m.id, mobile });
          },
        });
      } else if (roll < 0.62) {
        // Some members buy often: the first few are picked more.
        const m =
          rnd() < 0.4
            ? (members[Math.floor(rnd() * Math.min(4, members.length))] as { mobile: string })
            : pick(members);
        const lines = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => [
          pick(CATEGORIES),
          1 + Math.floor(rnd() * 3),
          1 + Math.floor(rnd() * 500_000),
        ]) as [string, number, number][];
        batch.push({
          command: saleCommand(m.mobile, showroom, lines),
          after: (b) => {
            const s = b as { saleId?: number };
            if (s.saleId) sales.push({ id: s.saleId, lines: lines.length });
          },
        });
      } else if (roll < 0.72 && sales.length > 0) {
        const s = pick(sales);
        batch.push({
          command: returnCommand(
            s.id,
            rnd() < 0.5 ? undefined : [{ lineNo: 1 + Math.floor(rnd() * s.lines), quantity: 1 }],
          ),
        });
      } else if (roll < 0.84) {
        const m = pick(members);
        const showroomId = showroomIds.get(showroom) as number;
        batch.push({
          command: redeem(c, m.id, 1 + Math.floor(rnd() * 40), showroomId),
          after: (b) => {
            const r = b as { redemptionId?: number };
            if (r.redemptionId)
              redemptions.push({ id: r.redemptionId, memberId: m.id, showroomId });
          },
        });
      } else if (roll < 0.88 && redemptions.length > 0) {
        const r = redemptions.splice(
          Math.floor(rnd() * redemptions.length),
          1,
        )[0] as (typeof redemptions)[number];
        batch.push({ command: cancel(c, r.memberId, r.id, r.showroomId) });
      } else if (roll < 0.94) {
        batch.push({ command: adjustCommand(pick(members).id, Math.floor(rnd() * 60) - 20 || 5) });
      } else {
        batch.push({ command: bonus(pick(members).id, 10 + Math.floor(rnd() * 50)) });
      }
    }
    const answers = await Promise.all(batch.map((b) => write(c, b.command)));
    answers.forEach((a, i) => {
      if (!(a instanceof AppError)) batch[i]?.after?.(a);
    });
  }
}

const strip = <T extends { generatedAt: string }>(r: T) => ({ ...r, generatedAt: '' });

/** Every report, from the rollups and straight from the ledger, for one query: equal. */
async function checkAgainstLedger(
  c: TestCentral,
  q: { from: string; to: string; showrooms: string[]; granularity: 'day' | 'week' | 'month' },
): Promise<void> {
  const deps = depsOf(c);
  const truth = ledgerSource(c.central.db, deps.timeZone, { to: q.to });
  for (const dimension of ['time', 'showroom', 'category'] as const) {
    const query = SalesReportQuery.parse({ ...q, dimension });
    expect(strip(await salesReport(deps, query))).toEqual(
      strip(await salesReport(deps, query, truth)),
    );
  }
  const liability = LiabilityReportQuery.parse(q);
  expect(strip(await liabilityReport(deps, liability))).toEqual(
    strip(await liabilityReport(deps, liability, truth)),
  );
  for (const dimension of ['time', 'showroom'] as const) {
    const query = MembersReportQuery.parse({ ...q, dimension });
    expect(strip(await membersReport(deps, query))).toEqual(
      strip(await membersReport(deps, query, truth)),
    );
  }
  const patterns = PatternsReportQuery.parse(q);
  expect(strip(await patternsReport(deps, patterns))).toEqual(
    strip(await patternsReport(deps, patterns, truth)),
  );
}

describeEachDb('report rollups against the ledger', (dialect) => {
  for (const zone of ['Asia/Kolkata', 'Europe/London']) {
    describe(zone, () => {
      let c: TestCentral;
      let start: string;
      let end: string;

      beforeAll(async () => {
        c = await startTestCentral(dialect, { env: { TIME_ZONE: zone } });
        // London: the run crosses the end of summer time (25 October 2026).
        c.clock.set(zone === 'Europe/London' ? '2026-10-10T08:00:00Z' : '2026-11-20T06:30:00Z');
        for (const code of RANDOM_SHOWROOMS.slice(SHOWROOMS.length)) {
          await insertShowroom(
            c.central.db,
            { code, name: `Showroom ${code}`, city: 'Bengaluru' },
            c.clock.now(),
          );
        }
        start = c.clock.now().toISOString().slice(0, 10);
        await randomActivity(c, zone.length * 7919 + (dialect === 'pg' ? 1 : 0), 30);
        end = c.clock.now().toISOString().slice(0, 10);
      }, 120_000);
      afterAll(async () => {
        await c.close();
      });

      it('keeps, in each batch, exactly what a rebuild from the ledger computes', async () => {
        const kept = await snapshot(c);
        expect(kept.report_points_daily?.length).toBeGreaterThan(10);
        await rebuildRollups(c.central.db, zone);
        expect(await snapshot(c)).toEqual(kept);
      });

      it('gives every report the figures computed straight from the ledger, for random queries', async () => {
        const days = (Date.parse(end) - Date.parse(start)) / 86_400_000;
        const day = (n: number) =>
          new Date(Date.parse(start) + n * 86_400_000).toISOString().slice(0, 10);
        // Several showrooms but not all: counted showroom by showroom (3 of 8), and as the
        // chain less the others (6 of 8).
        for (const showrooms of [
          ['MUM-01', 'BLR-01', 'PUN-01'],
          RANDOM_SHOWROOMS.filter((s) => s !== 'DEL-01' && s !== 'CHE-01'),
        ]) {
          for (const granularity of ['day', 'week'] as const) {
            await checkAgainstLedger(c, { from: day(0), to: day(days), showrooms, granularity });
          }
        }
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: -3, max: days + 2 }),
            fc.integer({ min: 0, max: days + 5 }),
            fc.subarray([...RANDOM_SHOWROOMS]),
            fc.constantFrom('day', 'week', 'month'),
            async (a, length, showrooms, granularity) => {
              await checkAgainstLedger(c, {
                from: day(a),
                to: day(a + length),
                showrooms,
                granularity,
              });
            },
          ),
          { numRuns: 16, seed: 7 },
        );
      }, 120_000);

      it('counts showrooms per member and churn risk of a filter as the sales say, member by member', async () => {
        const sales: {
          id: number;
          member_id: number;
          code: string;
          recorded_at: unknown;
          amount_paise: number;
        }[] = await c.central.db
          .knex('sales as s')
          .join('showrooms as r', 'r.id', 's.showroom_id')
          .select('s.id', 's.member_id', 'r.code', 's.recorded_at', 's.amount_paise');
        // Each member's days (in the zone), showrooms, spend and the showroom of the last bill.
        const members = new Map<
          number,
          { days: Set<number>; codes: Set<string>; spend: number; lastId: number; last: string }
        >();
        for (const sale of sales) {
          const m = members.get(sale.member_id) ?? {
            days: new Set<number>(),
            codes: new Set<string>(),
            spend: 0,
            lastId: 0,
            last: '',
          };
          const at = new Date(fromDbTime(sale.recorded_at));
          m.days.add(Date.parse(dayOf(at, zone)) / 86_400_000);
          m.codes.add(sale.code);
          m.spend += sale.amount_paise;
          if (sale.id > m.lastId) {
            m.lastId = sale.id;
            m.last = sale.code;
          }
          members.set(sale.member_id, m);
        }
        const today = Date.parse(dayOf(c.clock.now(), zone)) / 86_400_000;
        for (const picked of [
          ['MUM-01', 'BLR-01', 'PUN-01'],
          RANDOM_SHOWROOMS.filter((s) => s !== 'DEL-01'),
        ]) {
          const report = await patternsReport(
            depsOf(c),
            PatternsReportQuery.parse({ from: start, to: end, showrooms: picked }),
          );
          const spread = [1, 2, 3, 4].map(() => ({ members: 0, salesPaise: 0 }));
          const churn = new Map(picked.map((code) => [code, { history: 0, atRisk: 0, spend: 0 }]));
          for (const m of members.values()) {
            if (![...m.codes].some((code) => picked.includes(code))) continue;
            const bucket = spread[Math.min(m.codes.size, 4) - 1] as (typeof spread)[number];
            bucket.members += 1;
            bucket.salesPaise += m.spend;
            const row = churn.get(m.last);
            if (!row || m.days.size < CHURN_MIN_VISITS) continue;
            row.history += 1;
            const first = Math.min(...m.days);
            const last = Math.max(...m.days);
            if ((today - last) * (m.days.size - 1) > CHURN_K * (last - first)) {
              row.atRisk += 1;
              row.spend += m.spend;
            }
          }
          expect(spread[1]?.members).toBeGreaterThan(0);
          expect(report.showroomsPerMember.map((r) => [r.members, r.salesPaise])).toEqual(
            spread.map((r) => [r.members, r.salesPaise]),
          );
          const rows = report.churnRisk.rows.map((r) => [
            r.showroomCode,
            r.membersWithHistory,
            r.membersAtRisk,
            r.atRiskSpendPaise,
          ]);
          expect(rows).toEqual(
            [...churn].map(([code, r]) => [code, r.history, r.atRisk, r.spend]).sort(),
          );
          expect(report.churnRisk.totals.membersWithHistory).toBeGreaterThan(0);
        }
      });

      it("gives today's active members of several showrooms from a freshly opened pool", async () => {
        // One member buys at two of the picked showrooms today: counted once.
        const mobile: string = await c.central.db
          .knex('members')
          .orderBy('id')
          .first('mobile')
          .then((m: { mobile: string }) => m.mobile);
        for (const showroom of ['MUM-01', 'BLR-01'] as const) {
          const answer = await write(c, saleCommand(mobile, showroom, [['BOOK', 1, 45_000]]));
          expect(answer).not.toBeInstanceOf(AppError);
        }
        const picked = ['MUM-01', 'BLR-01', 'PUN-01', 'HYD-01'];
        // A second pool on the same database, as a restarted central has.
        const env = c.database.env;
        const db = openDb({
          dataDir: env.DATA_DIR,
          ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
        });
        try {
          const summary = await todaySummary(
            { ...depsOf(c), db },
            TodayQuery.parse({ showrooms: picked }),
          );
          const { start, end } = boundsOf(
            dayOf(c.clock.now(), zone),
            dayOf(c.clock.now(), zone),
            zone,
          );
          const [row] = await c.central.db
            .knex('sales as s')
            .join('showrooms as r', 'r.id', 's.showroom_id')
            .whereIn('r.code', picked)
            .where('s.recorded_at', '>=', toDbTime(db, start))
            .where('s.recorded_at', '<', toDbTime(db, end))
            .countDistinct({ n: 's.member_id' });
          expect(Number(row?.n)).toBeGreaterThan(0);
          expect(summary.members).toBe(Number(row?.n));
        } finally {
          await db.knex.destroy();
        }
      });

      // Each migration that adds a kept column computes, for rollups already stored, what the
      // writer keeps; the row marks a member with two showrooms, so the case is not empty.
      for (const [what, migration, manyShowrooms, table] of [
        ['counts', showroomCounts, /"member_showrooms",2\]/, 'report_member_showrooms'],
        ['sets', showroomSets, /"showroom_ids","?\[\d+,\d+/, 'report_member_stats'],
      ] as const) {
        it(`computes, migrating existing rollups, the showroom ${what} the writer keeps`, async () => {
          const kept = await snapshot(c);
          const many = kept[table]?.filter((r) => manyShowrooms.test(r));
          expect(many?.length).toBeGreaterThan(0);
          const knex = c.central.db.knex;
          await migration.down(knex);
          await migration.up(knex);
          expect(await snapshot(c)).toEqual(kept);
        });
      }

      it('compacts the members rollups after filling their sets, outside a transaction', async () => {
        const db = c.central.db;
        const kept = await snapshot(c);
        // As central runs them at start, through the migrator: VACUUM FULL fails inside a
        // transaction block (and CLUSTER there would keep the old row versions).
        await migrateDownLast(db); // the SMS outbox's indexes, which came after
        await migrateDownLast(db);
        await migrateDownLast(db);
        expect(await migrateLatest(db)).toEqual([
          '20261128090000_member_showroom_sets.ts',
          '20261128090100_compact_member_rollups.ts',
          '20261129090000_sms_due_indexes.ts',
        ]);
        expect(await snapshot(c)).toEqual(kept);
      });

      it('rebuilds while sales are being written, and ends as the ledger says', async () => {
        const mobiles: string[] = await c.central.db.knex('members').limit(5).pluck('mobile');
        const writes = Array.from({ length: 40 }, (_, i) =>
          write(
            c,
            saleCommand(mobiles[i % mobiles.length] as string, SHOWROOMS[i % 2] as string, [
              ['ELEC', 1, 10_000 + i],
            ]),
          ),
        );
        await Promise.all([...writes, rebuildRollups(c.central.db, zone)]);
        const kept = await snapshot(c);
        await rebuildRollups(c.central.db, zone);
        expect(await snapshot(c)).toEqual(kept);
      });

      it('closes the liability at the sum of the members\u2019 balances', async () => {
        const deps = depsOf(c);
        const report = await liabilityReport(
          deps,
          LiabilityReportQuery.parse({ from: start, to: c.clock.now().toISOString().slice(0, 10) }),
        );
        const [row] = await c.central.db.knex('members').sum({ total: 'balance' });
        expect(report.totals.closingPoints).toBe(Number(row?.total));
        expect(report.totals.openingPoints).toBe(0);
      });
    });
  }
});

/** A tiny RFC 4180 reader for the tests (BOM, quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const s = text.replace(/^\uFEFF/, '');
  for (let i = 0; i < s.length; i += 1) {
    const ch = s[i] as string;
    if (quoted) {
      if (ch === '"' && s[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && s[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 1;
    } else field += ch;
  }
  return rows;
}

/** Rupees text back to paise, by string arithmetic. */
function paiseOf(text: string): number {
  const match = /^(-?)(\d+)\.(\d\d)$/.exec(text);
  if (!match) throw new Error(`not rupees: ${text}`);
  return (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 100 + Number(match[3]));
}

describe('CSV money', () => {
  it('writes paise as rupees with integer arithmetic, sign and all', () => {
    expect(rupeesOf(0)).toBe('0.00');
    expect(rupeesOf(5)).toBe('0.05');
    expect(rupeesOf(-5)).toBe('-0.05');
    expect(rupeesOf(123_456_789)).toBe('1234567.89');
    expect(rupeesOf(Number.MAX_SAFE_INTEGER)).toBe('90071992547409.91');
    fc.assert(fc.property(fc.maxSafeInteger(), (p) => paiseOf(rupeesOf(p)) === p));
  });
});

/** Today's live figures from a central's event stream, one event at a time. */
async function openLive(url: string, token: string) {
  const controller = new AbortController();
  const response = await fetch(`${url}/api/reports/live`, {
    headers: { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const events: { bills: number; salesPaise: number; atMs: number }[] = [];
  const next = async () => {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const chunk = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^event: today\ndata: (.*)$/m.exec(chunk);
        if (data) {
          const figures = JSON.parse(data[1] as string) as { bills: number; salesPaise: number };
          events.push({ ...figures, atMs: performance.now() });
          return events.at(-1);
        }
        continue;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      buffer += decoder.decode(value, { stream: true });
    }
  };
  const close = async () => {
    controller.abort();
    await reader.cancel().catch(() => undefined);
  };
  return { events, next, close };
}

describeEachDb('reports over HTTP', (dialect) => {
  let c: TestCentral;
  const day1 = '2026-11-20';
  const day2 = '2026-11-21';
  const ids = { a: 0, b: 0, c: 0 };
  let saleId = 0;

  beforeAll(async () => {
    c = await startTestCentral(dialect, { env: { SESSION_TTL_HOURS: '720' } });
    // A showroom whose name would be a formula in a spreadsheet.
    await c.request('POST', '/api/showrooms', {
      token: c.tokens.admin,
      body: { code: 'PUN-01', name: '=HYPERLINK("x")', city: 'Pune, "East"' },
    });
    const at = (iso: string) => {
      c.clock.set(iso);
    };
    // Day 1 (IST): A and B enrol at MUM; A buys twice at MUM, B once at DEL.
    at('2026-11-20T07:00:00Z');
    const a = (await write(c, enrolCommand('+919811100001', 'MUM-01'))) as {
      member: { id: number };
    };
    const b = (await write(c, enrolCommand('+919811100002', 'MUM-01'))) as {
      member: { id: number };
    };
    ids.a = a.member.id;
    ids.b = b.member.id;
    at('2026-11-20T08:00:00Z');
    // ELEC 2/₹100: ₹1,000 → 20; BOOK 5/₹100: ₹450.50 → 22.
    const s1 = (await write(
      c,
      saleCommand('+919811100001', 'MUM-01', [
        ['ELEC', 4, 1_00_000],
        ['BOOK', 1, 45_050],
      ]),
    )) as { saleId: number; points: number };
    expect(s1.points).toBe(42);
    saleId = s1.saleId;
    at('2026-11-20T10:00:00Z');
    await write(c, saleCommand('+919811100001', 'MUM-01', [['APPL', 1, 2_00_000]])); // 20 points
    await write(c, saleCommand('+919811100002', 'DEL-01', [['BOOK', 2, 20_000]])); // 10 points
    // Day 2: A's first bill comes back whole (−42); at DEL A redeems 10 (₹2.50), B redeems 4 and cancels.
    at('2026-11-21T06:00:00Z');
    await write(c, returnCommand(saleId));
    const del: { id: number } | undefined = await c.central.db
      .knex('showrooms')
      .where('code', 'DEL-01')
      .first('id');
    const delId = { id: del?.id ?? 0 };
    const r = (await write(c, redeem(c, ids.a, 10, delId.id))) as { redemptionId: number };
    const r2 = (await write(c, redeem(c, ids.b, 4, delId.id))) as { redemptionId: number };
    await write(c, cancel(c, ids.b, r2.redemptionId, delId.id));
    expect(r.redemptionId).toBeGreaterThan(0);
    await write(c, adjustCommand(ids.b, 7));
    await write(c, bonus(ids.a, 50));
    const third = (await write(c, enrolCommand('+919811100003', 'DEL-01'))) as {
      member: { id: number };
    };
    ids.c = third.member.id;
    at('2026-11-21T12:00:00Z');
  }, 60_000);
  afterAll(async () => {
    await c.close();
  });

  const get = (
    path: string,
    token: string | null = c.tokens.manager,
    headers: Record<string, string> = {},
  ) => c.request('GET', path, { token, headers });

  it('sales vs redemption by day: the known figures, which add up to the ledger', async () => {
    const r = await get(`/api/reports/sales?from=${day1}&to=${day2}&granularity=day`);
    expect(r.status).toBe(200);
    expect(r.body.rows).toHaveLength(2);
    expect(r.body.rows[0]).toMatchObject({
      period: day1,
      bills: 3,
      lines: 4,
      salesPaise: 1_00_000 + 45_050 + 2_00_000 + 20_000,
      returnedPaise: 0,
      pointsEarned: 42 + 20 + 10,
      pointsReversed: 0,
      pointsRedeemed: 0,
    });
    expect(r.body.rows[1]).toMatchObject({
      period: day2,
      bills: 0,
      returnedPaise: 1_45_050,
      netSalesPaise: -1_45_050,
      pointsReversed: 42,
      pointsRedeemed: 10,
      redeemedValuePaise: 250,
    });
    // Against the ledger itself.
    const entries: { kind: string; points: number }[] = await c.central.db
      .knex('ledger_entries')
      .select('kind', 'points');
    const of = (kind: string) =>
      entries.filter((e) => e.kind === kind).reduce((s, e) => s + e.points, 0);
    expect(r.body.totals.pointsEarned).toBe(of('earn'));
    expect(r.body.totals.pointsRedeemed).toBe(-of('redeem') - 4);
    const sales: { amount_paise: number }[] = await c.central.db
      .knex('sales')
      .select('amount_paise');
    expect(r.body.totals.salesPaise).toBe(sales.reduce((s, x) => s + x.amount_paise, 0));
  });

  it('by category, keeps redemption on its own row instead of inventing an allocation', async () => {
    const r = await get(`/api/reports/sales?from=${day1}&to=${day2}&dimension=category`);
    expect(r.status).toBe(200);
    const book = r.body.rows.find((x: { categoryCode: string }) => x.categoryCode === 'BOOK');
    expect(book).toMatchObject({
      lines: 2,
      salesPaise: 65_050,
      pointsEarned: 32,
      pointsReversed: 22,
      bills: null,
      pointsRedeemed: null,
    });
    const redemptions = r.body.rows.find(
      (x: { categoryCode: string | null }) => x.categoryCode === null,
    );
    expect(redemptions).toMatchObject({
      pointsRedeemed: 10,
      redeemedValuePaise: 250,
      salesPaise: 0,
    });
    expect(r.body.totals).toMatchObject({
      bills: 3,
      pointsEarned: 72,
      pointsReversed: 42,
      pointsRedeemed: 10,
    });
    expect(r.body.notes.join(' ')).toMatch(/not for a category/);
  });

  it('by showroom, with a filter', async () => {
    const r = await get(
      `/api/reports/sales?from=${day1}&to=${day2}&dimension=showroom&showrooms=DEL-01`,
    );
    expect(r.body.rows).toEqual([
      expect.objectContaining({
        showroomCode: 'DEL-01',
        bills: 1,
        salesPaise: 20_000,
        pointsEarned: 10,
        pointsRedeemed: 10,
        redeemedValuePaise: 250,
      }),
    ]);
    expect(r.body.showrooms).toEqual(['DEL-01']);
  });

  it('liability: opening, movements by kind, closing = sum of balances', async () => {
    const r = await get(`/api/reports/liability?from=${day2}&to=${day2}&granularity=day`);
    expect(r.status).toBe(200);
    expect(r.body.totals).toMatchObject({
      openingPoints: 72,
      earnPoints: 0,
      redeemPoints: -14,
      reversePoints: -42 + 4,
      adjustPoints: 7,
      bonusPoints: 50,
      closingPoints: 72 - 14 - 38 + 7 + 50,
      closingValuePaise: (72 - 14 - 38 + 7 + 50) * 100,
    });
    const [row] = await c.central.db.knex('members').sum({ total: 'balance' });
    expect(r.body.totals.closingPoints).toBe(Number(row?.total));
  });

  it('members: enrolments and active members, each counted once', async () => {
    const r = await get(`/api/reports/members?from=${day1}&to=${day2}`);
    expect(r.status).toBe(200);
    const mum = r.body.rows.find((x: { showroomCode: string }) => x.showroomCode === 'MUM-01');
    const del = r.body.rows.find((x: { showroomCode: string }) => x.showroomCode === 'DEL-01');
    expect(mum).toMatchObject({ enrolments: 2, activeMembers: 1, bills: 2 });
    expect(del).toMatchObject({ enrolments: 1, activeMembers: 1, bills: 1 });
    expect(r.body.totals).toMatchObject({
      enrolments: 3,
      activeMembers: 2,
      bills: 3,
      membersAtEnd: 3,
    });
    const byDay = await get(
      `/api/reports/members?from=${day1}&to=${day2}&dimension=time&granularity=day`,
    );
    expect(byDay.body.rows.map((x: { activeMembers: number }) => x.activeMembers)).toEqual([2, 0]);
  });

  it('patterns: category mix, visits, RFM, showrooms per member, churn', async () => {
    const r = await get(`/api/reports/patterns?from=${day1}&to=${day2}`);
    expect(r.status).toBe(200);
    expect(r.body.totals).toMatchObject({
      activeMembers: 2,
      visits: 2,
      bills: 3,
      multiShowroomMembers: 0,
    });
    expect(r.body.visitFrequency[0]).toMatchObject({ visits: '1', members: 2 });
    expect(r.body.rfm.find((x: { segment: string }) => x.segment === 'new').members).toBe(2);
    expect(r.body.showroomsPerMember[0]).toMatchObject({ showrooms: '1', members: 2 });
    expect(r.body.churnRisk).toMatchObject({
      k: 2,
      minVisits: 3,
      totals: { membersWithHistory: 0 },
    });
    const share = r.body.categoryMix.reduce(
      (s: number, x: { shareBasisPoints: number }) => s + x.shareBasisPoints,
      0,
    );
    expect(share).toBeGreaterThanOrEqual(9_998);
  });

  it('SMS by kind: earn notices for the three bills', async () => {
    const r = await get(`/api/reports/sms?from=${day1}&to=${day2}`);
    expect(r.status).toBe(200);
    expect(r.body.rows.find((x: { kind: string }) => x.kind === 'earn')).toMatchObject({
      total: 3,
    });
    expect(r.body.totals.total).toBe(
      r.body.rows.reduce((s: number, x: { total: number }) => s + x.total, 0),
    );
  });

  it('today: the dashboard figures', async () => {
    const r = await get('/api/reports/today');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      date: day2,
      bills: 0,
      returnedPaise: 1_45_050,
      pointsRedeemed: 10,
      enrolments: 1,
    });
  });

  it('CSV: a download whose numbers parse back to the JSON figures', async () => {
    const json = await get(`/api/reports/sales?from=${day1}&to=${day2}&dimension=showroom`);
    const csv = await get(
      `/api/reports/sales?from=${day1}&to=${day2}&dimension=showroom&format=csv`,
    );
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(csv.headers.get('content-disposition')).toBe(
      `attachment; filename="loyalty-sales-${day1}-to-${day2}.csv"`,
    );
    const rows = parseCsv(csv.body as string);
    const head = rows[0] as string[];
    expect(head.slice(0, 4)).toEqual(['showroom_code', 'showroom', 'bills', 'lines']);
    const col = (name: string) => head.indexOf(name);
    const jsonRows = json.body.rows as {
      showroomCode: string;
      salesPaise: number;
      netSalesPaise: number;
      pointsRedeemed: number;
    }[];
    for (const [i, row] of jsonRows.entries()) {
      const line = rows[i + 1] as string[];
      expect(line[col('showroom_code')]).toBe(row.showroomCode);
      expect(paiseOf(line[col('sales_rupees')] as string)).toBe(row.salesPaise);
      expect(paiseOf(line[col('net_sales_rupees')] as string)).toBe(row.netSalesPaise);
      expect(Number(line[col('points_redeemed')])).toBe(row.pointsRedeemed);
    }
    const total = rows[jsonRows.length + 1] as string[];
    expect(total[0]).toBe('Total');
    expect(paiseOf(total[col('returned_rupees')] as string)).toBe(json.body.totals.returnedPaise);
    // The showroom named like a formula is defused and quoted.
    const pune = rows.find((x) => x[0] === 'PUN-01') as string[];
    expect(pune[1]).toBe(`'=HYPERLINK("x")`);
    expect(csv.body as string).toContain(`"'=HYPERLINK(""x"")"`);
    // Accept: text/csv asks for the same.
    const accepted = await get(`/api/reports/liability?from=${day1}&to=${day2}`, c.tokens.manager, {
      accept: 'text/csv',
    });
    const liability = parseCsv(accepted.body as string);
    expect(liability[0]?.[0]).toBe('period');
    expect(Number(liability.at(-1)?.[liability[0]?.indexOf('closing_points') ?? 0])).toBe(77);
    for (const section of [
      'category-mix',
      'visit-frequency',
      'rfm',
      'showrooms-per-member',
      'churn-risk',
    ]) {
      const p = await get(
        `/api/reports/patterns?from=${day1}&to=${day2}&format=csv&section=${section}`,
      );
      expect(p.status).toBe(200);
      expect(parseCsv(p.body as string).length).toBeGreaterThan(1);
    }
    const sms = await get(`/api/reports/sms?from=${day1}&to=${day2}&format=csv`);
    expect(parseCsv(sms.body as string)[0]?.[0]).toBe('kind');
    const members = await get(`/api/reports/members?from=${day1}&to=${day2}&format=csv`);
    expect(parseCsv(members.body as string).at(-1)).toEqual(['Total', '', '3', '2', '3']);
  });

  it('refuses bad queries, naming the field, and changes nothing', async () => {
    const cases: [string, number, string][] = [
      [`/api/reports/sales?from=${day2}&to=${day1}`, 400, 'query:from'],
      ['/api/reports/sales?from=2025-01-01&to=2026-11-21', 400, 'query:from'],
      [`/api/reports/sales?from=${day1}&to=${day2}&granularity=hour`, 400, 'query:granularity'],
      [`/api/reports/sales?from=${day1}&to=${day2}&dimension=colour`, 400, 'query:dimension'],
      [`/api/reports/sales?from=20-11-2026&to=${day2}`, 400, 'query:from'],
      [`/api/reports/liability?to=${day2}`, 400, 'query:from'],
      [`/api/reports/members?from=${day1}&to=${day2}&showrooms=XXX-99`, 422, 'query:showrooms'],
      [
        `/api/reports/patterns?from=${day1}&to=${day2}&showrooms=bad code`,
        400,
        'query:showrooms/0',
      ],
      [`/api/reports/patterns?from=${day1}&to=${day2}&section=all`, 400, 'query:section'],
      ['/api/reports/today?showrooms=NOPE-1', 422, 'query:showrooms'],
      ['/api/reports/live?showrooms=NOPE-1', 422, 'query:showrooms'],
    ];
    const before = await c.counts();
    for (const [path, status, pointer] of cases) {
      const r = await get(path);
      expect({ path, status: r.status }).toEqual({ path, status });
      expect(r.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    }
    expect(await c.counts()).toEqual(before);
  });

  it('needs a manager: a cashier gets 403, nobody signed in 401', async () => {
    for (const path of [
      `/api/reports/sales?from=${day1}&to=${day2}`,
      `/api/reports/liability?from=${day1}&to=${day2}`,
      `/api/reports/members?from=${day1}&to=${day2}`,
      `/api/reports/patterns?from=${day1}&to=${day2}`,
      `/api/reports/sms?from=${day1}&to=${day2}`,
      '/api/reports/today',
      '/api/reports/live',
    ]) {
      expect((await get(path, c.tokens.cashier)).status).toBe(403);
      expect((await get(path, null)).status).toBe(401);
    }
    expect((await get(`/api/reports/sms?from=${day1}&to=${day2}`, c.tokens.admin)).status).toBe(
      200,
    );
  });

  it('live: sends today at once, then new figures after a sale, at most one a second', async () => {
    const { events, next, close } = await openLive(c.url, c.tokens.manager);
    const first = await next();
    expect(first).toMatchObject({ bills: 0 });
    await write(c, saleCommand('+919811100003', 'DEL-01', [['ELEC', 1, 30_000]]));
    await write(c, saleCommand('+919811100003', 'DEL-01', [['ELEC', 1, 10_000]]));
    const second = await next();
    // The two commits may share one push or come in two, a second apart.
    const last = second?.bills === 2 ? second : await next();
    expect(last).toMatchObject({ bills: 2, salesPaise: 40_000 });
    if (events.length === 3) {
      expect((events[2]?.atMs ?? 0) - (events[1]?.atMs ?? 0)).toBeGreaterThanOrEqual(900);
    }
    await close();
  });

  // Several central processes share PostgreSQL behind a load balancer: the console's stream
  // on one hears a sale committed by another.
  it.runIf(dialect === 'pg')(
    'live: hears a sale committed by another central process',
    async () => {
      // The stream on one peer, the sale on another: neither sends SMS, so only the other's
      // commit can wake the stream (this test's central sends the notices of its own sales).
      const peer = await startPeerCentral(c.database, c.clock, { SMS_WORKER: 'false' });
      const watcher = await startPeerCentral(c.database, c.clock, { SMS_WORKER: 'false' });
      const live = await openLive(watcher.url, c.tokens.manager);
      try {
        const first = await live.next();
        await peer.central.writer.write(enrolCommand('+919811100077', 'DEL-01', false));
        await peer.central.writer.write(
          saleCommand('+919811100077', 'DEL-01', [['ELEC', 1, 25_000]]),
        );
        const nextWithin = () => within(live.next(), 5_000, "live figures after the peer's sale");
        let latest = await nextWithin();
        // The enrolment and the sale may come as one push or two, a second apart.
        if (latest?.bills === first?.bills) latest = await nextWithin();
        expect(latest?.bills).toBe((first?.bills ?? 0) + 1);
        expect(latest?.salesPaise).toBe((first?.salesPaise ?? 0) + 25_000);
      } finally {
        await live.close();
        await watcher.close();
        await peer.close();
      }
    },
  );
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import fc from 'fast-check';
import { describeEachDb } from './support/databases.ts';
import { newKey, startPeerCentral, startTestCentral, type TestCentral } from './support/central.ts';
import { verifyLedger } from '../central/ledger/verify.ts';
import { pointsForAmount } from '../shared/points/earn.ts';

/**
 * Ten writers on PostgreSQL (ten central processes' worth: each its own group-commit writer
 * and its own connection), one on SQLite, which has one writer by design.
 */
describeEachDb('central under concurrent writes', (dialect) => {
  let c: TestCentral;
  let urls: string[];
  let peers: Awaited<ReturnType<typeof startPeerCentral>>[] = [];

  beforeAll(async () => {
    c = await startTestCentral(dialect, { env: { DB_POOL_MAX: '1' } });
    if (dialect === 'pg') {
      peers = await Promise.all(
        Array.from({ length: 9 }, () =>
          startPeerCentral(c.database, c.clock, { DB_POOL_MAX: '1' }),
        ),
      );
    }
    urls = [c.url, ...peers.map((p) => p.url)];
  });
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await c.close();
  });

  const post = async (url: string, path: string, body: unknown, key?: string) => {
    const response = await fetch(url + path, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${c.tokens.admin}`,
        'content-type': 'application/json',
        ...(key ? { 'idempotency-key': key } : {}),
      },
      body: JSON.stringify(body),
    });
    // any: response bodies of many shapes; each test asserts the fields it reads.
    return { status: response.status, body: (await response.json()) as any };
  };

  it('200 concurrent sales for one member over 10 connections leave the exact balance', async () => {
    const enrol = await post(c.url, '/api/members', {
      mobile: '9811100000',
      name: 'Busy Buyer',
      smsConsent: true,
      showroomCode: 'MUM-01',
    });
    const memberId = enrol.body.member.id as number;
    const amounts = fc.sample(fc.integer({ min: 100, max: 5_00_000 }), { numRuns: 200, seed: 42 });
    const results = await Promise.all(
      amounts.map((amountPaise, i) =>
        post(
          urls[i % urls.length] ?? c.url,
          '/api/sales',
          {
            showroomCode: i % 2 ? 'MUM-01' : 'DEL-01',
            billNumber: `CC-${i}`,
            mobile: '9811100000',
            lines: [{ sku: `SKU-${i}`, categoryCode: 'ELEC', quantity: 1, amountPaise }],
          },
          newKey('cc'),
        ),
      ),
    );
    expect(results.filter((r) => r.status !== 201)).toEqual([]);
    const expected = amounts.reduce((sum, a) => sum + pointsForAmount(a, 2), 0);
    const member = await c.request('GET', `/api/members/${memberId}`, { token: c.tokens.cashier });
    expect(member.body.balance).toBe(expected);
    // The sales form one serial chain: each started from the balance another one left (or 0),
    // and no two started from the same balance.
    const earning = results.filter((r) => (r.body.points as number) > 0);
    const afters = new Set(earning.map((r) => r.body.balanceAfter as number));
    expect(afters.size).toBe(earning.length);
    for (const r of earning) {
      const start = (r.body.balanceAfter as number) - (r.body.points as number);
      expect(start === 0 || afters.has(start)).toBe(true);
    }
    expect(Math.max(...afters)).toBe(expected);
    const report = await verifyLedger(c.central.db);
    expect(report.balanceDrift).toEqual([]);
    expect(report.runningDrift).toEqual([]);
    const entries = await c.central.db
      .knex('ledger_entries')
      .where('member_id', memberId)
      .count({ n: '*' })
      .first();
    expect(Number(entries?.n)).toBe(amounts.filter((a) => pointsForAmount(a, 2) > 0).length);
  });

  it('one key sent to every writer at once records one sale and gives everyone its answer', async () => {
    const key = newKey('same');
    const body = {
      showroomCode: 'MUM-01',
      billNumber: 'SAME-KEY-1',
      mobile: '9811100000',
      lines: [{ sku: 'TV', categoryCode: 'ELTR', quantity: 1, amountPaise: 30_00_000 }],
    };
    const before = await c.counts();
    const answers = await Promise.all(
      urls.flatMap((url) => [
        post(url, '/api/sales', body, key),
        post(url, '/api/sales', body, key),
      ]),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));
    expect(new Set(answers.map((a) => a.body.saleId)).size).toBe(1);
    expect(new Set(answers.map((a) => a.body.balanceAfter)).size).toBe(1);
    const after = await c.counts();
    expect(after.sales).toBe((before.sales ?? 0) + 1);
    expect(after.ledger_entries).toBe((before.ledger_entries ?? 0) + 1);
  });

  it('two concurrent enrolments of one mobile leave one member', async () => {
    const mobiles = Array.from({ length: 20 }, (_, i) => `98222${String(i).padStart(5, '0')}`);
    const before = (await c.counts()).members ?? 0;
    const outcomes = await Promise.all(
      mobiles.flatMap((mobile, i) =>
        [0, 1].map((j) =>
          post(urls[(i * 2 + j) % urls.length] ?? c.url, '/api/members', {
            mobile,
            name: j === 0 ? 'Twin Alpha' : 'Twin Beta',
            smsConsent: j === 0,
            showroomCode: j === 0 ? 'MUM-01' : 'DEL-01',
          }),
        ),
      ),
    );
    for (let i = 0; i < mobiles.length; i += 1) {
      const pair = [outcomes[i * 2], outcomes[i * 2 + 1]];
      expect(pair.map((p) => p?.body.member.id)).toEqual([
        pair[0]?.body.member.id,
        pair[0]?.body.member.id,
      ]);
      expect(pair.filter((p) => p?.body.created === true)).toHaveLength(1);
      expect(pair.map((p) => p?.status).sort()).toEqual([200, 201]);
    }
    expect((await c.counts()).members).toBe(before + mobiles.length);
  });

  it('concurrent returns of one sale never take back more than it earned', async () => {
    const sale = await post(
      c.url,
      '/api/sales',
      {
        showroomCode: 'MUM-01',
        billNumber: 'RET-RACE-1',
        mobile: '9811100000',
        lines: [{ sku: 'FAN', categoryCode: 'APPL', quantity: 5, amountPaise: 5_00_000 }],
      },
      newKey(),
    );
    expect(sale.status).toBe(201);
    const attempts = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        post(
          urls[i % urls.length] ?? c.url,
          `/api/sales/${sale.body.saleId}/returns`,
          { lines: [{ lineNo: 1, quantity: 1 }] },
          newKey('ret'),
        ),
      ),
    );
    const accepted = attempts.filter((a) => a.status === 201);
    expect(accepted).toHaveLength(5);
    expect(attempts.filter((a) => a.status === 422)).toHaveLength(5);
    expect(accepted.reduce((s, a) => s + (a.body.points as number), 0)).toBe(sale.body.points);
    const report = await verifyLedger(c.central.db);
    expect(report.balanceDrift).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDb } from './support/databases.ts';
import { newKey, startTestCentral, type TestCentral } from './support/central.ts';
import { verifyLedger } from '../central/ledger/verify.ts';

const RAJESH = {
  mobile: '98765 43210',
  name: 'राजेश कुमार',
  smsConsent: true,
  showroomCode: 'MUM-01',
};

describeEachDb('central ledger', (dialect) => {
  let c: TestCentral;
  let memberId: number;

  beforeAll(async () => {
    c = await startTestCentral(dialect);
  });
  afterAll(async () => {
    await c.close();
  });

  const sale = (overrides: Record<string, unknown> = {}) => ({
    showroomCode: 'MUM-01',
    billNumber: `MUM/${newKey('bill')}`,
    mobile: '+919876543210',
    lines: [
      { sku: 'LED-9W', categoryCode: 'ELEC', quantity: 4, amountPaise: 1_00_000 }, // ₹1,000 × 2/₹100 = 20
      { sku: 'BK-1', categoryCode: 'BOOK', quantity: 1, amountPaise: 45_050 }, // ₹450.50 × 5/₹100 = 22
    ],
    ...overrides,
  });
  const postSale = (body: unknown, key = newKey(), token = c.tokens.cashier) =>
    c.request('POST', '/api/sales', { token, body, headers: { 'idempotency-key': key } });

  describe('members', () => {
    it('enrols a member with a Hindi name and normalises the mobile', async () => {
      const r = await c.request('POST', '/api/members', {
        token: c.tokens.cashier,
        body: { ...RAJESH, birthday: '1985-03-14' },
      });
      expect(r.status).toBe(201);
      expect(r.body.created).toBe(true);
      expect(r.body.member).toMatchObject({
        mobile: '+919876543210',
        maskedMobile: '+91 XXXXXX3210',
        name: 'राजेश कुमार',
        birthday: '1985-03-14',
        smsConsent: true,
        consentShowroomCode: 'MUM-01',
        balance: 0,
      });
      memberId = r.body.member.id;
    });

    it('returns the existing member when the mobile is enrolled again, in any format', async () => {
      const r = await c.request('POST', '/api/members', {
        token: c.tokens.otherCashier,
        body: {
          ...RAJESH,
          mobile: '+91-98765-43210',
          name: 'Someone Else',
          showroomCode: 'DEL-01',
        },
      });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ created: false, member: { id: memberId, name: 'राजेश कुमार' } });
      expect((await c.counts()).members).toBe(1);
    });

    it('finds a member by mobile and says plainly when there is none', async () => {
      const found = await c.request('GET', '/api/members?mobile=9876543210', {
        token: c.tokens.cashier,
      });
      expect(found.body.id).toBe(memberId);
      const missing = await c.request('GET', '/api/members?mobile=9123456789', {
        token: c.tokens.cashier,
      });
      expect(missing.status).toBe(404);
      expect(missing.body.type).toBe('/problems/member-not-found');
      expect(missing.body.detail).toContain('enrol');
    });
  });

  describe('sales', () => {
    it('earns points per line at the category rate, rounded down', async () => {
      const r = await postSale(sale());
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        memberId,
        amountPaise: 1_45_050,
        points: 42,
        balanceAfter: 42,
      });
      expect(r.body.lines.map((l: { points: number }) => l.points)).toEqual([20, 22]);
    });

    it('replays the first answer for a repeated key and writes nothing more', async () => {
      const key = newKey();
      const body = sale();
      const first = await postSale(body, key);
      const before = await c.counts();
      const again = await postSale(body, key);
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body).toEqual(first.body);
      expect(await c.counts()).toEqual(before);
    });

    it('refuses a key reused with a different body, with 409', async () => {
      const key = newKey();
      await postSale(sale(), key);
      const before = await c.counts();
      const r = await postSale(sale(), key);
      expect(r.status).toBe(409);
      expect(r.body.type).toBe('/problems/idempotency-key-reused');
      expect(await c.counts()).toEqual(before);
    });

    it('refuses a second earn on the same bill with another key', async () => {
      const body = sale();
      expect((await postSale(body)).status).toBe(201);
      const r = await postSale(body);
      expect(r.status).toBe(409);
      expect(r.body.type).toBe('/problems/bill-already-recorded');
    });

    it('keeps duplicates apart inside one group commit', async () => {
      const key = newKey();
      const body = sale();
      const results = await Promise.all([
        postSale(body, key),
        postSale(body, key),
        postSale(body, key),
      ]);
      const ids = new Set(results.map((r) => r.body.saleId));
      expect(results.map((r) => [r.status, r.body.type])).toEqual([
        [201, undefined],
        [201, undefined],
        [201, undefined],
      ]);
      expect(ids.size).toBe(1);
    });
  });

  describe('errors a cashier can act on', () => {
    it('names every wrong field in the detail, not only in errors[]', async () => {
      const before = await c.counts();
      const r = await postSale(
        sale({
          mobile: '98200 1234',
          lines: [{ sku: 'FAN', categoryCode: 'APPL', quantity: 1, amountPaise: 3499.5 }],
        }),
      );
      expect(r.status).toBe(400);
      expect(r.body.detail).toContain('/mobile: "98200 1234" is not a valid number');
      expect(r.body.detail).toContain('/lines/0/amountPaise: amountPaise is whole paise');
      expect(r.body.errors).toHaveLength(2);
      expect(await c.counts()).toEqual(before);
    });
  });

  describe('effective-dated rates', () => {
    it('applies a new rate from its date on and never rewrites earlier earnings', async () => {
      const changeAt = new Date(c.clock.now().getTime() + 3_600_000).toISOString();
      const scheduled = await c.request('POST', '/api/categories/ELEC/rates', {
        token: c.tokens.admin,
        body: { pointsPer100Rupees: 10, effectiveFrom: changeAt },
      });
      expect(scheduled.status).toBe(201);
      const before = await postSale(
        sale({ lines: [{ sku: 'W', categoryCode: 'ELEC', quantity: 1, amountPaise: 10_000 }] }),
      );
      expect(before.body.points).toBe(2);
      c.clock.advance(2 * 3_600_000);
      const after = await postSale(
        sale({ lines: [{ sku: 'W', categoryCode: 'ELEC', quantity: 1, amountPaise: 10_000 }] }),
      );
      expect(after.body.points).toBe(10);
      // A bill made before the change but sent afterwards (an offline counter) earns the old rate.
      const late = await postSale(
        sale({
          soldAt: new Date(Date.parse(changeAt) - 60_000).toISOString(),
          lines: [{ sku: 'W', categoryCode: 'ELEC', quantity: 1, amountPaise: 10_000 }],
        }),
      );
      expect(late.body.points).toBe(2);
      const old = await c.request('GET', `/api/sales/${before.body.saleId}`, {
        token: c.tokens.cashier,
      });
      expect(old.body.points).toBe(2);
      expect(old.body.lines[0].pointsPer100Rupees).toBe(2);
    });

    it('refuses a rate that would start in the past', async () => {
      const r = await c.request('POST', '/api/categories/ELEC/rates', {
        token: c.tokens.admin,
        body: { pointsPer100Rupees: 3, effectiveFrom: '2026-01-02T00:00:00+05:30' },
      });
      expect(r.status).toBe(422);
      expect(r.body.type).toBe('/problems/rate-in-past');
    });
  });

  describe('returns', () => {
    it('reverses a partial return at the rate each line earned, then the rest', async () => {
      const s = await postSale(
        sale({ lines: [{ sku: 'FAN', categoryCode: 'APPL', quantity: 3, amountPaise: 10_000 }] }),
      );
      expect(s.body.points).toBe(1);
      const bal = s.body.balanceAfter;
      const one = await c.request('POST', `/api/sales/${s.body.saleId}/returns`, {
        token: c.tokens.manager,
        headers: { 'idempotency-key': newKey() },
        body: { lines: [{ lineNo: 1, quantity: 2 }], reason: 'two fans faulty' },
      });
      expect(one.status).toBe(201);
      expect(one.body).toMatchObject({ points: 0, amountPaise: 6_666, balanceAfter: bal });
      const rest = await c.request('POST', `/api/sales/${s.body.saleId}/returns`, {
        token: c.tokens.manager,
        headers: { 'idempotency-key': newKey() },
        body: {},
      });
      expect(rest.body).toMatchObject({ points: 1, amountPaise: 3_334, balanceAfter: bal - 1 });
      const none = await c.request('POST', `/api/sales/${s.body.saleId}/returns`, {
        token: c.tokens.manager,
        headers: { 'idempotency-key': newKey() },
        body: {},
      });
      expect(none.status).toBe(422);
      expect(none.body.type).toBe('/problems/return-not-possible');
      const history = await c.request('GET', `/api/sales/${s.body.saleId}`, {
        token: c.tokens.cashier,
      });
      expect(history.body).toMatchObject({ returnedAmountPaise: 10_000, returnedPoints: 1 });
    });

    it('records a debt when the member already spent what the sale earned', async () => {
      const enrol = await c.request('POST', '/api/members', {
        token: c.tokens.cashier,
        body: {
          mobile: '9000000001',
          name: 'Debt Case',
          smsConsent: false,
          showroomCode: 'MUM-01',
        },
      });
      const id = enrol.body.member.id;
      const s = await postSale(
        sale({
          mobile: '9000000001',
          lines: [{ sku: 'BK', categoryCode: 'BOOK', quantity: 1, amountPaise: 1_00_000 }],
        }),
      );
      expect(s.body.points).toBe(50);
      const spend = await c.request('POST', `/api/members/${id}/adjustments`, {
        token: c.tokens.manager,
        headers: { 'idempotency-key': newKey() },
        body: { points: -40, reason: 'spent at counter (stand-in for a redemption)' },
      });
      expect(spend.body.balanceAfter).toBe(10);
      const back = await c.request('POST', `/api/sales/${s.body.saleId}/returns`, {
        token: c.tokens.manager,
        headers: { 'idempotency-key': newKey() },
        body: { reason: 'book returned' },
      });
      expect(back.body).toMatchObject({ points: 50, balanceAfter: -40, debtPoints: 40 });
      const balance = await c.request('GET', `/api/members/${id}/balance`, {
        token: c.tokens.cashier,
      });
      expect(balance.body).toMatchObject({ balance: -40, debtPoints: 40 });
      // Later earnings pay the debt first.
      const next = await postSale(
        sale({
          mobile: '9000000001',
          lines: [{ sku: 'BK', categoryCode: 'BOOK', quantity: 1, amountPaise: 2_00_000 }],
        }),
      );
      expect(next.body.balanceAfter).toBe(60);
    });

    it('lets only a manager return', async () => {
      const s = await postSale(sale());
      const r = await c.request('POST', `/api/sales/${s.body.saleId}/returns`, {
        token: c.tokens.cashier,
        headers: { 'idempotency-key': newKey() },
        body: {},
      });
      expect(r.status).toBe(403);
      expect(r.body.detail).toContain('manager');
    });
  });

  describe('adjustments, balance, ledger and history', () => {
    it('adjusts with a reason and never below zero', async () => {
      const bal = (
        await c.request('GET', `/api/members/${memberId}/balance`, { token: c.tokens.cashier })
      ).body.balance as number;
      const up = await c.request('POST', `/api/members/${memberId}/adjustments`, {
        token: c.tokens.manager,
        headers: { 'idempotency-key': newKey() },
        body: { points: 100, reason: 'goodwill: late delivery' },
      });
      expect(up.status).toBe(201);
      expect(up.body.balanceAfter).toBe(bal + 100);
      expect(up.body.entry).toMatchObject({
        kind: 'adjust',
        points: 100,
        reason: 'goodwill: late delivery',
        staffUsername: 'mum.manager',
      });
      const down = await c.request('POST', `/api/members/${memberId}/adjustments`, {
        token: c.tokens.manager,
        headers: { 'idempotency-key': newKey() },
        body: { points: -(bal + 101), reason: 'too much' },
      });
      expect(down.status).toBe(409);
      expect(down.body.type).toBe('/problems/insufficient-points');
    });

    it('prints a ledger for a date range with opening, running and closing balances', async () => {
      const today = c.clock.now().toISOString().slice(0, 10);
      const r = await c.request(
        'GET',
        `/api/members/${memberId}/ledger?from=${today}&to=${today}`,
        {
          token: c.tokens.cashier,
        },
      );
      expect(r.status).toBe(200);
      const entries = r.body.entries as { points: number; balanceAfter: number }[];
      expect(entries.length).toBeGreaterThan(5);
      let running = r.body.openingBalance as number;
      for (const e of entries) {
        running += e.points;
        expect(e.balanceAfter).toBe(running);
      }
      expect(r.body.closingBalance).toBe(running);
      const member = await c.request('GET', `/api/members/${memberId}`, {
        token: c.tokens.cashier,
      });
      expect(member.body.balance).toBe(running);
      const empty = await c.request(
        'GET',
        `/api/members/${memberId}/ledger?from=2026-01-01&to=2026-01-31`,
        {
          token: c.tokens.cashier,
        },
      );
      expect(empty.body).toMatchObject({ openingBalance: 0, closingBalance: 0, entries: [] });
    });

    it('lists the purchase history with lines and returns', async () => {
      const today = c.clock.now().toISOString().slice(0, 10);
      const r = await c.request(
        'GET',
        `/api/members/${memberId}/sales?from=2026-11-01&to=${today}`,
        {
          token: c.tokens.cashier,
        },
      );
      expect(r.status).toBe(200);
      expect(r.body.sales.length).toBeGreaterThan(5);
      expect(r.body.sales[0].lines.length).toBeGreaterThan(0);
      const soldAt = r.body.sales.map((s: { soldAt: string }) => s.soldAt);
      expect([...soldAt].sort().reverse()).toEqual(soldAt);
    });

    it('verifies every balance against the ledger and catches a tampered one', async () => {
      const clean = await verifyLedger(c.central.db);
      expect(clean.balanceDrift).toEqual([]);
      expect(clean.runningDrift).toEqual([]);
      expect(clean.entries).toBeGreaterThan(10);
      const balance = (
        await c.request('GET', `/api/members/${memberId}`, { token: c.tokens.cashier })
      ).body.balance as number;
      await c.central.db.knex('members').where('id', memberId).increment('balance', 7);
      const drift = await verifyLedger(c.central.db);
      expect(drift.balanceDrift).toEqual([{ memberId, stored: balance + 7, ledger: balance }]);
      await c.central.db.knex('members').where('id', memberId).decrement('balance', 7);
    });

    it('refuses to update or delete a ledger entry, at the database', async () => {
      await expect(
        c.central.db.knex('ledger_entries').update({ points: 1_000_000 }),
      ).rejects.toThrow(/append-only/);
      await expect(c.central.db.knex('ledger_entries').del()).rejects.toThrow(/append-only/);
      await expect(c.central.db.knex('sales').del()).rejects.toThrow(/append-only/);
    });
  });
});

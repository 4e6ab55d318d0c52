import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from './support/databases.ts';
import { newKey, startTestCentral, type TestCentral } from './support/central.ts';
import { counterSale, startPairedTerminal, waitConverged, waitFor } from './support/terminal.ts';
import { devMessages, freshMobile, memberWithPoints } from './support/redeem.ts';

type Terminal = Awaited<ReturnType<typeof startPairedTerminal>>;

describeEachDb('members in the console', (dialect) => {
  let c: TestCentral;
  let a: Terminal;

  beforeAll(async () => {
    c = await startTestCentral(dialect, { sync: { heartbeatMs: 200 } });
    a = await startPairedTerminal(c, 'MUM-01');
    await waitConverged(a.core, c.central);
  });
  afterAll(async () => {
    await a.close();
    await c.close();
  });

  const manager = () => ({ token: c.tokens.manager });

  /** Enrols a member through the API and returns its id. */
  async function enrol(mobile: string, name: string, smsConsent = true): Promise<number> {
    const r = await c.request('POST', '/api/members', {
      token: c.tokens.cashier,
      body: { mobile, name, smsConsent, showroomCode: 'MUM-01' },
    });
    expect([200, 201]).toContain(r.status);
    return r.body.member.id as number;
  }

  /** A sale of Books for `rupees` (5 points per ₹100) through the API. */
  async function sell(mobile: string, bill: string, rupees: number, soldAt?: string) {
    const r = await c.request('POST', '/api/sales', {
      token: c.tokens.cashier,
      headers: { 'idempotency-key': newKey('sale') },
      body: {
        showroomCode: 'MUM-01',
        billNumber: bill,
        mobile,
        lines: [{ sku: 'BK-1', categoryCode: 'BOOK', quantity: 1, amountPaise: rupees * 100 }],
        ...(soldAt ? { soldAt } : {}),
      },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { saleId: number; memberId: number; points: number; balanceAfter: number };
  }

  const balanceOf = async (id: number): Promise<number> => {
    const r = await c.request('GET', `/api/members/${id}/balance`, manager());
    return r.body.balance as number;
  };

  const ledgerSum = async (id: number): Promise<number> => {
    const row = (await c.central.db
      .knex('ledger_entries')
      .where('member_id', id)
      .sum({ s: 'points' })
      .first()) as { s: number | string | null };
    return Number(row.s ?? 0);
  };

  const auditCount = async (): Promise<number> =>
    Number(
      ((await c.central.db.knex('audit_log').count({ n: '*' }).first()) as { n: number | string })
        .n,
    );

  /** The code in the `nth` change-of-mobile SMS to `mobile`, as the member would read it. */
  async function mobileCode(mobile: string, nth = 1): Promise<string> {
    let code = '';
    await waitFor(`change-of-mobile code #${nth} to ${mobile}`, () => {
      const sent = devMessages(c).filter((m) => m.to === mobile && m.kind === 'mobile-otp');
      code = /(\d{6})/.exec(sent[nth - 1]?.text ?? '')?.[1] ?? '';
      return code !== '';
    });
    return code;
  }

  const today = () => c.clock.now().toISOString().slice(0, 10);

  it('refuses a cashier (403) and a caller without a token (401) on every member route', async () => {
    const id = await enrol(freshMobile(), 'Access Check');
    const routes: [string, string, unknown?][] = [
      ['GET', '/api/members/search?q=acce'],
      ['GET', `/api/members/${id}/profile`],
      ['GET', `/api/members/${id}/audit`],
      ['POST', `/api/members/${id}/merge`, { sourceMemberId: 1, reason: 'duplicate record' }],
      ['POST', `/api/members/${id}/mobile-change`, { newMobile: freshMobile() }],
      [
        'POST',
        `/api/members/${id}/mobile-change/1/confirm`,
        { oldCode: '123456', newCode: '123456' },
      ],
      ['POST', `/api/members/${id}/mobile-change/1/resend`],
      ['POST', `/api/members/${id}/mobile-change/1/cancel`],
    ];
    const before = await auditCount();
    for (const [method, path, body] of routes) {
      const asCashier = await c.request(method, path, { token: c.tokens.cashier, body });
      expect(asCashier.status, `${method} ${path} as a cashier`).toBe(403);
      const anonymous = await c.request(method, path, { body });
      expect(anonymous.status, `${method} ${path} without a token`).toBe(401);
    }
    const adjust = await c.request('POST', `/api/members/${id}/adjustments`, {
      token: c.tokens.cashier,
      headers: { 'idempotency-key': newKey('adj') },
      body: { points: 10, reason: 'goodwill for a late delivery' },
    });
    expect(adjust.status).toBe(403);
    expect(await auditCount()).toBe(before);
  });

  it('searches by whole mobile, last digits and name (start of the name or of a word)', async () => {
    const rajesh = await enrol('+919811117319', 'Rajesh Kumar');
    const raj = await enrol('+919822227319', 'RAJ Malhotra');
    const anita = await enrol('+919833334444', 'Anita Rajan');
    const hindi = await enrol('+919844445555', 'राजेश वर्मा');
    await enrol('+919855556666', 'Sunil Verma');

    const search = (q: string, limit?: number) =>
      c.request(
        'GET',
        `/api/members/search?q=${encodeURIComponent(q)}${limit ? `&limit=${limit}` : ''}`,
        manager(),
      );
    const ids = (r: { body: { members: { id: number }[] } }) => r.body.members.map((m) => m.id);

    // A whole number, however it is typed, is one exact lookup.
    for (const q of ['98111 17319', '+91 98111 17319', '9811117319']) {
      const r = await search(q);
      expect(r.status, q).toBe(200);
      expect(r.body).toMatchObject({ match: 'mobile-exact', truncated: false });
      expect(ids(r)).toEqual([rajesh]);
    }
    expect(ids(await search('9811117318'))).toEqual([]);
    // Last digits: every number ending with them, in number order.
    const last4 = await search('7319');
    expect(last4.body.match).toBe('mobile-suffix');
    expect(ids(last4)).toEqual([rajesh, raj]);
    expect(ids(await search('27319'))).toEqual([raj]);
    expect(last4.body.members[0]).toMatchObject({
      name: 'Rajesh Kumar',
      maskedMobile: expect.stringMatching(/7319$/),
      balance: 0,
      mergedIntoMemberId: null,
      enrolledShowroomCode: 'MUM-01',
    });
    // Names: the start of the name first (any case), then a later word starting with it.
    const byName = await search('rAj');
    expect(byName.body.match).toBe('name');
    expect(ids(byName)).toEqual([raj, rajesh, anita]);
    expect(ids(await search('kum'))).toEqual([rajesh]);
    expect(ids(await search('राजेश'))).toEqual([hindi]);
    expect(ids(await search('rajesh k'))).toEqual([rajesh]);
    const limited = await search('raj', 2);
    expect(ids(limited)).toEqual([raj, rajesh]);
    expect(limited.body.truncated).toBe(true);

    // Neither a number nor a name: refused with the reason.
    for (const q of ['731', 'r', 'raj9', '', '+91 7319']) {
      const r = await search(q);
      expect(r.status, q).toBe(400);
      expect(r.body.errors?.[0]?.pointer ?? r.body.detail).toEqual(expect.any(String));
    }
    expect((await search('raj', 51)).status).toBe(400);
  });

  it('shows a profile: consent, balance and its value, lifetime figures', async () => {
    const mobile = freshMobile();
    const id = await enrol(mobile, 'Meena Iyer');
    await sell(mobile, 'MUM-P-1', 1_000);
    await sell(mobile, 'MUM-P-2', 400);
    const r = await c.request('GET', `/api/members/${id}/profile`, manager());
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      member: { id, mobile, name: 'Meena Iyer', balance: 70 },
      consent: { smsConsent: true, showroomCode: 'MUM-01', staffUsername: 'mum.cashier' },
      balance: { points: 70, debtPoints: 0, valuePaise: 7_000 },
      stats: {
        sales: 2,
        amountPaise: 140_000,
        returnedAmountPaise: 0,
        pointsEarned: 70,
        pointsRedeemed: 0,
        showrooms: 1,
      },
      pendingRedemption: null,
      pendingMobileChange: null,
      mergedInto: null,
      mergedFrom: [],
    });
    expect(r.body.lastVisitAt).toBe(c.clock.now().toISOString());
    expect((await c.request('GET', '/api/members/999999/profile', manager())).status).toBe(404);
  });

  it('refuses an adjustment without a reason (nothing written) and audits one with it', async () => {
    const mobile = freshMobile();
    const id = await enrol(mobile, 'Farah Khan');
    await sell(mobile, 'MUM-A-1', 200);
    const before = { ...(await c.counts()), audit: await auditCount() };
    for (const body of [
      { points: 25 },
      { points: 25, reason: '' },
      { points: 25, reason: ' ok ' },
    ]) {
      const r = await c.request('POST', `/api/members/${id}/adjustments`, {
        token: c.tokens.manager,
        headers: { 'idempotency-key': newKey('adj') },
        body,
      });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.errors.map((e: { pointer: string }) => e.pointer)).toContain('/reason');
    }
    expect({ ...(await c.counts()), audit: await auditCount() }).toEqual(before);

    const r = await c.request('POST', `/api/members/${id}/adjustments`, {
      token: c.tokens.manager,
      headers: { 'idempotency-key': newKey('adj') },
      body: { points: 25, reason: 'goodwill: delivery was late' },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ balanceAfter: 35, entry: { kind: 'adjust', points: 25 } });
    const audit = await c.request('GET', `/api/members/${id}/audit`, manager());
    expect(audit.status).toBe(200);
    expect(audit.body.entries[0]).toMatchObject({
      action: 'member.adjust',
      targetType: 'member',
      targetId: String(id),
      username: 'mum.manager',
      role: 'manager',
      before: { balance: 10 },
      after: {
        balance: 35,
        points: 25,
        reason: 'goodwill: delivery was late',
        entryId: r.body.entry.id,
      },
    });
    expect(await auditCount()).toBe(before.audit + 1);
  });

  it('merges two records into one: points, history, audit, and later sales of the old record', async () => {
    const targetMobile = freshMobile();
    const sourceMobile = freshMobile();
    const target = await enrol(targetMobile, 'Vikram Rao');
    const source = await enrol(sourceMobile, 'Vikram R');
    await sell(targetMobile, 'MUM-M-1', 1_000); // 50 points
    const sourceSale = await sell(sourceMobile, 'MUM-M-2', 600); // 30 points
    await sell(sourceMobile, 'MUM-M-3', 200); // 10 points
    const third = await enrol(freshMobile(), 'Vikram Third');

    // Refusals first: nothing written by any of them.
    const before = { ...(await c.counts()), audit: await auditCount() };
    const merge = (targetId: number, body: unknown) =>
      c.request('POST', `/api/members/${targetId}/merge`, { token: c.tokens.manager, body });
    const self = await merge(target, { sourceMemberId: target, reason: 'duplicate record' });
    expect(self.status).toBe(409);
    expect(self.body.detail).toMatch(/into itself/);
    expect(
      (await merge(target, { sourceMemberId: 999_999, reason: 'duplicate record' })).status,
    ).toBe(404);
    expect((await merge(target, { sourceMemberId: source })).status).toBe(400);
    expect((await merge(target, { sourceMemberId: source, reason: 'dup' })).status).toBe(400);
    expect({ ...(await c.counts()), audit: await auditCount() }).toEqual(before);

    const r = await merge(target, {
      sourceMemberId: source,
      reason: 'same customer enrolled twice',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      merge: {
        sourceMemberId: source,
        targetMemberId: target,
        pointsMoved: 40,
        reason: 'same customer enrolled twice',
        staffUsername: 'mum.manager',
      },
      target: { id: target, balance: 90 },
      source: { id: source, balance: 0 },
    });
    // Balances are still the sums of their ledgers; the two entries are linked.
    expect(await ledgerSum(target)).toBe(90);
    expect(await ledgerSum(source)).toBe(0);
    const [out, into] = await c.central.db
      .knex('ledger_entries')
      .whereIn('id', [r.body.merge.sourceEntryId, r.body.merge.targetEntryId])
      .orderBy('id');
    expect(out).toMatchObject({ member_id: source, points: -40, balance_after: 0 });
    expect(into).toMatchObject({ member_id: target, points: 40, balance_after: 90 });
    expect(into.refers_to_entry_id).toBe(out.id);
    expect(out.reason).toMatch(new RegExp(`merged into member ${target}`));
    expect(into.reason).toMatch(new RegExp(`merged from member ${source}`));

    // A retry of the same merge answers the same; merging it again elsewhere is refused.
    const again = await merge(target, { sourceMemberId: source, reason: 'retry after timeout' });
    expect(again.status).toBe(200);
    expect(again.body.merge.id).toBe(r.body.merge.id);
    expect(await ledgerSum(target)).toBe(90);
    const elsewhere = await merge(third, { sourceMemberId: source, reason: 'second thoughts' });
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.body.detail).toMatch(new RegExp(`already merged into member ${target}`));
    const intoMerged = await merge(source, { sourceMemberId: third, reason: 'wrong way round' });
    expect(intoMerged.status).toBe(409);

    // The target's ledger and purchases include the source's, with one running balance.
    const range = `from=${today()}&to=${today()}`;
    const ledger = await c.request('GET', `/api/members/${target}/ledger?${range}`, manager());
    expect(ledger.status).toBe(200);
    expect(ledger.body.entries.map((e: { points: number }) => e.points)).toEqual([
      50, 30, 10, -40, 40,
    ]);
    expect(ledger.body.entries.map((e: { balanceAfter: number }) => e.balanceAfter)).toEqual([
      50, 80, 90, 50, 90,
    ]);
    expect(ledger.body).toMatchObject({ openingBalance: 0, closingBalance: 90 });
    const sales = await c.request('GET', `/api/members/${target}/sales?${range}`, manager());
    expect(sales.body.sales.map((s: { billNumber: string }) => s.billNumber).sort()).toEqual([
      'MUM-M-1',
      'MUM-M-2',
      'MUM-M-3',
    ]);

    // Profiles: lifetime figures summed, the merge shown on both sides.
    const profile = await c.request('GET', `/api/members/${target}/profile`, manager());
    expect(profile.body).toMatchObject({
      balance: { points: 90 },
      stats: { sales: 3, amountPaise: 180_000, pointsEarned: 90 },
      mergedFrom: [{ sourceMemberId: source, pointsMoved: 40, sourceMobile }],
    });
    const sourceProfile = await c.request('GET', `/api/members/${source}/profile`, manager());
    expect(sourceProfile.body.mergedInto).toMatchObject({ memberId: target, name: 'Vikram Rao' });

    // Audited on both members, in the merge's transaction.
    const audit = await c.request('GET', `/api/members/${target}/audit`, manager());
    const actions = audit.body.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['member.merge', 'member.merged-into']));
    expect(
      audit.body.entries.find((e: { action: string }) => e.action === 'member.merge'),
    ).toMatchObject({
      targetId: String(target),
      before: { balance: 50 },
      after: { balance: 90, sourceMemberId: source, pointsMoved: 40 },
    });

    // Later: a sale sent for the old record's mobile (a counter's outbox, made before the
    // merge), its return, and an enrolment of that mobile all land on the target.
    const minuteAgo = new Date(c.clock.now().getTime() - 60_000).toISOString();
    const late = await sell(sourceMobile, 'MUM-M-4', 400, minuteAgo);
    expect(late.memberId).toBe(target);
    expect(await balanceOf(target)).toBe(110);
    const back = await c.request('POST', `/api/sales/${sourceSale.saleId}/returns`, {
      token: c.tokens.manager,
      headers: { 'idempotency-key': newKey('ret') },
      body: {},
    });
    expect(back.status, JSON.stringify(back.body)).toBe(201);
    expect(back.body).toMatchObject({ memberId: target, points: 30, balanceAfter: 80 });
    expect(await balanceOf(source)).toBe(0);
    const enrolAgain = await c.request('POST', '/api/members', {
      token: c.tokens.cashier,
      body: { mobile: sourceMobile, name: 'Vikram New', smsConsent: true, showroomCode: 'MUM-01' },
    });
    expect(enrolAgain.status).toBe(200);
    expect(enrolAgain.body).toMatchObject({ created: false, member: { id: target } });
    const found = await c.request(
      'GET',
      `/api/members?mobile=${encodeURIComponent(sourceMobile)}`,
      {
        token: c.tokens.cashier,
      },
    );
    expect(found.body.id).toBe(target);
    const adjustSource = await c.request('POST', `/api/members/${source}/adjustments`, {
      token: c.tokens.manager,
      headers: { 'idempotency-key': newKey('adj') },
      body: { points: 5, reason: 'should go to the target' },
    });
    expect(adjustSource.status).toBe(409);
    expect(adjustSource.body.detail).toMatch(new RegExp(`adjust member ${target}`));
    expect(await ledgerSum(target)).toBe(await balanceOf(target));
    expect(await ledgerSum(source)).toBe(0);

    // The search still finds the old number, marked merged.
    const hit = await c.request(
      'GET',
      `/api/members/search?q=${encodeURIComponent(sourceMobile)}`,
      manager(),
    );
    expect(hit.body.members).toEqual([
      expect.objectContaining({ id: source, mergedIntoMemberId: target }),
    ]);

    // The counter: the old mobile shows the target, type-ahead never lists the old record,
    // and a sale and a quote there go to the target.
    await waitConverged(a.core, c.central);
    const cached = a.core.store.allMembers().find((m) => m.id === source);
    expect(cached).toMatchObject({ mergedIntoId: target, balance: 0 });
    expect(a.core.findByMobile(sourceMobile)).toMatchObject({ id: target, mobile: targetMobile });
    const suggested = a.core.suggest(sourceMobile.slice(-6)).map((m) => m.id);
    expect(suggested).toContain(target);
    expect(suggested).not.toContain(source);
    expect(a.core.suggest('Vikram').map((m) => m.id)).not.toContain(source);
    const atCounter = a.core.recordSale(counterSale('MUM-M-5', sourceMobile, [['BOOK', 200]]));
    expect(atCounter.member.id).toBe(target);
    await waitConverged(a.core, c.central);
    expect(a.core.findByMobile(targetMobile)?.balance).toBe(90);
    const quote = await a.core.quoteRedemption({
      mobile: sourceMobile,
      billNumber: 'MUM-M-Q',
      billAmountPaise: 100_000,
    });
    expect(quote).toMatchObject({ memberId: target, balance: 90 });
  });

  it('refuses to merge a member whose redemption OTP is pending', async () => {
    const pendingMobile = await memberWithPoints(c, a.core, 300, { name: 'Pending Person' });
    const pending = (
      await c.request('GET', `/api/members?mobile=${encodeURIComponent(pendingMobile)}`, {
        token: c.tokens.cashier,
      })
    ).body.id as number;
    const other = await enrol(freshMobile(), 'Other Person');
    await a.core.requestRedemption({
      mobile: pendingMobile,
      billNumber: 'MUM-PEND-1',
      billAmountPaise: 100_000,
      points: 100,
    });
    const before = { ...(await c.counts()), audit: await auditCount() };
    for (const [targetId, sourceMemberId] of [
      [other, pending],
      [pending, other],
    ]) {
      const r = await c.request('POST', `/api/members/${targetId}/merge`, {
        token: c.tokens.manager,
        body: { sourceMemberId, reason: 'same customer enrolled twice' },
      });
      expect(r.status).toBe(409);
      expect(r.body.detail).toMatch(/waiting for its OTP/);
    }
    expect({ ...(await c.counts()), audit: await auditCount() }).toEqual(before);
    const profile = await c.request('GET', `/api/members/${pending}/profile`, manager());
    expect(profile.body.pendingRedemption).toMatchObject({ points: 100, billNumber: 'MUM-PEND-1' });
  });

  it('changes a mobile after codes to both numbers: wrong code, taken number, success, replicated', async () => {
    const oldMobile = freshMobile();
    const newMobile = freshMobile();
    const id = await enrol(oldMobile, 'Lakshmi Menon');
    await sell(oldMobile, 'MUM-C-1', 400); // 20 points
    const takenBy = await enrol(freshMobile(), 'Someone Else');
    const takenMobile = (await c.central.db.knex('members').where('id', takenBy).first('mobile'))
      .mobile as string;
    const path = `/api/members/${id}/mobile-change`;

    // A number another member holds is refused at once, nothing written.
    const beforeTaken = await c.central.db.knex('mobile_changes').count({ n: '*' }).first();
    const taken = await c.request('POST', path, { ...manager(), body: { newMobile: takenMobile } });
    expect(taken.status).toBe(409);
    expect(taken.body.detail).toMatch(new RegExp(`belongs to member ${takenBy}`));
    expect(await c.central.db.knex('mobile_changes').count({ n: '*' }).first()).toEqual(
      beforeTaken,
    );
    expect(
      (await c.request('POST', path, { ...manager(), body: { newMobile: oldMobile } })).status,
    ).toBe(400);

    const asked = await c.request('POST', path, { ...manager(), body: { newMobile } });
    expect(asked.status, JSON.stringify(asked.body)).toBe(201);
    const change = asked.body.change;
    expect(change).toMatchObject({
      memberId: id,
      oldMobile,
      newMobile,
      status: 'awaiting-otp',
      triesLeft: 5,
      resendsLeft: 3,
      staffUsername: 'mum.manager',
    });
    const oldCode = await mobileCode(oldMobile);
    const newCode = await mobileCode(newMobile);
    expect(devMessages(c).find((m) => m.to === newMobile && m.kind === 'mobile-otp')?.text).toMatch(
      /is your OTP to move your .* membership from \+91 X+\d{4} to \+91 X+\d{4}\. Valid 5 minutes/,
    );
    // Only keyed hashes of the codes are stored; the outbox text is masked.
    const stored = JSON.stringify(await c.central.db.knex('mobile_changes').where('id', change.id));
    expect(stored).not.toContain(oldCode);
    expect(stored).not.toContain(newCode);
    const outbox = await c.central.db
      .knex('sms_outbox')
      .where('kind', 'mobile-otp')
      .whereIn('mobile', [oldMobile, newMobile]);
    expect(outbox).toHaveLength(2);
    for (const row of outbox) {
      expect(row.text).toContain('******');
      expect(JSON.stringify(row)).not.toContain(oldCode);
      expect(JSON.stringify(row)).not.toContain(newCode);
    }
    const profile = await c.request('GET', `/api/members/${id}/profile`, manager());
    expect(profile.body.pendingMobileChange).toMatchObject({
      id: change.id,
      status: 'awaiting-otp',
    });

    // A wrong code (either one) uses up a try, and the try sticks.
    const confirm = (body: unknown) =>
      c.request('POST', `${path}/${change.id}/confirm`, { ...manager(), body });
    const wrong = await confirm({ oldCode, newCode: newCode === '000000' ? '000001' : '000000' });
    expect(wrong.status).toBe(422);
    expect(wrong.body.detail).toMatch(/4 tries left/);
    let tries = 1;
    if (oldCode !== newCode) {
      // Each code opens only its own number's side.
      expect((await confirm({ oldCode: newCode, newCode: oldCode })).status).toBe(422);
      tries += 1;
    }
    expect(
      (await c.central.db.knex('mobile_changes').where('id', change.id).first()).attempts,
    ).toBe(tries);
    expect((await c.central.db.knex('members').where('id', id).first()).mobile).toBe(oldMobile);
    expect((await confirm({ oldCode: '12345', newCode })).status).toBe(400);

    // The right pair: the member keeps its id, history and points under the new number.
    const seqBefore = Number((await c.central.db.knex('members').where('id', id).first()).seq);
    const done = await confirm({ oldCode, newCode });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({
      change: { id: change.id, status: 'confirmed' },
      member: { id, mobile: newMobile, balance: 20 },
    });
    const row = await c.central.db.knex('members').where('id', id).first();
    expect(Number(row.seq)).toBeGreaterThan(seqBefore);
    expect((await confirm({ oldCode, newCode })).status).toBe(200); // a retry replays
    expect(
      (
        await c.request('GET', `/api/members?mobile=${encodeURIComponent(oldMobile)}`, {
          token: c.tokens.cashier,
        })
      ).status,
    ).toBe(404);
    const range = `from=${today()}&to=${today()}`;
    const ledger = await c.request('GET', `/api/members/${id}/ledger?${range}`, manager());
    expect(ledger.body.closingBalance).toBe(20);

    // A sale made before the change and sent late under the old number earns for this member.
    const late = await sell(
      oldMobile,
      'MUM-C-2',
      200,
      new Date(c.clock.now().getTime() - 60_000).toISOString(),
    );
    expect(late.memberId).toBe(id);

    // Replicated: the counter finds the member by the new number only.
    await waitConverged(a.core, c.central);
    expect(a.core.findByMobile(newMobile)).toMatchObject({ id, balance: 30 });
    expect(a.core.findByMobile(oldMobile)).toBeUndefined();

    const audit = await c.request('GET', `/api/members/${id}/audit`, manager());
    const confirmed = audit.body.entries.find(
      (e: { action: string }) => e.action === 'member.mobile-change',
    );
    expect(confirmed).toMatchObject({
      before: { mobile: oldMobile },
      after: { mobile: newMobile, changeId: change.id },
    });
    expect(audit.body.entries.map((e: { action: string }) => e.action)).toContain(
      'member.mobile-change.request',
    );
    expect(JSON.stringify(audit.body)).not.toContain(oldCode);
    expect(JSON.stringify(audit.body)).not.toContain(newCode);
  });

  it('expires, resends, cancels, and refuses a number taken before the confirmation', async () => {
    const mobile = freshMobile();
    const id = await enrol(mobile, 'Gopal Das');
    const path = `/api/members/${id}/mobile-change`;

    // Expired: 410, and it stays closed.
    const first = freshMobile();
    const asked = (await c.request('POST', path, { ...manager(), body: { newMobile: first } })).body
      .change;
    const codes = { oldCode: await mobileCode(mobile), newCode: await mobileCode(first) };
    c.clock.advance(301_000);
    const expired = await c.request('POST', `${path}/${asked.id}/confirm`, {
      ...manager(),
      body: codes,
    });
    expect(expired.status).toBe(410);
    expect(expired.body.detail).toMatch(/expired/);
    expect((await c.central.db.knex('mobile_changes').where('id', asked.id).first()).status).toBe(
      'expired',
    );
    expect(
      (await c.request('POST', `${path}/${asked.id}/confirm`, { ...manager(), body: codes }))
        .status,
    ).toBe(410);

    // Resend: not too soon, then new codes; the old ones stop working.
    const second = freshMobile();
    const change = (await c.request('POST', path, { ...manager(), body: { newMobile: second } }))
      .body.change;
    const firstCodes = { oldCode: await mobileCode(mobile, 2), newCode: await mobileCode(second) };
    const soon = await c.request('POST', `${path}/${change.id}/resend`, manager());
    expect(soon.status).toBe(429);
    c.clock.advance(31_000);
    const resent = await c.request('POST', `${path}/${change.id}/resend`, manager());
    expect(resent.status).toBe(200);
    expect(resent.body.change).toMatchObject({ resendsLeft: 2, status: 'awaiting-otp' });
    const newCodes = { oldCode: await mobileCode(mobile, 3), newCode: await mobileCode(second, 2) };
    if (firstCodes.oldCode !== newCodes.oldCode || firstCodes.newCode !== newCodes.newCode) {
      const stale = await c.request('POST', `${path}/${change.id}/confirm`, {
        ...manager(),
        body: firstCodes,
      });
      expect(stale.status).toBe(422);
    }

    // Someone else enrols the new number meanwhile: the right codes are refused with 409.
    const other = await enrol(second, 'Quick Enroller');
    const clash = await c.request('POST', `${path}/${change.id}/confirm`, {
      ...manager(),
      body: newCodes,
    });
    expect(clash.status).toBe(409);
    expect(clash.body.detail).toMatch(new RegExp(`belongs to member ${other}`));
    expect((await c.central.db.knex('members').where('id', id).first()).mobile).toBe(mobile);

    // Cancel: closed, then nothing works on it.
    const cancelled = await c.request('POST', `${path}/${change.id}/cancel`, manager());
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.change.status).toBe('cancelled');
    expect((await c.request('POST', `${path}/${change.id}/cancel`, manager())).status).toBe(409);
    expect(
      (await c.request('POST', `${path}/${change.id}/confirm`, { ...manager(), body: newCodes }))
        .status,
    ).toBe(410);
    expect(
      (
        await c.request(
          'POST',
          `/api/members/${other}/mobile-change/${change.id}/cancel`,
          manager(),
        )
      ).status,
    ).toBe(404);

    // Six codes went to this member within the hour (three sends of two): the cap is reached.
    const flood = await c.request('POST', path, {
      ...manager(),
      body: { newMobile: freshMobile() },
    });
    expect(flood.status).toBe(429);
    expect(flood.body.detail).toMatch(/in the last hour/);
  });

  it('keeps audit rows: an UPDATE or DELETE of audit_log fails', async () => {
    const { knex } = c.central.db;
    const row = await knex('audit_log').orderBy('id').first('id', 'after');
    expect(row).toBeDefined();
    await expect(knex('audit_log').where('id', row.id).update({ after: '{}' })).rejects.toThrow(
      /append-only/,
    );
    await expect(knex('audit_log').where('id', row.id).delete()).rejects.toThrow(/append-only/);
    await expect(knex.raw('update audit_log set username = ?', ['someone'])).rejects.toThrow(
      /append-only/,
    );
    await expect(knex.raw('delete from audit_log')).rejects.toThrow(/append-only/);
    expect((await knex('audit_log').where('id', row.id).first('after')).after).toBe(row.after);
    await expect(knex('member_merges').delete()).rejects.toThrow(/append-only/);
  });
});

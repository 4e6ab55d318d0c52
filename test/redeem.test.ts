import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from './support/databases.ts';
import { cancelKey, redeemKey } from '../central/redeem/service.ts';
import { startTestCentral, type TestCentral } from './support/central.ts';
import { counterSale, startPairedTerminal, waitConverged, waitFor } from './support/terminal.ts';
import {
  centralBalance,
  devMessages,
  memberWithPoints,
  readOtp,
  refusal,
} from './support/redeem.ts';
import type { CounterError } from '../terminal/core.ts';
import type { SmsPush } from '../shared/protocol/redeem.ts';

type Terminal = Awaited<ReturnType<typeof startPairedTerminal>>;

describeEachDb('redemption with an SMS OTP', (dialect) => {
  let c: TestCentral;
  let a: Terminal;
  let a2: Terminal;
  let b: Terminal;

  beforeAll(async () => {
    c = await startTestCentral(dialect, { sync: { heartbeatMs: 200 } });
    a = await startPairedTerminal(c, 'MUM-01');
    a2 = await startPairedTerminal(c, 'MUM-01');
    b = await startPairedTerminal(c, 'DEL-01');
    await Promise.all([a, a2, b].map((t) => waitConverged(t.core, c.central)));
  });
  afterAll(async () => {
    await Promise.all([a, a2, b].map((t) => t.close()));
    await c.close();
  });

  it('end to end: quote, OTP by SMS, a wrong code, the right code, the balance everywhere, cancel', async () => {
    const mobile = await memberWithPoints(c, a.core, 1_000);
    const bill = { mobile, billNumber: 'MUM-R-1', billAmountPaise: 100_000 };

    const quote = await a.core.quoteRedemption(bill);
    // Defaults: a point is ₹1 and points pay at most half a bill: ₹500 of ₹1,000.
    expect(quote).toMatchObject({
      balance: 1_000,
      maxPoints: 500,
      maxValuePaise: 50_000,
      allowed: true,
    });

    const smsPushes: SmsPush[] = [];
    a.core.on('redeem:sms', (p: SmsPush) => smsPushes.push(p));
    const asked = await a.core.requestRedemption({ ...bill, points: 300 });
    expect(asked).toMatchObject({ status: 'awaiting-otp', points: 300, valuePaise: 30_000 });
    expect(asked.otp).toMatchObject({ triesLeft: 5, resendsLeft: 3 });
    // As stored before it is sent (the worker may not have run yet): no code in clear anywhere.
    const queuedRow = JSON.stringify(
      await c.central.db.knex('sms_outbox').where({ redemption_id: asked.id, kind: 'otp' }),
    );
    const otp = await readOtp(c, mobile);
    const sms = devMessages(c).find((m) => m.to === mobile && m.kind === 'otp');
    expect(sms?.text).toBe(
      `${otp} is your OTP to redeem 300 points (Rs 300) on bill MUM-R-1 at Andheri West. Valid 5 minutes. Do not share it. -SHWRMS`,
    );
    expect(sms?.dlt).toMatchObject({
      header: 'SHWRMS',
      templateId: expect.stringMatching(/^\d{19}$/),
    });
    await waitFor('the counter to hear the OTP went out', () =>
      smsPushes.some((p) => p.redemptionId === asked.id && p.delivery === 'sent'),
    );
    expect((await a.core.redemptionStatus(asked.id)).otp?.delivery).toBe('sent');
    // Only a keyed hash of the code is stored, and the outbox keeps the text masked.
    const stored = await c.central.db.knex('otps').where('redemption_id', asked.id).first();
    expect(stored.code_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(otp);
    const outboxRow = await c.central.db.knex('sms_outbox').where('id', stored.outbox_id).first();
    expect(outboxRow.text).toContain('******');
    expect(JSON.stringify(outboxRow)).not.toContain(otp);
    expect(queuedRow).toContain('******');
    expect(queuedRow).not.toContain(otp);

    const wrong = otp === '000000' ? '000001' : '000000';
    const miss = await refusal(a.core.confirmRedemption(asked.id, wrong));
    expect(miss.code).toBe('otp-wrong');
    expect(miss.message).toBe('Wrong OTP; 4 tries left.');
    expect(await centralBalance(c, mobile)).toBe(1_000);

    const done = await a.core.confirmRedemption(asked.id, otp);
    expect(done).toMatchObject({ status: 'confirmed', balanceAfter: 700 });
    // The counter that redeemed holds the new balance at once; the other showroom a moment later.
    expect(a.core.findByMobile(mobile)?.balance).toBe(700);
    await waitFor(
      'the other showroom to show 700',
      () => b.core.findByMobile(mobile)?.balance === 700,
    );
    expect(await centralBalance(c, mobile)).toBe(700);

    // A retry after a lost answer gets the same answer and spends nothing more.
    const again = await a.core.confirmRedemption(asked.id, otp);
    expect(again).toMatchObject({ id: asked.id, status: 'confirmed', balanceAfter: 700 });
    const entries = await c.central.db
      .knex('ledger_entries')
      .where('idempotency_key', redeemKey(asked.id));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ kind: 'redeem', points: -300, balance_after: 700 });
    await waitFor('the redeem notice', () =>
      devMessages(c).some((m) => m.to === mobile && m.kind === 'redeem'),
    );
    expect(devMessages(c).find((m) => m.to === mobile && m.kind === 'redeem')?.text).toBe(
      'Dear Kavita Nair, 300 points (Rs 300) were redeemed on bill MUM-R-1 at Andheri West. Balance 700 points. -SHWRMS',
    );

    // While the bill is open, the redemption can be cancelled: a reversing entry gives points back.
    const cancelled = await a2.core.cancelRedemption(asked.id, 'customer changed their mind');
    expect(cancelled).toMatchObject({ status: 'cancelled', balanceAfter: 1_000 });
    await waitFor(
      'the other showroom to show 1,000 again',
      () => b.core.findByMobile(mobile)?.balance === 1_000,
    );
    const reversal = await c.central.db
      .knex('ledger_entries')
      .where('idempotency_key', cancelKey(asked.id))
      .first();
    expect(reversal).toMatchObject({
      kind: 'reverse',
      points: 300,
      refers_to_entry_id: entries[0].id,
    });
    // Cancelling again (a retry) answers the same and gives nothing more back.
    expect(await a.core.cancelRedemption(asked.id)).toMatchObject({
      status: 'cancelled',
      balanceAfter: 1_000,
    });
    expect(await centralBalance(c, mobile)).toBe(1_000);
  });

  it('a closed bill (its sale recorded) takes no redemption and allows no cancellation', async () => {
    const mobile = await memberWithPoints(c, a.core, 600);
    const r = await a.core.requestRedemption({
      mobile,
      billNumber: 'MUM-R-2',
      billAmountPaise: 50_000,
      points: 200,
    });
    await a.core.confirmRedemption(r.id, await readOtp(c, mobile));
    a.core.recordSale(counterSale('MUM-R-2', mobile, [['ELEC', 300]]));
    await waitConverged(a.core, c.central);
    const closed = await refusal(a.core.cancelRedemption(r.id));
    expect(closed.code).toBe('bill-closed');
    expect(
      (
        await refusal(
          a.core.requestRedemption({
            mobile,
            billNumber: 'MUM-R-2',
            billAmountPaise: 50_000,
            points: 100,
          }),
        )
      ).code,
    ).toBe('bill-closed');
    expect(await centralBalance(c, mobile)).toBe(600 - 200 + 6);
  });

  it('an OTP is bound to its redemption: not for more points, not at another counter, not for another member', async () => {
    const mobile = await memberWithPoints(c, a.core, 2_000);
    const other = await memberWithPoints(c, a.core, 2_000);
    const small = await a.core.requestRedemption({
      mobile,
      billNumber: 'MUM-R-3',
      billAmountPaise: 1_000_000,
      points: 100,
    });
    const smallOtp = await readOtp(c, mobile);
    // Asking again at the same counter for 1,000 replaces the OTP: the 100-point code cannot redeem 1,000.
    const big = await a.core.requestRedemption({
      mobile,
      billNumber: 'MUM-R-3',
      billAmountPaise: 1_000_000,
      points: 1_000,
    });
    const bigOtp = await readOtp(c, mobile, 2);
    if (smallOtp !== bigOtp) {
      expect((await refusal(a.core.confirmRedemption(big.id, smallOtp))).code).toBe('otp-wrong');
    }
    expect((await refusal(a.core.confirmRedemption(small.id, smallOtp))).code).toBe('otp-dead');
    // Another counter, even in the same showroom, cannot use this redemption or its code.
    expect((await refusal(a2.core.confirmRedemption(big.id, bigOtp))).code).toBe('otp-foreign');
    expect((await refusal(b.core.confirmRedemption(big.id, bigOtp))).code).toBe('otp-foreign');
    // Another member's redemption with this member's code: wrong.
    const theirs = await a2.core.requestRedemption({
      mobile: other,
      billNumber: 'MUM-R-4',
      billAmountPaise: 1_000_000,
      points: 1_000,
    });
    const theirOtp = await readOtp(c, other);
    if (theirOtp !== bigOtp) {
      expect((await refusal(a2.core.confirmRedemption(theirs.id, bigOtp))).code).toBe('otp-wrong');
    }
    expect(await centralBalance(c, mobile)).toBe(2_000);
    expect(await centralBalance(c, other)).toBe(2_000);
    await a.core.confirmRedemption(big.id, bigOtp);
    expect(await centralBalance(c, mobile)).toBe(1_000);
  });

  it('a used OTP does not open a second redemption', async () => {
    const mobile = await memberWithPoints(c, a.core, 1_000);
    const first = await a.core.requestRedemption({
      mobile,
      billNumber: 'MUM-R-9',
      billAmountPaise: 1_000_000,
      points: 100,
    });
    const used = await readOtp(c, mobile);
    await a.core.confirmRedemption(first.id, used);
    const second = await a.core.requestRedemption({
      mobile,
      billNumber: 'MUM-R-10',
      billAmountPaise: 1_000_000,
      points: 100,
    });
    const fresh = await readOtp(c, mobile, 2);
    if (fresh !== used) {
      const reused = await refusal(a.core.confirmRedemption(second.id, used));
      expect(reused.code).toBe('otp-wrong');
    }
    expect(await centralBalance(c, mobile)).toBe(900);
    expect((await a.core.confirmRedemption(second.id, fresh)).balanceAfter).toBe(800);
  });

  it('one live OTP per member: a second showroom is refused while the first waits', async () => {
    const mobile = await memberWithPoints(c, a.core, 1_000);
    const [first, second] = await Promise.allSettled([
      a.core.requestRedemption({
        mobile,
        billNumber: 'MUM-R-5',
        billAmountPaise: 200_000,
        points: 800,
      }),
      b.core.requestRedemption({
        mobile,
        billNumber: 'DEL-R-5',
        billAmountPaise: 200_000,
        points: 800,
      }),
    ]);
    const outcomes = [first, second].map((o) =>
      o.status === 'fulfilled' ? 'otp' : (o.reason as CounterError).code,
    );
    expect(outcomes.sort()).toEqual(['otp', 'otp-pending-elsewhere']);
    const refused = [first, second].find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect((refused.reason as Error).message).toMatch(/pending at Counter at (MUM|DEL)-01 until/);
    expect(
      await c.central.db
        .knex('otps')
        .where({ state: 'live' })
        .whereIn('member_id', c.central.db.knex('members').where('mobile', mobile).select('id')),
    ).toHaveLength(1);
  });

  it('refuses redemption above the balance, above the bill share and below the minimum, changing nothing', async () => {
    const mobile = await memberWithPoints(c, a.core, 400);
    const before = await c.counts();
    const otpsBefore = await c.central.db.knex('otps').count({ n: '*' }).first();
    const cases: [number, number, string, RegExp][] = [
      [500, 1_000_000, 'insufficient-points', /has 400 points; 500 cannot be redeemed/],
      [300, 40_000, 'redemption-not-allowed', /allows at most 200 points/],
      [50, 1_000_000, 'redemption-not-allowed', /At least 100 points/],
    ];
    for (const [points, billAmountPaise, code, message] of cases) {
      const e = await refusal(
        a.core.requestRedemption({ mobile, billNumber: 'MUM-R-6', billAmountPaise, points }),
      );
      expect(e.code).toBe(code);
      expect(e.message).toMatch(message);
    }
    const quote = await a.core.quoteRedemption({
      mobile,
      billNumber: 'MUM-R-6',
      billAmountPaise: 10_000,
    });
    expect(quote).toMatchObject({ allowed: false, maxPoints: 0 });
    expect(quote.reason).toMatch(/this bill allows 50 points, below the minimum of 100/);
    expect(await c.counts()).toEqual(before);
    expect(await c.central.db.knex('otps').count({ n: '*' }).first()).toEqual(otpsBefore);
    // Bad input: a malformed request is refused by its schema, with the field named.
    const bad = await refusal(
      a.core.requestRedemption({
        mobile,
        billNumber: 'bad bill!',
        billAmountPaise: -5,
        points: 1.5,
      }),
    );
    expect(bad.code).toBe('validation');
    expect(bad.message).toMatch(/billNumber/);
  });
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachDb } from './support/databases.ts';
import { redeemKey } from '../central/redeem/service.ts';
import { startTestCentral, type TestCentral } from './support/central.ts';
import { connectRawSync, startPairedTerminal, waitConverged, waitFor } from './support/terminal.ts';
import { centralBalance, memberWithPoints, readOtp, refusal } from './support/redeem.ts';
import { saveProgramSettings } from '../central/db/settings-store.ts';
import { AppError } from '../central/errors.ts';
import { revokeTerminal } from '../central/db/sync-store.ts';

type Terminal = Awaited<ReturnType<typeof startPairedTerminal>>;

const wrongOf = (otp: string) => (otp === '111111' ? '222222' : '111111');

describeEachDb('OTP policy and abuse', (dialect) => {
  let c: TestCentral;
  let a: Terminal;
  let b: Terminal;

  beforeAll(async () => {
    c = await startTestCentral(dialect, { sync: { heartbeatMs: 200 } });
    a = await startPairedTerminal(c, 'MUM-01');
    b = await startPairedTerminal(c, 'DEL-01');
    await Promise.all([a, b].map((t) => waitConverged(t.core, c.central)));
  });
  afterAll(async () => {
    await Promise.all([a, b].map((t) => t.close()));
    await c.close();
  });

  const ask = (t: Terminal, mobile: string, bill: string, points = 200) =>
    t.core.requestRedemption({ mobile, billNumber: bill, billAmountPaise: 1_000_000, points });

  it('an OTP expires after 5 minutes', async () => {
    const mobile = await memberWithPoints(c, a.core, 500);
    const r = await ask(a, mobile, 'P-EXP-1');
    const otp = await readOtp(c, mobile);
    c.clock.advance(5 * 60_000 + 1_000);
    const e = await refusal(a.core.confirmRedemption(r.id, otp));
    expect(e.code).toBe('otp-expired');
    expect(await centralBalance(c, mobile)).toBe(500);
    // Dead for good: the clock going back does not revive it.
    c.clock.advance(-(5 * 60_000 + 1_000));
    expect((await refusal(a.core.confirmRedemption(r.id, otp))).code).toBe('otp-dead');
    // An expired OTP no longer holds the member: another showroom may ask now.
    c.clock.advance(5 * 60_000 + 1_000);
    const other = await ask(b, mobile, 'P-EXP-2');
    await b.core.confirmRedemption(other.id, await readOtp(c, mobile, 2));
    expect(await centralBalance(c, mobile)).toBe(300);
  });

  it('five wrong tries kill the OTP; the right code after that is refused', async () => {
    const mobile = await memberWithPoints(c, a.core, 500);
    const r = await ask(a, mobile, 'P-TRY-1');
    const otp = await readOtp(c, mobile);
    const messages: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const e = await refusal(a.core.confirmRedemption(r.id, wrongOf(otp)));
      messages.push(`${e.code}: ${e.message}`);
    }
    expect(messages).toEqual([
      'otp-wrong: Wrong OTP; 4 tries left.',
      'otp-wrong: Wrong OTP; 3 tries left.',
      'otp-wrong: Wrong OTP; 2 tries left.',
      'otp-wrong: Wrong OTP; 1 try left.',
      'otp-dead: Wrong OTP, and that was the last of 5 tries; start the redemption again.',
    ]);
    const late = await refusal(a.core.confirmRedemption(r.id, otp));
    expect(late.code).toBe('otp-dead');
    expect(late.message).toMatch(/too many wrong OTPs/);
    expect(await a.core.redemptionStatus(r.id)).toMatchObject({
      status: 'abandoned',
      otp: { triesLeft: 0 },
    });
    expect(await centralBalance(c, mobile)).toBe(500);
  });

  it('resends are 30 s apart, at most 3, and each new code replaces the last', async () => {
    const mobile = await memberWithPoints(c, a.core, 500);
    const r = await ask(a, mobile, 'P-RES-1');
    const first = await readOtp(c, mobile);
    const soon = await refusal(a.core.resendOtp(r.id));
    expect(soon.code).toBe('too-many-requests');
    expect(soon.message).toBe('Wait 30 s before resending the OTP.');
    const codes = [first];
    for (let n = 1; n <= 3; n += 1) {
      c.clock.advance(30_000);
      const view = await a.core.resendOtp(r.id);
      expect(view.otp?.resendsLeft).toBe(3 - n);
      codes.push(await readOtp(c, mobile, n + 1));
    }
    c.clock.advance(30_000);
    const tooMany = await refusal(a.core.resendOtp(r.id));
    expect(tooMany.code).toBe('too-many-requests');
    expect(tooMany.message).toMatch(/already resent 3 times/);
    const latest = codes[3] ?? '';
    // Only the latest code works (an earlier one counts as a wrong try, when it differs).
    const stale = codes.slice(0, 3).find((code) => code !== latest);
    if (stale)
      expect((await refusal(a.core.confirmRedemption(r.id, stale))).code).toBe('otp-wrong');
    await a.core.confirmRedemption(r.id, latest);
    expect(await centralBalance(c, mobile)).toBe(300);
  });

  it('limits OTP floods for one member and from one terminal, with settings the chain can change', async () => {
    const mobile = await memberWithPoints(c, a.core, 5_000);
    // Six OTPs an hour per member by default: replacing the OTP over and over hits the limit.
    for (let i = 0; i < 6; i += 1) await ask(a, mobile, `P-FLOOD-${i}`);
    const flood = await refusal(ask(a, mobile, 'P-FLOOD-6'));
    expect(flood.code).toBe('too-many-requests');
    expect(flood.message).toMatch(/sent 6 OTPs in the last hour/);
    c.clock.advance(61 * 60_000);
    await ask(a, mobile, 'P-FLOOD-7');
    // And per day: with a cap of 8, one more this hour, then none until the day has passed.
    await saveProgramSettings(
      c.central.db.knex,
      { otp: { perMemberPerDay: 8 } },
      { staffId: null, now: c.clock.now() },
    );
    c.central.settings.forget();
    await ask(a, mobile, 'P-FLOOD-8');
    c.clock.advance(61 * 60_000);
    const daily = await refusal(ask(a, mobile, 'P-FLOOD-9'));
    expect(daily.message).toMatch(/sent 8 OTPs in the last 24 hours/);
    await saveProgramSettings(
      c.central.db.knex,
      { otp: { perMemberPerDay: 20 } },
      { staffId: null, now: c.clock.now() },
    );
    c.central.settings.forget();

    await saveProgramSettings(
      c.central.db.knex,
      { otp: { perTerminalPerHour: 2 } },
      { staffId: null, now: c.clock.now() },
    );
    c.central.settings.forget();
    try {
      const others = [
        await memberWithPoints(c, b.core, 500),
        await memberWithPoints(c, b.core, 500),
        await memberWithPoints(c, b.core, 500),
      ];
      await ask(b, others[0] ?? '', 'P-TERM-1');
      await ask(b, others[1] ?? '', 'P-TERM-2');
      const e = await refusal(ask(b, others[2] ?? '', 'P-TERM-3'));
      expect(e.code).toBe('too-many-requests');
      expect(e.message).toMatch(/This counter asked for 2 OTPs in the last hour/);
    } finally {
      await saveProgramSettings(
        c.central.db.knex,
        { otp: { perTerminalPerHour: 120 } },
        { staffId: null, now: c.clock.now() },
      );
      c.central.settings.forget();
    }
    c.clock.advance(61 * 60_000);
  });

  it('a revoked terminal cannot redeem, and an offline one says plainly that redemption needs central', async () => {
    const mobile = await memberWithPoints(c, a.core, 500);
    const t = await startPairedTerminal(c, 'MUM-01');
    try {
      await waitConverged(t.core, c.central);
      const r = await ask(t, mobile, 'P-REV-1');
      const otp = await readOtp(c, mobile);
      const revoked = await c.request('POST', `/api/terminals/${t.credentials.terminalId}/revoke`, {
        token: c.tokens.admin,
      });
      expect(revoked.status).toBe(200);
      await waitFor('the terminal to be cut off', () => t.core.status().link === 'refused');
      const e = await refusal(t.core.confirmRedemption(r.id, otp));
      expect(e.code).toBe('offline');
      // A bare client with the revoked secret is refused at the door.
      await expect(connectRawSync(c.url, t.credentials)).rejects.toThrow(/revoked/);
      expect(await centralBalance(c, mobile)).toBe(500);
    } finally {
      await t.close();
    }
    // Revoked behind central's back (another process, the CLI), with no heartbeat to notice: the
    // terminal is still connected, and central's own check refuses its next request.
    const quietCentral = await startTestCentral(dialect, { sync: { heartbeatMs: 3_600_000 } });
    const quiet = await startPairedTerminal(quietCentral, 'MUM-01');
    try {
      const member = await memberWithPoints(quietCentral, quiet.core, 500);
      const r = await quiet.core.requestRedemption({
        mobile: member,
        billNumber: 'P-REV-2',
        billAmountPaise: 1_000_000,
        points: 200,
      });
      const otp = await readOtp(quietCentral, member);
      await revokeTerminal(
        quietCentral.central.db,
        quiet.credentials.terminalId,
        quietCentral.clock.now(),
      );
      await new Promise((resolve) => setTimeout(resolve, 1_100)); // central re-reads at most once a second
      expect(quiet.core.status().link).toBe('online');
      const e = await refusal(quiet.core.confirmRedemption(r.id, otp));
      expect(e.code).toBe('forbidden');
      expect(e.message).toBe('This terminal was revoked; pair it again to use it.');
      await waitFor('the terminal to be cut off', () => quiet.core.status().link === 'refused');
      expect(await centralBalance(quietCentral, member)).toBe(500);
      // Its pending redemption died with it.
      const row = await quietCentral.central.db.knex('redemptions').where('id', r.id).first();
      expect(row).toMatchObject({ status: 'abandoned', abandoned_reason: 'terminal-revoked' });
    } finally {
      await quiet.close();
      await quietCentral.close();
    }
    const offline = await startPairedTerminal(c, 'MUM-01');
    await waitConverged(offline.core, c.central);
    await offline.core.sync.stop();
    const e = await refusal(
      offline.core.requestRedemption({
        mobile,
        billNumber: 'P-OFF-1',
        billAmountPaise: 100_000,
        points: 100,
      }),
    );
    expect(e.code).toBe('offline');
    expect(e.message).toBe(
      'Redemption needs the central server, which this counter cannot reach now; points will still be earned.',
    );
    // Earning still works offline: the sale is queued.
    expect(
      offline.core.recordSale({
        billNumber: 'P-OFF-1',
        mobile,
        lines: [{ sku: 'B1', categoryCode: 'BOOK', quantity: 1, amountPaise: 10_000 }],
      }).pendingPoints,
    ).toBe(5);
    await offline.close();
  });

  it('the same confirmation sent many times at once spends the points once', async () => {
    const mobile = await memberWithPoints(c, a.core, 1_000);
    const r = await ask(a, mobile, 'P-DUP-1', 400);
    const otp = await readOtp(c, mobile);
    const results = await Promise.all(
      Array.from({ length: 8 }, () => a.core.confirmRedemption(r.id, otp)),
    );
    for (const view of results)
      expect(view).toMatchObject({ status: 'confirmed', balanceAfter: 600 });
    expect(
      await c.central.db.knex('ledger_entries').where('idempotency_key', redeemKey(r.id)),
    ).toHaveLength(1);
    expect(await centralBalance(c, mobile)).toBe(600);
  });

  it("refuses a terminal's outbox item that uses central's own key prefix", async () => {
    const mobile = await memberWithPoints(c, a.core, 100);
    const socket = await connectRawSync(c.url, b.credentials);
    try {
      const answer = (await socket.timeout(5_000).emitWithAck('outbox:submit', {
        items: [
          {
            kind: 'sale',
            key: '~redeem:1',
            body: {
              showroomCode: 'DEL-01',
              billNumber: 'KEY-1',
              mobile,
              lines: [{ sku: 'B', categoryCode: 'BOOK', quantity: 1, amountPaise: 10_000 }],
            },
          },
        ],
      })) as { results: { outcome: string; status: number; body: { detail: string } }[] };
      expect(answer.results[0]).toMatchObject({ outcome: 'refused', status: 400 });
      expect(answer.results[0]?.body.detail).toMatch(/keys beginning with ~ are central's own/);
    } finally {
      socket.disconnect();
    }
    expect(await centralBalance(c, mobile)).toBe(100);
  });

  it('the ledger never lets concurrent spends of one member go below zero', async () => {
    // Below the OTP: 40 concurrent spends of 100 points on a balance of 1,000 through the writer.
    const mobile = await memberWithPoints(c, a.core, 1_000);
    const member: { id: number } = await c.central.db
      .knex('members')
      .where('mobile', mobile)
      .first('id');
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) =>
        c.central.writer.write({
          kind: 'member-op',
          operation: 'test-spend',
          key: `spend-${mobile}-${i}`,
          requestHash: `h${i}`,
          memberId: member.id,
          actor: { staffId: null, role: 'cashier', showroomId: null },
          run: (ctx) => {
            if (ctx.member.balance < 100)
              return Promise.reject(new AppError('insufficient-points', 'not enough'));
            const after = ctx.post({
              kind: 'redeem',
              points: -100,
              key: `spend-${mobile}-${i}`,
              showroomId: null,
              terminalId: null,
              reason: 'test',
            });
            return Promise.resolve({ status: 201, body: { memberId: member.id, after } });
          },
        }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(10);
    expect(
      outcomes
        .filter((o) => o.status === 'rejected')
        .every((o) => (o.reason as AppError).code === 'insufficient-points'),
    ).toBe(true);
    expect(await centralBalance(c, mobile)).toBe(0);
    const lowest = await c.central.db
      .knex('ledger_entries')
      .where('member_id', member.id)
      .min({ m: 'balance_after' })
      .first();
    expect(Number(lowest?.m)).toBe(0);
  });
});

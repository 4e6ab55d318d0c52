import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, describeEachDb } from './support/databases.ts';
import { startTestCentral, startPeerCentral, type TestCentral } from './support/central.ts';
import { startPairedTerminal, waitConverged, waitFor } from './support/terminal.ts';
import { devMessages, freshMobile, memberWithPoints, readOtp } from './support/redeem.ts';
import { startTwilioStandIn } from './support/sms-standins.ts';
import { saveProgramSettings } from '../central/db/settings-store.ts';
import { DEFAULT_TEMPLATES, fitsTemplate, measure, render } from '../central/sms/templates.ts';
import { loadSmsConfig } from '../central/sms/config.ts';

type Terminal = Awaited<ReturnType<typeof startPairedTerminal>>;

/** Writes an SMS configuration file for central and returns its path. */
function smsConfigFile(config: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-sms-'));
  const file = path.join(dir, 'sms.json');
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

async function outboxOf(c: TestCentral, mobile: string) {
  return c.central.db.knex('sms_outbox').where('mobile', mobile).orderBy('id');
}

describe('SMS configuration and DLT templates', () => {
  it('refuses a configuration that cannot work, naming each problem', () => {
    const bad = smsConfigFile({
      provider: {
        provider: 'http',
        url: 'http://127.0.0.1:1/send',
        template: 'to={{to}}&text={{text}}',
        timeoutMs: 10_000,
      },
      dlt: { entityId: '123', header: 'shop' },
      worker: { leaseSeconds: 15 },
      templates: { otp: DEFAULT_TEMPLATES.otp },
    });
    let message = '';
    try {
      loadSmsConfig(bad);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('dlt.entityId: a DLT entity id is 19 digits');
    expect(message).toContain('dlt.header: a DLT header is six capital letters');
    expect(message).toContain('templates.earn: a template for earn messages is required');
    expect(message).toContain(
      "worker.leaseSeconds: must be at least twice the provider's timeoutMs",
    );
    expect(() => loadSmsConfig('/nonexistent/sms.json')).toThrow(/cannot be read as JSON/);
    expect(loadSmsConfig(undefined).provider.provider).toBe('dev');
  });

  it('renders a template and refuses what does not fit it', () => {
    const earn = DEFAULT_TEMPLATES.earn;
    if (!earn) throw new Error('no default earn template');
    const ok = render(earn, {
      name: 'Ravi',
      points: '12',
      bill: 'B-1',
      showroom: 'Andheri',
      balance: '40',
    });
    expect(ok).toMatchObject({ ok: true, unicode: false, segments: 1 });
    expect(render(earn, { name: 'Ravi', points: '12', bill: 'B-1', showroom: 'Andheri' })).toEqual({
      ok: false,
      reason: 'no value for variable balance',
    });
    expect(
      render(earn, { name: 'x'.repeat(31), points: '1', bill: 'B', showroom: 'S', balance: '1' }),
    ).toMatchObject({
      ok: false,
      reason: 'variable name has 31 characters; DLT allows 30',
    });
    expect(
      render(earn, { name: 'a\nb', points: '1', bill: 'B', showroom: 'S', balance: '1' }),
    ).toMatchObject({ ok: false });
    expect(
      fitsTemplate(
        earn.text,
        'Dear Ravi, you earned 12 points on bill B-1 at Andheri. Balance 40 points. -SHWRMS',
      ),
    ).toBe(true);
    expect(
      fitsTemplate(earn.text, 'Dear Ravi, you earned 12 points. Click http://x.y -SHWRMS'),
    ).toBe(false);
  });

  it('counts GSM-7 and UCS-2 parts the way handsets do', () => {
    expect(measure('a'.repeat(160))).toMatchObject({ unicode: false, segments: 1 });
    expect(measure('a'.repeat(161))).toMatchObject({ unicode: false, segments: 2 });
    expect(measure('€'.repeat(81))).toMatchObject({ unicode: false, segments: 2 }); // extension: 2 septets each
    expect(measure('नमस्ते'.repeat(11))).toMatchObject({ unicode: true, segments: 1 }); // 66 units
    expect(measure('नमस्ते'.repeat(12))).toMatchObject({ unicode: true, segments: 2 });
  });
});

describeEachDb('SMS outbox and notices', (dialect) => {
  let c: TestCentral;
  let a: Terminal;
  let stand: Awaited<ReturnType<typeof startTwilioStandIn>>;
  const accountSid = `AC${'a'.repeat(32)}`;

  beforeAll(async () => {
    stand = await startTwilioStandIn({ accountSid, authToken: 'tw-token' });
    const file = smsConfigFile({
      provider: {
        provider: 'twilio',
        accountSid,
        authToken: 'tw-token',
        from: '+15005550006',
        baseUrl: stand.url,
        timeoutMs: 2000,
      },
      worker: { pollMs: 50, retryBaseSeconds: 5 },
    });
    c = await startTestCentral(dialect, { env: { SMS_CONFIG_FILE: file } });
    a = await startPairedTerminal(c, 'MUM-01');
    await waitConverged(a.core, c.central);
  });
  afterAll(async () => {
    await a.close();
    await c.close();
    await stand.close();
  });

  it('writes an earn notice with the sale, only for members who consented, once', async () => {
    const yes = await memberWithPoints(c, a.core, 40, { name: 'Ravi Kumar' });
    const no = await memberWithPoints(c, a.core, 40, { smsConsent: false });
    // Settled at central, not only received by the gateway (its answer may still be on the way).
    await waitFor(
      'the notice to be sent',
      async () => (await outboxOf(c, yes))[0]?.status === 'sent',
    );
    expect(stand.accepted.filter((m) => m.to === yes).map((m) => m.body)).toEqual([
      `Dear Ravi Kumar, you earned 40 points on bill EARN-${yes.slice(-6)} at Andheri West. Balance 40 points. -SHWRMS`,
    ]);
    const rows = await outboxOf(c, yes);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      kind: 'earn',
      status: 'sent',
      attempts: 1,
      provider: 'twilio',
    });
    expect(rows[0].provider_message_id).toMatch(/^SM[0-9a-f]{32}$/);
    expect(await outboxOf(c, no)).toHaveLength(0);
    expect(stand.accepted.some((m) => m.to === no)).toBe(false);
  });

  it('notices can be turned off for the chain', async () => {
    await saveProgramSettings(
      c.central.db.knex,
      { earnNotices: false },
      { staffId: null, now: c.clock.now() },
    );
    c.central.settings.forget();
    try {
      const mobile = await memberWithPoints(c, a.core, 10);
      expect(await outboxOf(c, mobile)).toHaveLength(0);
    } finally {
      await saveProgramSettings(
        c.central.db.knex,
        { earnNotices: true },
        { staffId: null, now: c.clock.now() },
      );
      c.central.settings.forget();
    }
  });

  it('a gateway failure is retried with backoff, and the cashier sees the OTP as delayed, then sent', async () => {
    const mobile = await memberWithPoints(c, a.core, 500, { smsConsent: false });
    stand.failNext('server-error', 2);
    const r = await a.core.requestRedemption({
      mobile,
      billNumber: 'SMS-R-1',
      billAmountPaise: 100_000,
      points: 100,
    });
    await waitFor(
      'the first failure',
      async () => (await a.core.redemptionStatus(r.id)).otp?.delivery === 'delayed',
    );
    const delayed = await a.core.redemptionStatus(r.id);
    expect(delayed.otp?.deliveryError).toMatch(/^twilio: /);
    const row = (await outboxOf(c, mobile))[0];
    expect(row).toMatchObject({ kind: 'otp', status: 'retrying', attempts: 1 });
    // Not before its time: 5 s ± 20 % after the first attempt.
    expect(
      new Date(row.next_attempt_at).getTime() - c.clock.now().getTime(),
    ).toBeGreaterThanOrEqual(4_000);
    c.clock.advance(6_000);
    await waitFor('the second failure', async () => {
      const [again] = await outboxOf(c, mobile);
      return again?.attempts === 2 && again.status === 'retrying';
    });
    c.clock.advance(12_000);
    await waitFor(
      'the OTP to be sent',
      async () => (await a.core.redemptionStatus(r.id)).otp?.delivery === 'sent',
    );
    expect((await outboxOf(c, mobile))[0]).toMatchObject({
      status: 'sent',
      attempts: 3,
      sealed: null,
    });
    const otp =
      /(\d{6})/.exec(stand.accepted.filter((m) => m.to === mobile).at(-1)?.body ?? '')?.[1] ?? '';
    expect((await a.core.confirmRedemption(r.id, otp)).status).toBe('confirmed');
  });

  it('a resent OTP replaces the waiting message: the old code is never sent late', async () => {
    const mobile = await memberWithPoints(c, a.core, 500, { smsConsent: false });
    stand.failNext('server-error', 1);
    const r = await a.core.requestRedemption({
      mobile,
      billNumber: 'SMS-R-3',
      billAmountPaise: 100_000,
      points: 100,
    });
    await waitFor('the first message to wait for a retry', async () => {
      const [first] = await outboxOf(c, mobile);
      return first?.status === 'retrying';
    });
    c.clock.advance(30_000);
    await a.core.resendOtp(r.id);
    await waitFor(
      'the new message to be sent',
      async () => (await outboxOf(c, mobile))[1]?.status === 'sent',
    );
    const [first, second] = await outboxOf(c, mobile);
    expect(first).toMatchObject({
      status: 'expired',
      sealed: null,
      last_error: 'replaced by a newer OTP',
    });
    expect(second).toMatchObject({ status: 'sent' });
    c.clock.advance(60_000); // past the old message's retry time
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stand.accepted.filter((m) => m.to === mobile)).toHaveLength(1);
  });

  it('a refusal by the gateway fails at once, and an OTP not sent in time is never sent late', async () => {
    const mobile = await memberWithPoints(c, a.core, 500, { smsConsent: false });
    stand.failNext({
      status: 400,
      code: 21211,
      message: "The 'To' number is not a valid phone number.",
    });
    const r = await a.core.requestRedemption({
      mobile,
      billNumber: 'SMS-R-2',
      billAmountPaise: 100_000,
      points: 100,
    });
    await waitFor(
      'the refusal',
      async () => (await a.core.redemptionStatus(r.id)).otp?.delivery === 'failed',
    );
    expect((await a.core.redemptionStatus(r.id)).otp?.deliveryError).toMatch(/21211/);
    expect((await outboxOf(c, mobile))[0]).toMatchObject({ status: 'failed', attempts: 1 });

    // The gateway is down past the OTP's five minutes: the message expires instead of going late.
    c.clock.advance(31_000);
    stand.failNext('server-error', 1);
    await a.core.resendOtp(r.id);
    await waitFor(
      'the resend to fail once',
      async () => (await outboxOf(c, mobile))[1]?.status === 'retrying',
    );
    c.clock.advance(5 * 60_000 + 1_000);
    await waitFor(
      'the resend to expire',
      async () => (await outboxOf(c, mobile))[1]?.status === 'expired',
    );
    expect(stand.accepted.filter((m) => m.to === mobile)).toHaveLength(0);
    expect((await a.core.redemptionStatus(r.id)).otp?.delivery).toBe('failed');
  });
});

describeEachDb('SMS templates that do not fit, and Hindi', (dialect) => {
  it('refuses a message that does not fit its template before sending, without failing the sale', async () => {
    const file = smsConfigFile({
      templates: {
        ...DEFAULT_TEMPLATES,
        // A chain's misconfiguration: the template wants a variable an earn notice does not have.
        earn: {
          text: 'Dear {#var#}, you saved Rs {#var#}. -SHWRMS',
          variables: ['name', 'rupees'],
          dltTemplateId: '1107000000000000099',
        },
      },
    });
    const c = await startTestCentral(dialect, { env: { SMS_CONFIG_FILE: file } });
    const a = await startPairedTerminal(c, 'MUM-01');
    try {
      const mobile = await memberWithPoints(c, a.core, 30);
      expect(
        await c.central.db
          .knex('sales')
          .whereIn('member_id', c.central.db.knex('members').where('mobile', mobile).select('id')),
      ).toHaveLength(1);
      const rows = await outboxOf(c, mobile);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ kind: 'earn', status: 'refused', attempts: 0 });
      expect(rows[0].last_error).toBe('refused before sending: no value for variable rupees');
      await new Promise((r) => setTimeout(r, 1_200)); // a worker round or more
      expect(devMessages(c).filter((m) => m.to === mobile)).toHaveLength(0);
    } finally {
      await a.close();
      await c.close();
    }
  });

  it('sends Hindi (Unicode) messages when the chain chooses Hindi', async () => {
    const c = await startTestCentral(dialect, {
      env: { SMS_CONFIG_FILE: smsConfigFile({ language: 'hi' }) },
    });
    const a = await startPairedTerminal(c, 'MUM-01');
    try {
      const mobile = await memberWithPoints(c, a.core, 600, { name: 'राजेश कुमार' });
      await waitFor('the earn notice', () =>
        devMessages(c).some((m) => m.to === mobile && m.kind === 'earn'),
      );
      const earn = devMessages(c).find((m) => m.to === mobile && m.kind === 'earn');
      expect(earn).toMatchObject({
        unicode: true,
        templateName: 'earn.hi',
        text: `प्रिय राजेश कुमार, बिल EARN-${mobile.slice(-6)} पर आपको 600 पॉइंट मिले। शेष 600 पॉइंट। -SHWRMS`,
      });
      const r = await a.core.requestRedemption({
        mobile,
        billNumber: 'HI-1',
        billAmountPaise: 100_000,
        points: 200,
      });
      const otp = await readOtp(c, mobile);
      expect(devMessages(c).find((m) => m.to === mobile && m.kind === 'otp')?.text).toBe(
        `${otp} आपका OTP है: बिल HI-1 पर 200 पॉइंट (Rs 200) रिडीम करने के लिए, 5 मिनट तक मान्य। इसे किसी को न बताएं। -SHWRMS`,
      );
      expect((await a.core.confirmRedemption(r.id, otp)).balanceAfter).toBe(400);
    } finally {
      await a.close();
      await c.close();
    }
  });
});

describeEachDb('birthday and anniversary wishes', (dialect) => {
  it('go out at the configured local time, with bonus points, once a year across runs and processes', async () => {
    const database = await createTestDatabase(dialect);
    const c = await startTestCentral(dialect, { database });
    try {
      await saveProgramSettings(
        c.central.db.knex,
        { wishes: { sendAt: '10:00', birthdayBonusPoints: 50, anniversaryBonusPoints: 25 } },
        { staffId: null, now: c.clock.now() },
      );
      c.central.settings.forget();
      const enrol = async (name: string, extra: Record<string, unknown>) => {
        const mobile = freshMobile();
        const r = await c.request('POST', '/api/members', {
          token: c.tokens.cashier,
          body: { mobile, name, smsConsent: true, showroomCode: 'MUM-01', ...extra },
        });
        expect(r.status).toBe(201);
        return mobile;
      };
      const bday = await enrol('Sunita Rao', { birthday: '1990-03-15' });
      const both = await enrol('Arjun Mehta', {
        birthday: '1985-03-15',
        anniversary: '2012-03-15',
      });
      const quiet = await enrol('Neha Gupta', { birthday: '1992-03-15', smsConsent: false });
      const leap = await enrol('Farhan Ali', { birthday: '1996-02-29' });
      await enrol('Other Day', { birthday: '1990-03-16' });

      // 09:59 in Kolkata (04:29 UTC): not yet.
      c.clock.set('2027-03-15T04:29:00Z');
      expect(await c.central.wishes.tick()).toBeUndefined();
      // 10:01 in Kolkata: today's wishes.
      c.clock.set('2027-03-15T04:31:00Z');
      expect(await c.central.wishes.tick()).toEqual({
        date: '2027-03-15',
        birthday: 3,
        anniversary: 1,
        bonusPoints: 175,
      });
      const balance = async (mobile: string) =>
        Number(
          (await c.central.db.knex('members').where('mobile', mobile).first('balance')).balance,
        );
      expect(await balance(bday)).toBe(50);
      expect(await balance(both)).toBe(75);
      expect(await balance(quiet)).toBe(50); // bonus without an SMS: no consent
      await waitFor(
        'the wishes to be sent',
        () =>
          devMessages(c).filter((m) => m.kind === 'birthday' || m.kind === 'anniversary').length ===
          3,
      );
      expect(devMessages(c).find((m) => m.to === bday)?.text).toBe(
        'Happy birthday, Sunita Rao! We added 50 bonus points. Warm wishes from Demo Electricals & Books. -SHWRMS',
      );
      expect(devMessages(c).some((m) => m.to === quiet)).toBe(false);

      // Again in this process, in a second process, and after a restart: nothing more.
      expect(await c.central.wishes.runFor('2027-03-15')).toMatchObject({
        birthday: 0,
        anniversary: 0,
        bonusPoints: 0,
      });
      expect(await balance(both)).toBe(75);
      const wishes = await c.central.db
        .knex('sms_outbox')
        .whereIn('kind', ['birthday', 'anniversary']);
      expect(wishes).toHaveLength(3);

      // 29 February is wished on 28 February when the year has none; and the next year, again.
      c.clock.set('2027-02-28T05:00:00Z');
      expect(await c.central.wishes.runFor('2027-02-28')).toMatchObject({ birthday: 1 });
      expect(await balance(leap)).toBe(50);
      expect(await c.central.wishes.runFor('2028-03-15')).toMatchObject({
        birthday: 3,
        anniversary: 1,
      });
      expect(await balance(both)).toBe(150);

      // Two central processes running the same day's wishes at the same moment: each wish once.
      if (dialect === 'pg') {
        const peer = await startPeerCentral(database, c.clock, { SMS_WORKER: 'false' });
        try {
          const [mine, theirs] = await Promise.all([
            c.central.wishes.runFor('2029-03-15'),
            peer.central.wishes.runFor('2029-03-15'),
          ]);
          expect(mine.birthday + theirs.birthday).toBe(3);
          expect(mine.anniversary + theirs.anniversary).toBe(1);
          expect(await balance(both)).toBe(225);
          const year = await c.central.db
            .knex('sms_outbox')
            .whereIn('kind', ['birthday', 'anniversary'])
            .where('dedupe_key', 'like', '%:2029');
          expect(year).toHaveLength(3);
        } finally {
          await peer.close();
        }
      }
    } finally {
      await c.close();
      await database.drop();
    }
  });
});

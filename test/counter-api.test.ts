import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCentral, type TestCentral } from './support/central.ts';
import { pairNewTerminal, waitFor } from './support/terminal.ts';
import { CounterClient, PRODUCTS, prepareCounterData } from './support/counter.ts';
import { centralBalance, freshMobile, readOtp } from './support/redeem.ts';
import { PrinterServer } from './support/printer-server.ts';
import { decodeEscPos, textLines } from './support/escpos-decoder.ts';
import {
  closeWriter,
  hasSocat,
  openWriter,
  startSerialPair,
  writeBytes,
  type SerialPair,
} from './support/serial-pair.ts';
import { startCounter, type CounterServerHandle } from '../terminal/server/start.ts';
import { formatMemberCardQr } from '../terminal/devices/member-card.ts';

// The counter's local server end to end at the HTTP level: a real central, a real terminal core,
// a recording network printer and a serial scanner on a socat pair. The browser tests drive
// the same server through the screens (counter-ui.test.ts).

const needsSocat = !hasSocat();
if (needsSocat && process.env.CI === 'true') throw new Error('socat is required under CI');

let c: TestCentral;
let counter: CounterServerHandle;
let client: CounterClient;
let printer: PrinterServer;
let serial: SerialPair | undefined;
let tmp: string;

beforeAll(async () => {
  c = await startTestCentral('sqlite');
  await prepareCounterData(c);
  printer = await PrinterServer.start();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-counter-'));
  if (!needsSocat) serial = await startSerialPair(tmp);
  const paired = await pairNewTerminal(c, 'MUM-01', 'Counter 1');
  counter = await startCounter({
    dataDir: paired.dataDir,
    port: 0,
    printer: printer.address,
    scanners: serial ? [`serial:${serial.pathA}`] : [],
    uiDir: path.join(tmp, 'no-ui'),
  });
  client = new CounterClient(counter.url, counter.token);
  await waitFor('the counter to receive staff and catalogue', () => {
    return counter.core.staff().length > 0 && counter.core.product(PRODUCTS[0].sku) !== undefined;
  });
}, 60_000);

afterAll(async () => {
  await counter.close();
  await serial?.stop();
  await printer.close();
  await c.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A raw request with exactly these headers (fetch will not send a forged Host). */
function rawRequest(
  port: number,
  headers: Record<string, string>,
  pathName = '/api/status',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: pathName, method: 'GET', headers, setHost: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the local server’s front door', () => {
  it('listens on loopback only', () => {
    expect(counter.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('refuses another Host (DNS rebinding) and another site’s Origin', async () => {
    const auth = { authorization: `Bearer ${counter.token}` };
    const own = await rawRequest(counter.port, { ...auth, host: `127.0.0.1:${counter.port}` });
    expect(own.status).toBe(200);
    const rebound = await rawRequest(counter.port, {
      ...auth,
      host: `evil.example:${counter.port}`,
    });
    expect(rebound.status).toBe(421);
    expect(JSON.parse(rebound.body).code).toBe('wrong-host');
    const foreign = await rawRequest(counter.port, {
      ...auth,
      host: `127.0.0.1:${counter.port}`,
      origin: 'https://evil.example',
    });
    expect(foreign.status).toBe(403);
    const crossSite = await rawRequest(counter.port, {
      ...auth,
      host: `localhost:${counter.port}`,
      'sec-fetch-site': 'cross-site',
    });
    expect(crossSite.status).toBe(403);
  });

  it('needs the local token for the API, and the right one', async () => {
    const none = await fetch(`${counter.url}api/status`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { code: string }).code).toBe('no-token');
    const wrong = await new CounterClient(counter.url, 'x'.repeat(43)).call('GET', '/api/status');
    expect(wrong.status).toBe(401);
    const pos = await fetch(`${counter.url}pos/v1/members/9812345678`);
    expect(pos.status).toBe(401);
  });

  it('sends a strict Content-Security-Policy and no framing', async () => {
    const answer = await client.call('GET', '/api/status');
    expect(answer.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(answer.headers.get('x-frame-options')).toBe('DENY');
  });

  it('says what to do when the screens are not built', async () => {
    const page = await fetch(counter.url);
    expect(page.status).toBe(503);
    expect(await page.text()).toContain('npm run build:ui');
  });
});

describe('staff sign-in', () => {
  it('lists this showroom’s staff, not other showrooms’', async () => {
    const answer = await client.call('GET', '/api/staff');
    const names = (answer.body.staff as { username: string }[]).map((s) => s.username);
    expect(names.sort()).toEqual(['admin', 'mum.cashier', 'mum.manager']);
  });

  it('needs a session for cashier work', async () => {
    const anonymous = new CounterClient(counter.url, counter.token);
    const answer = await anonymous.call('GET', '/api/members?q=3210');
    expect(answer.status).toBe(401);
    expect(answer.body.code).toBe('signed-out');
  });

  it('counts wrong PINs and locks the name after five', async () => {
    const guesser = new CounterClient(counter.url, counter.token);
    const first = await guesser.call('POST', '/api/session', {
      username: 'admin',
      pin: '0000',
    });
    expect(first.status).toBe(401);
    expect(first.body.message).toContain('4 tries left');
    for (let i = 0; i < 3; i += 1) {
      await guesser.call('POST', '/api/session', { username: 'admin', pin: '0000' });
    }
    const fifth = await guesser.call('POST', '/api/session', {
      username: 'admin',
      pin: '0000',
    });
    expect(fifth.status).toBe(429);
    expect(fifth.body.code).toBe('locked');
    // Locked means locked: even the right PIN is refused now.
    const right = await guesser.call('POST', '/api/session', { username: 'admin', pin: '2468' });
    expect(right.status).toBe(429);
    // A malformed PIN is a validation error, not a guess.
    const malformed = await guesser.call('POST', '/api/session', {
      username: 'mum.cashier',
      pin: '12ab',
    });
    expect(malformed.status).toBe(422);
    expect(malformed.body.message).toContain('pin');
  });

  it('signs a cashier in with the right PIN', async () => {
    await client.signIn('mum.cashier');
    const status = await client.call('GET', '/api/status');
    expect(status.body.staff).toMatchObject({ username: 'mum.cashier', role: 'cashier' });
    expect(status.body.showroomCode).toBe('MUM-01');
    expect(status.body.link).toBe('online');
  });
});

describe('members, sales and scans', () => {
  const mobile = freshMobile();

  it('enrols only with SMS consent answered, and finds the member by last digits', async () => {
    const unanswered = await client.call('POST', '/api/members', {
      mobile,
      name: 'Kavita Nair',
    });
    expect(unanswered.status).toBe(422);
    expect(unanswered.body.message).toContain('smsConsent');
    expect(counter.core.findByMobile(mobile)).toBeUndefined();

    const enrolled = await client.call('POST', '/api/members', {
      mobile: mobile.slice(3),
      name: 'Kavita Nair',
      birthday: '1991-07-04',
      smsConsent: true,
    });
    expect(enrolled.status).toBe(201);
    expect(enrolled.body.member).toMatchObject({ name: 'Kavita Nair', mobile });
    expect(enrolled.body.member.maskedMobile).not.toContain(mobile.slice(5, 9));
    const found = await client.call('GET', `/api/members?q=${mobile.slice(-6)}`);
    expect(found.body.members.map((m: { mobile: string }) => m.mobile)).toContain(mobile);
    await waitFor('central to confirm the enrolment', async () => {
      const m = await client.call('GET', `/api/members/${encodeURIComponent(mobile)}`);
      return m.body.isPending === false;
    });
  });

  it('previews the points as the rules compute them and records the sale once', async () => {
    const lines = [
      { sku: PRODUCTS[2].sku, categoryCode: 'BOOK', quantity: 1, amountPaise: 200_000 },
      { sku: 'MISC', categoryCode: 'ELEC', quantity: 2, amountPaise: 150_050 },
    ];
    const preview = await client.call('POST', '/api/sales/preview', { lines });
    // Books 5 per ₹100 on ₹2,000 = 100; electrical 2 per ₹100 on ₹1,500.50 = 30.
    expect(preview.body).toEqual({ points: 130, linePoints: [100, 30], billAmountPaise: 350_050 });
    const next = await client.call('GET', '/api/sales/next-bill');
    expect(next.body.billNumber).toMatch(/^MUM01-[A-Z0-9]{1,4}-\d{6}-0001$/);
    const before = await centralBalance(c, mobile);
    const sale = await client.call('POST', '/api/sales', {
      billNumber: next.body.billNumber,
      mobile,
      lines,
    });
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    expect(sale.body).toMatchObject({ pendingPoints: 130, delivery: 'applied' });
    expect(sale.body.member.balance).toBe(before + 130);
    expect(sale.body.nextBillNumber).toMatch(/-0002$/);
    // The slip went to the printer, with the points and the masked mobile.
    expect(sale.body.print).toMatchObject({ ok: true, kind: 'sale-slip' });
    const [slip] = await printer.waitForDocuments(1);
    const text = textLines(decodeEscPos(slip ?? Buffer.alloc(0), 'epson')).join('\n');
    expect(text).toContain(next.body.billNumber);
    expect(text).toMatch(/Points earned\s+\+130/);
    expect(text).toContain(mobile.slice(-3));
    expect(text).not.toContain(mobile.slice(3));
    // The same bill again (a double click, a retry) does not earn twice.
    const again = await client.call('POST', '/api/sales', {
      billNumber: next.body.billNumber,
      mobile,
      lines,
      shouldPrint: false,
    });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ key: sale.body.key, delivery: 'applied' });
    expect(await centralBalance(c, mobile)).toBe(before + 130);
    // Another sale under a taken bill number is refused at the counter, before central.
    const pending = counter.core.status().pending;
    const clash = await client.call('POST', '/api/sales', {
      billNumber: next.body.billNumber,
      mobile,
      lines: [lines[0]],
    });
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('bill-taken');
    expect(counter.core.status()).toMatchObject({ pending, refused: 0 });
  });

  it('refuses a sale with an unknown category, naming it, and queues nothing', async () => {
    const pending = counter.core.status().pending;
    const answer = await client.call('POST', '/api/sales', {
      billNumber: 'BAD-1',
      mobile,
      lines: [{ sku: 'X', categoryCode: 'TOYS', quantity: 1, amountPaise: 100 }],
    });
    expect(answer.status).toBe(422);
    expect(answer.body.message).toContain('TOYS');
    expect(counter.core.status().pending).toBe(pending);
  });

  it('resolves scans: product barcode, member card, mobile, and garbage', async () => {
    const product = await client.call('POST', '/api/scans', { text: PRODUCTS[0].sku });
    expect(product.body).toMatchObject({
      kind: 'product',
      product: { sku: PRODUCTS[0].sku, categoryCode: 'ELEC' },
    });
    const member = counter.core.findByMobile(mobile);
    const id = member?.id ?? 0;
    const card = await client.call('POST', '/api/scans', {
      text: formatMemberCardQr({ id, mobileE164: mobile }),
    });
    expect(card.body).toMatchObject({ kind: 'member', member: { mobile } });
    const forged = await client.call('POST', '/api/scans', { text: `SLM1:${id}:0000` });
    expect(forged.body.kind).toBe('unknown');
    const byMobile = await client.call('POST', '/api/scans', { text: mobile.slice(3) });
    expect(byMobile.body).toMatchObject({ kind: 'member', member: { mobile } });
    const garbage = await client.call('POST', '/api/scans', { text: '4006381333931' });
    expect(garbage.body.kind).toBe('unknown');
    expect(garbage.body.message).toContain('not in the catalogue');
  });

  it.skipIf(needsSocat)('turns a serial scan into a resolved scan event', async () => {
    if (!serial) throw new Error('no serial pair');
    const events = await client.openEvents();
    try {
      await waitFor('the serial scanner to connect', async () => {
        const status = await client.call('GET', '/api/status');
        return status.body.scanners[0]?.state === 'connected';
      });
      const writer = await openWriter(serial.pathB);
      await writeBytes(writer, `${PRODUCTS[1].sku}\r`);
      const event = await events.next('scan');
      expect(event.result).toMatchObject({ kind: 'product', product: { sku: PRODUCTS[1].sku } });
      expect(event.source).toContain('serial:');
      await closeWriter(writer);
    } finally {
      events.close();
    }
  });

  it('redeems with the OTP from the SMS, then prints the ledger for a manager only', async () => {
    const quote = await client.call('POST', '/api/redemptions/quote', {
      mobile,
      billNumber: 'RED-1',
      billAmountPaise: 100_000,
    });
    expect(quote.status, JSON.stringify(quote.body)).toBe(200);
    expect(quote.body.allowed).toBe(true);
    const requested = await client.call('POST', '/api/redemptions', {
      mobile,
      billNumber: 'RED-1',
      billAmountPaise: 100_000,
      points: 100,
    });
    expect(requested.status, JSON.stringify(requested.body)).toBe(201);
    const wrong = await client.call('POST', `/api/redemptions/${requested.body.id}/confirm`, {
      otp: '000000',
    });
    expect(wrong.status).toBeGreaterThanOrEqual(400);
    const otp = await readOtp(c, mobile);
    const before = await centralBalance(c, mobile);
    const confirmed = await client.call('POST', `/api/redemptions/${requested.body.id}/confirm`, {
      otp,
    });
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body.status).toBe('confirmed');
    expect(await centralBalance(c, mobile)).toBe(before - 100);

    const today = new Date().toISOString().slice(0, 10);
    const ledger = await client.call(
      'GET',
      `/api/members/${encodeURIComponent(mobile)}/ledger?from=2026-01-01&to=${today}`,
    );
    expect(ledger.status, JSON.stringify(ledger.body)).toBe(200);
    expect(ledger.body.entries.map((e: { kind: string }) => e.kind)).toEqual(['earn', 'redeem']);
    expect(ledger.body.closingBalance).toBe(before - 100);

    const asCashier = await client.call('POST', '/api/print/ledger', {
      mobile,
      from: '2026-01-01',
      to: today,
    });
    expect(asCashier.status).toBe(403);
    // Another showroom's cashier cannot sign in here at all.
    const visitor = await client.call('POST', '/api/session', {
      username: 'del.cashier',
      pin: '1111',
    });
    expect(visitor.status).toBe(401);
    const printed = printer.documents().length;
    const managerClient = new CounterClient(counter.url, counter.token);
    await managerClient.signIn('mum.manager');
    const asManager = await managerClient.call('POST', '/api/print/ledger', {
      mobile,
      from: '2026-01-01',
      to: today,
    });
    expect(asManager.body).toMatchObject({ ok: true, kind: 'ledger-statement' });
    const docs = await printer.waitForDocuments(printed + 1);
    const text = textLines(decodeEscPos(docs.at(-1) ?? Buffer.alloc(0), 'epson')).join('\n');
    expect(text).toContain('POINTS STATEMENT');
    expect(text).toContain('Priya Sharma');
  });
});

describe('the POS integration API', () => {
  const mobile = freshMobile();
  const pos = (method: string, p: string, body?: unknown) =>
    new CounterClient(counter.url, counter.token).call(method, `/pos/v1${p}`, body);

  beforeAll(async () => {
    await client.call('POST', '/api/members', { mobile, name: 'Arjun Rao', smsConsent: false });
    await waitFor('central to confirm the POS member', () => {
      return counter.core.findByMobile(mobile)?.id !== null;
    });
  });

  it('publishes an OpenAPI 3.1 document of every operation', async () => {
    const doc = await fetch(`${counter.url}pos/v1/openapi.json`);
    expect(doc.status).toBe(200);
    const body = (await doc.json()) as { openapi: string; paths: Record<string, object> };
    expect(body.openapi).toBe('3.1.0');
    expect(Object.keys(body.paths).sort()).toEqual([
      '/pos/v1/bills',
      '/pos/v1/bills/quote',
      '/pos/v1/members/{mobile}',
      '/pos/v1/redemptions',
      '/pos/v1/redemptions/{id}',
      '/pos/v1/redemptions/{id}/cancel',
      '/pos/v1/redemptions/{id}/confirm',
      '/pos/v1/redemptions/{id}/resend',
    ]);
  });

  it('quotes a bill with categories from the catalogue, and records it once', async () => {
    const bill = {
      billNumber: 'POS-7781',
      mobile: mobile.slice(3),
      lines: [
        { sku: PRODUCTS[1].sku, amountPaise: 1_500_000 },
        { sku: 'CABLE-2M', categoryCode: 'ELTR', quantity: 3, amountPaise: 90_000 },
      ],
    };
    const quote = await pos('POST', '/bills/quote', bill);
    expect(quote.status, JSON.stringify(quote.body)).toBe(200);
    // Appliances 1 per ₹100 on ₹15,000 = 150; electronics 1 per ₹100 on ₹900 = 9.
    expect(quote.body).toMatchObject({
      points: 159,
      linePoints: [150, 9],
      billAmountPaise: 1_590_000,
      member: { mobile, name: 'Arjun Rao' },
    });
    // A new member with no points may redeem nothing; the quote says so.
    expect(quote.body.redeemable).toMatchObject({ allowed: false, balance: 0 });

    const before = await centralBalance(c, mobile);
    const recorded = await pos('POST', '/bills', { ...bill, printSlip: false });
    expect(recorded.status, JSON.stringify(recorded.body)).toBe(201);
    expect(recorded.body).toMatchObject({ points: 159, delivery: 'applied', print: null });
    const repeat = await pos('POST', '/bills', { ...bill, printSlip: false });
    expect(repeat.status).toBe(201);
    expect(repeat.body.key).toBe(recorded.body.key);
    await waitFor('central to hold the POS sale', async () => {
      return (await centralBalance(c, mobile)) === before + 159;
    });
    const member = await pos('GET', `/members/${encodeURIComponent(mobile)}`);
    expect(member.body.balance).toBe(before + 159);
  });

  it('refuses bad bills with the field named, writing nothing', async () => {
    const pending = counter.core.status().pending;
    const noCategory = await pos('POST', '/bills', {
      billNumber: 'POS-BAD-1',
      mobile,
      lines: [{ sku: 'NOT-IN-CATALOGUE', amountPaise: 1000 }],
    });
    expect(noCategory.status).toBe(422);
    expect(noCategory.body.message).toContain('lines.0.categoryCode');
    const floatAmount = await pos('POST', '/bills', {
      billNumber: 'POS-BAD-2',
      mobile,
      lines: [{ sku: PRODUCTS[0].sku, amountPaise: 10.5 }],
    });
    expect(floatAmount.status).toBe(422);
    expect(floatAmount.body.message).toContain('amountPaise');
    const badJson = await fetch(`${counter.url}pos/v1/bills`, {
      method: 'POST',
      headers: { authorization: `Bearer ${counter.token}`, 'content-type': 'application/json' },
      body: '{"billNumber": ',
    });
    expect(badJson.status).toBe(400);
    const unknownMember = await pos('POST', '/bills', {
      billNumber: 'POS-BAD-3',
      mobile: '9000000001',
      lines: [{ sku: PRODUCTS[0].sku, amountPaise: 1000 }],
    });
    expect(unknownMember.status).toBe(404);
    expect(counter.core.status().pending).toBe(pending);
  });

  it('redeems through the same OTP flow', async () => {
    const requested = await pos('POST', '/redemptions', {
      billNumber: 'POS-7782',
      mobile,
      billAmountPaise: 200_000,
      points: 100,
    });
    expect(requested.status, JSON.stringify(requested.body)).toBe(201);
    const otp = await readOtp(c, mobile);
    const confirmed = await pos('POST', `/redemptions/${requested.body.id}/confirm`, { otp });
    expect(confirmed.body).toMatchObject({ status: 'confirmed', points: 100 });
    const status = await pos('GET', `/redemptions/${requested.body.id}`);
    expect(status.body.status).toBe('confirmed');
    const cancelled = await pos('POST', `/redemptions/${requested.body.id}/cancel`, {
      reason: 'customer changed mind',
    });
    expect(cancelled.body.status).toBe('cancelled');
  });
});

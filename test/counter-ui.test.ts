import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { readDevMessages } from '../central/sms/providers/dev.ts';
import { DEMO_LOGINS, DEMO_PRODUCTS } from '../central/demo/seed.ts';
import { formatMemberCardQr } from '../terminal/devices/member-card.ts';
import { UI_DIST } from '../terminal/server/app.ts';
import {
  ROOT,
  DEMO_ADMIN,
  login,
  spawnCentral,
  spawnCentralOnFreePort,
  spawnLineChild,
  type CentralProcess,
  type LineChild,
} from './support/processes.ts';
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
import { stopStoryAtFirstFailure } from './support/story.ts';
import { waitFor } from './support/terminal.ts';
import { scanAsWedge } from './support/wedge-scanner.ts';

// The counter as a cashier and a manager use it: headless Chromium on the counter's own screens,
// a real central process (killed and restarted for the offline sale), two terminal core
// processes in two showrooms, a recording network printer and a serial scanner on a socat pair.
// Screenshots of each main screen go to test-results/counter-ui/.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const missing = [
  fs.existsSync(CHROMIUM) ? undefined : `Chromium (${CHROMIUM}; apt-get install chromium)`,
  hasSocat() ? undefined : 'socat (apt-get install socat)',
  fs.existsSync(path.join(UI_DIST, 'index.html')) ? undefined : 'the built UI (npm run build:ui)',
].filter((m) => m !== undefined);
if (missing.length > 0) {
  if (process.env.CI === 'true') throw new Error(`The browser tests need ${missing.join(', ')}.`);
  console.warn(`skipping the counter browser tests: missing ${missing.join(', ')}`);
}

const SHOTS = path.join(ROOT, 'test-results', 'counter-ui');
const PIN = Object.fromEntries(DEMO_LOGINS.map((l) => [l.username, l.pin]));
const BOOK = DEMO_PRODUCTS.find((p) => p.categoryCode === 'BOOK');
// Central's demo rates: books earn 5 points per ₹100; a point is worth ₹1 off a bill.
const MOBILE10 = `98${String(process.pid % 100_000).padStart(5, '0')}123`;
const MOBILE = `+91${MOBILE10}`;

interface Counter {
  child: LineChild;
  uiUrl: string;
  dataDir: string;
}

let tmp: string;
let centralDir: string;
let central: CentralProcess;
let adminToken: string;
let printer: PrinterServer;
let serial: SerialPair;
let mum: Counter;
let del: Counter;
let browser: Browser;
let page: Page;
let page2: Page;

async function startCounter(showroomCode: string, extra: string[]): Promise<Counter> {
  const dataDir = path.join(tmp, `counter-${showroomCode}`);
  const issued = await fetch(`${central.url}/api/terminals/pairing-codes`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ showroomCode }),
  });
  const { code } = (await issued.json()) as { code: string };
  const pair = spawnLineChild(
    'terminal/main.ts',
    ['pair', '--central', central.url, '--code', code],
    { TERMINAL_DATA_DIR: dataDir },
  );
  expect((await pair.closed).code, pair.stderr()).toBe(0);
  const child = spawnLineChild('terminal/main.ts', ['serve', '--port', '0', ...extra], {
    TERMINAL_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
  });
  const ready = JSON.parse(await child.waitForLine((l) => l.includes('counter:ready'), 30_000));
  return { child, uiUrl: ready.uiUrl, dataDir };
}

async function shot(p: Page, name: string): Promise<void> {
  await p.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });
}

async function signIn(p: Page, username: string): Promise<void> {
  await p.getByTestId(`signin-staff-${username}`).click();
  await p.getByTestId('signin-pin').fill(PIN[username] ?? '');
  await p.keyboard.press('Enter');
  await p.getByTestId('lookup-input').waitFor();
}

/** Types like a person: a gap between keys that no scanner would leave. */
async function typeByHand(p: Page, text: string): Promise<void> {
  await p.keyboard.type(text, { delay: 60 });
}

/** Finds a member by typing (part of) the mobile at the lookup, and opens the first match. */
async function openMember(p: Page, typed: string): Promise<void> {
  await p.getByTestId('lookup-input').focus();
  await typeByHand(p, typed);
  await p.getByTestId('lookup-suggestion-0').waitFor();
  await p.keyboard.press('Enter');
  await p.getByTestId('member-name').waitFor();
}

/** The member as central holds them (the truth the counters must agree with). */
async function centralMember(): Promise<{ id: number; balance: number }> {
  const response = await fetch(`${central.url}/api/members?mobile=${encodeURIComponent(MOBILE)}`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  if (response.status !== 200) return { id: 0, balance: NaN };
  return (await response.json()) as { id: number; balance: number };
}

async function centralBalance(): Promise<number> {
  return (await centralMember()).balance;
}

function latestOtp(nth: number): string | undefined {
  const file = path.join(centralDir, 'sms-outbox.log');
  const otps = readDevMessages(file).filter((m) => m.to === MOBILE && m.kind === 'otp');
  return /(\d{6})/.exec(otps[nth - 1]?.text ?? '')?.[1];
}

async function printedText(count: number): Promise<string> {
  const docs = await printer.waitForDocuments(count, 10_000);
  return textLines(decodeEscPos(docs[count - 1] ?? Buffer.alloc(0), 'epson')).join('\n');
}

async function points(p: Page, testId: string): Promise<number> {
  return Number(await p.getByTestId(testId).getAttribute('data-points'));
}

describe.skipIf(missing.length > 0)('the counter in a browser', () => {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-ui-'));
    fs.mkdirSync(SHOTS, { recursive: true });
    centralDir = path.join(tmp, 'central');
    central = await spawnCentralOnFreePort({ DATA_DIR: centralDir, DEMO_SEED: 'always' });
    adminToken = await login(central.url, DEMO_ADMIN.username, DEMO_ADMIN.password);
    printer = await PrinterServer.start();
    serial = await startSerialPair(tmp);
    mum = await startCounter('MUM-01', [
      '--printer',
      printer.address,
      '--scanner',
      `serial:${serial.pathA}`,
    ]);
    del = await startCounter('DEL-01', []);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    page = await context.newPage();
    page2 = await context.newPage();
  }, 120_000);

  // One story on one page: each step starts where the last left the counter and the balances.
  stopStoryAtFirstFailure();

  afterAll(async () => {
    await browser.close();
    await mum.child.kill();
    await del.child.kill();
    await central.kill();
    await serial.stop();
    await printer.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('signs a cashier in with a PIN; a wrong PIN is refused', async () => {
    await page.goto(mum.uiUrl);
    // The token leaves the address bar once read.
    expect(page.url()).not.toContain('token=');
    await page.getByTestId('signin-staff-mum.cashier').waitFor();
    await shot(page, '01-sign-in');
    await page.getByTestId('signin-staff-mum.cashier').click();
    await page.getByTestId('signin-pin').fill('0000');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('signin-error').textContent()).toContain('Wrong');
    await page.getByTestId('signin-pin').fill(PIN['mum.cashier'] ?? '');
    await page.keyboard.press('Enter');
    await page.getByTestId('lookup-input').waitFor();
    await expect
      .poll(() => page.getByTestId('status-link').getAttribute('data-link'))
      .toBe('online');
    expect(await page.getByTestId('status-staff').textContent()).toContain('Rahul Verma');
  }, 30_000);

  it('offers enrolment for an unknown mobile and records SMS consent as answered', async () => {
    await page.getByTestId('lookup-input').focus();
    await typeByHand(page, MOBILE10);
    await page.getByTestId('lookup-not-member').waitFor();
    await shot(page, '02-lookup-not-found');
    await page.keyboard.press('F2');
    expect(await page.getByTestId('enrol-mobile').inputValue()).toContain(MOBILE10);
    await page.getByTestId('enrol-name').fill('Kavita Nair');
    await page.getByTestId('enrol-birthday').fill('04/07/1991');
    // Consent is a question with no default: submitting without an answer is refused.
    await page.getByTestId('enrol-submit').click();
    await page.getByTestId('enrol-consent-error').waitFor();
    await page.getByTestId('enrol-consent-yes').check();
    await shot(page, '03-enrolment');
    await page.getByTestId('enrol-submit').click();
    await page.getByTestId('member-name').waitFor();
    expect(await page.getByTestId('member-name').textContent()).toBe('Kavita Nair');
    expect(await page.getByTestId('member-mobile').textContent()).not.toContain(MOBILE10);
  }, 30_000);

  it('sells by scan and by category, shows the points as lines change, and prints the slip', async () => {
    if (!BOOK) throw new Error('the demo catalogue has no book');
    await page.keyboard.press('F4');
    await page.getByTestId('sale-bill-number').waitFor();
    const billNumber = await page.getByTestId('sale-bill-number').inputValue();
    expect(billNumber).toMatch(/^MUM01-/);
    const scanStarted = Date.now();
    await scanAsWedge(page, BOOK.sku);
    await page.getByTestId('sale-line-0').waitFor();
    expect(Date.now() - scanStarted).toBeLessThan(5_000);
    // Focus is on the new line's amount: ₹4,000 of books = 200 points.
    await page.keyboard.type('4000');
    await page.keyboard.press('Tab');
    await expect.poll(() => points(page, 'sale-points-preview')).toBe(200);
    // A line by category and amount: ₹1,000 of electronics = 10 points.
    await page.getByTestId('sale-add-category').selectOption('ELTR');
    await page.getByTestId('sale-add-amount').fill('1000');
    await page.getByTestId('sale-add-submit').click();
    await page.getByTestId('sale-line-1').waitFor();
    await expect.poll(() => points(page, 'sale-points-preview')).toBe(210);
    expect(await page.getByTestId('sale-bill-total').getAttribute('data-paise')).toBe('500000');
    expect(await page.getByTestId('sale-bill-total').textContent()).toContain('₹5,000.00');
    await shot(page, '04-sale');
    await page.keyboard.press('F9');
    await page.getByTestId('sale-result').waitFor();
    expect(await points(page, 'sale-result-points')).toBe(210);
    await expect
      .poll(() => page.getByTestId('sale-result-print').getAttribute('data-ok'))
      .toBe('true');
    await shot(page, '05-sale-done');
    const slip = await printedText(1);
    expect(slip).toContain(billNumber);
    expect(slip).toMatch(/Points earned\s+\+210/);
    expect(slip).not.toContain(MOBILE10);
    await waitFor('central to hold the sale', async () => (await centralBalance()) === 210);
  }, 60_000);

  it('shows the new balance at another showroom’s counter', async () => {
    await page2.goto(del.uiUrl);
    await signIn(page2, 'del.cashier');
    await page2.getByTestId('lookup-input').focus();
    await typeByHand(page2, MOBILE10.slice(-6));
    await page2.getByTestId('lookup-suggestion-0').waitFor();
    expect(await page2.getByTestId('lookup-suggestion-0').getAttribute('data-mobile')).toBe(MOBILE);
    await page2.keyboard.press('Enter');
    await expect.poll(() => points(page2, 'member-balance'), { timeout: 10_000 }).toBe(210);
    await shot(page2, '06-member-at-second-counter');
  }, 30_000);

  it('opens the member from a card scanned on the serial scanner and redeems with the OTP', async () => {
    await page.keyboard.press('Enter'); // next customer
    await page.getByTestId('lookup-input').waitFor();
    const { id } = await centralMember();
    const writer = await openWriter(serial.pathB);
    await writeBytes(writer, `${formatMemberCardQr({ id, mobileE164: MOBILE })}\r`);
    await closeWriter(writer);
    await page.getByTestId('member-name').waitFor();
    expect(await points(page, 'member-balance')).toBe(210);
    await shot(page, '07-member-panel');

    await page.keyboard.press('F4');
    await page.getByTestId('sale-add-category').selectOption('BOOK');
    await page.getByTestId('sale-add-amount').fill('2000');
    await page.getByTestId('sale-add-submit').click();
    await expect.poll(() => points(page, 'sale-points-preview')).toBe(100);
    await page.keyboard.press('F8');
    await page.getByTestId('redeem-max-points').waitFor();
    // The balance is 210; half of a ₹2,000 bill is 1,000 points: the balance is the limit.
    expect(await points(page, 'redeem-max-points')).toBe(210);
    await page.getByTestId('redeem-points').fill('150');
    await page.getByTestId('redeem-send-otp').click();
    await page.getByTestId('redeem-otp').waitFor();
    await expect
      .poll(() => page.getByTestId('redeem-sms-state').getAttribute('data-state'), {
        timeout: 10_000,
      })
      .toBe('sent');
    await shot(page, '08-redemption-otp');
    await waitFor('the OTP SMS', () => latestOtp(1) !== undefined);
    await page.getByTestId('redeem-otp').fill('000000');
    await page.keyboard.press('Enter');
    await page.getByTestId('redeem-message').waitFor();
    await page.getByTestId('redeem-otp').fill(latestOtp(1) ?? '');
    await page.keyboard.press('Enter');
    await page.getByTestId('redeem-confirmed').waitFor();
    expect(await page.getByTestId('sale-redeemed').getAttribute('data-paise')).toBe('15000');
    expect(await page.getByTestId('sale-payable').getAttribute('data-paise')).toBe('185000');
    await shot(page, '09-redemption-confirmed');
    await page.keyboard.press('F9');
    await page.getByTestId('sale-result').waitFor();
    const slip = await printedText(2);
    expect(slip).toMatch(/Points redeemed\s+-150/);
    expect(slip).toMatch(/Discount on bill\s+Rs\.?\s?150\.00|₹150\.00/);
    await waitFor('central to hold the redemption and sale', async () => {
      return (await centralBalance()) === 210 - 150 + 100;
    });
  }, 60_000);

  it('lets a manager, not a cashier, print the ledger; the printed statement matches', async () => {
    await page.keyboard.press('Enter');
    await openMember(page, MOBILE10);
    await page.keyboard.press('F6');
    await page.getByTestId('ledger-table').waitFor();
    expect(await page.getByTestId('ledger-print').isDisabled()).toBe(true);
    await page.getByTestId('ledger-manager-only').waitFor();

    await page.keyboard.press('Alt+S');
    await signIn(page, 'mum.manager');
    await openMember(page, MOBILE10);
    await page.keyboard.press('F6');
    await page.getByTestId('ledger-row-2').waitFor();
    expect(await points(page, 'ledger-opening')).toBe(0);
    expect(await points(page, 'ledger-closing')).toBe(160);
    await shot(page, '10-ledger');
    await page.keyboard.press('F10');
    const statement = await printedText(3);
    expect(statement).toContain('POINTS STATEMENT');
    expect(statement).toContain('Priya Sharma');
    const rows = statement.split('\n').filter((l) => /^\d\d-\d\d-\d{4} +(Earn|Redeem)/.test(l));
    expect(
      rows.map((r) => r.trim().split(/\s+/).at(-1)),
      statement,
    ).toEqual(['210', '60', '160']);
  }, 60_000);

  it('keeps selling when central is down, says redemption needs it, and catches up', async () => {
    await page.keyboard.press('Escape');
    await central.kill();
    await expect
      .poll(() => page.getByTestId('status-link').getAttribute('data-link'), { timeout: 15_000 })
      .not.toBe('online');
    await page.keyboard.press('F4');
    await page.getByTestId('sale-add-category').selectOption('BOOK');
    await page.getByTestId('sale-add-amount').fill('1000');
    await page.getByTestId('sale-add-submit').click();
    await expect.poll(() => points(page, 'sale-points-preview')).toBe(50);
    await page.getByTestId('sale-redeem-unavailable').waitFor();
    expect(await page.getByTestId('sale-redeem-unavailable').getAttribute('data-reason')).toBe(
      'offline',
    );
    await shot(page, '11-offline-sale');
    await page.keyboard.press('F9');
    await page.getByTestId('sale-result-pending-note').waitFor();
    await expect
      .poll(() => page.getByTestId('status-pending').getAttribute('data-count'))
      .toBe('1');
    await shot(page, '12-offline-done');

    central = await spawnCentral(central.port, { DATA_DIR: centralDir, DEMO_SEED: 'never' });
    await expect
      .poll(() => page.getByTestId('status-link').getAttribute('data-link'), { timeout: 20_000 })
      .toBe('online');
    await expect
      .poll(() => page.getByTestId('status-pending').getAttribute('data-count'), {
        timeout: 10_000,
      })
      .toBe('0');
    adminToken = await login(central.url, DEMO_ADMIN.username, DEMO_ADMIN.password);
    expect(await centralBalance()).toBe(160 + 50);
  }, 60_000);

  it('switches to Hindi and shows rupees the Indian way', async () => {
    await page.keyboard.press('Enter');
    await openMember(page, MOBILE10);
    await page.keyboard.press('Alt+L');
    await expect.poll(() => page.getByTestId('member-new-sale').textContent()).toMatch(/[ऀ-ॿ]/);
    expect(await page.getByTestId('member-balance-value').textContent()).toContain('₹210.00');
    await shot(page, '13-member-hindi');
  }, 30_000);
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { readDevMessages } from '../central/sms/providers/dev.ts';
import {
  ROOT,
  killAllChildren,
  login,
  spawnCentralOnFreePort,
  spawnLineChild,
  type CentralProcess,
} from './support/processes.ts';
import { stopStoryAtFirstFailure } from './support/story.ts';
import { waitFor } from './support/terminal.ts';
import { CounterClient } from './support/counter.ts';

// The head office console as an admin and a manager use it: headless Chromium on the console's
// pages, served by one central process on a new SQLite database (no demo data). The admin is
// made with the setup code, sets the chain up in the console, pairs a real terminal core
// process, whose sales the dashboard shows live; member work and the five reports are checked
// against the ledger read over the API. Screenshots go to test-results/console-ui/.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CONSOLE_DIST = path.join(ROOT, 'central', 'admin-ui', 'dist', 'index.html');
const missing = [
  fs.existsSync(CHROMIUM) ? undefined : `Chromium (${CHROMIUM}; apt-get install chromium)`,
  fs.existsSync(CONSOLE_DIST) ? undefined : 'the built console (npm run build:ui)',
].filter((m) => m !== undefined);
if (missing.length > 0) {
  if (process.env.CI === 'true')
    throw new Error(`The console browser tests need ${missing.join(', ')}.`);
  console.warn(`skipping the console browser tests: missing ${missing.join(', ')}`);
}

const SHOTS = path.join(ROOT, 'test-results', 'console-ui');
const ADMIN = { username: 'owner', name: 'Meera Iyer', password: 'first-admin-2026' };
const MANAGER = { username: 'pun.manager', name: 'Sanjay Kulkarni', password: 'manager-pass-2026' };
const CASHIER = { username: 'pun.cashier', name: 'Priya Joshi', pin: '2580' };
const SHOWROOM = 'PUN-01';
const CATEGORY = 'WTCH';
const RATE = 4; // points per ₹100
const SUFFIX = String(process.pid % 10_000).padStart(4, '0');
const MOBILE_A = `+9197${SUFFIX}1357`;
const MOBILE_B = `+9196${SUFFIX}2468`;
const TIME_ZONE = 'Asia/Kolkata';
const ADJUST = 25;

let tmp: string;
let dataDir: string;
let central: CentralProcess;
let token: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let counter: CounterClient;
let memberA: number;
let memberB: number;

function today(): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE }).format(new Date());
}

async function shot(p: Page, name: string): Promise<void> {
  await p.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: false });
}

async function value(p: Page, testId: string): Promise<number> {
  return Number(await p.getByTestId(testId).first().getAttribute('data-value'));
}

// any: the admin API's bodies, read field by field; each test asserts the fields it uses.
async function api(pathname: string): Promise<any> {
  const response = await fetch(central.url + pathname, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status, `${pathname}: ${await response.clone().text()}`).toBe(200);
  return response.json();
}

async function ledger(memberId: number): Promise<{ id: number; kind: string; points: number }[]> {
  // Everything happened in this run: a range from a month ago to tomorrow holds it all.
  const day = (offset: number) =>
    new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const statement = await api(`/api/members/${memberId}/ledger?from=${day(-30)}&to=${day(1)}`);
  expect(statement.openingBalance).toBe(0);
  return statement.entries;
}

const sum = (entries: { points: number }[]): number => entries.reduce((s, e) => s + e.points, 0);

async function enrol(mobile: string, name: string): Promise<void> {
  const enrolled = await counter.call('POST', '/api/members', { mobile, name, smsConsent: true });
  expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(201);
  await waitFor('central to confirm the enrolment', async () => {
    const m = await counter.call('GET', `/api/members/${encodeURIComponent(mobile)}`);
    return m.body.isPending === false;
  });
}

async function sell(mobile: string, amountPaise: number): Promise<number> {
  const next = await counter.call('GET', '/api/sales/next-bill');
  const sale = await counter.call('POST', '/api/sales', {
    billNumber: next.body.billNumber,
    mobile,
    lines: [{ sku: 'MISC', categoryCode: CATEGORY, quantity: 1, amountPaise }],
    shouldPrint: false,
  });
  expect(sale.status, JSON.stringify(sale.body)).toBe(201);
  expect(sale.body.delivery).toBe('applied');
  return sale.body.pendingPoints as number;
}

async function memberId(mobile: string): Promise<number> {
  return (await api(`/api/members?mobile=${encodeURIComponent(mobile)}`)).id as number;
}

describe.skipIf(missing.length > 0)('the head office console in a browser', () => {
  // One story on one page: each step starts where the last left the console and the chain.
  stopStoryAtFirstFailure();

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-console-'));
    fs.mkdirSync(SHOTS, { recursive: true });
    dataDir = path.join(tmp, 'central');
    central = await spawnCentralOnFreePort({ DATA_DIR: dataDir, DEMO_SEED: 'never' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser.close();
    await killAllChildren();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('creates the first admin with the setup code and signs in', async () => {
    const setupCode = fs.readFileSync(path.join(dataDir, 'setup-code'), 'utf8').trim();
    // A new chain: the console asks for central's setup code and makes the first admin.
    await page.goto(`${central.url}/console/`);
    await page.getByTestId('setup-form').waitFor();
    await page.getByTestId('setup-setupCode').fill('WRONG-CODE-1');
    await page.getByTestId('setup-username').fill(ADMIN.username);
    await page.getByTestId('setup-name').fill(ADMIN.name);
    await page.getByTestId('setup-password').fill(ADMIN.password);
    await page.getByTestId('setup-submit').click();
    await page.getByTestId('setup-setupCode-error').waitFor();
    await shot(page, '00-setup-wrong-code');
    await page.getByTestId('setup-setupCode').fill(setupCode);
    await page.getByTestId('setup-submit').click();
    await page.getByTestId('dashboard-title').waitFor();
    expect(await page.getByTestId('header-role').getAttribute('data-role')).toBe('admin');
    // Signing out and in again goes through the sign-in page, no longer the setup.
    await page.getByTestId('sign-out').click();
    await page.getByTestId('signin-form').waitFor();
    token = await login(central.url, ADMIN.username, ADMIN.password);
    await page.getByTestId('signin-username').fill(ADMIN.username);
    await page.getByTestId('signin-password').fill(ADMIN.password);
    await shot(page, '01-sign-in');
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('dashboard-title').waitFor();
    expect(await page.getByTestId('header-role').getAttribute('data-role')).toBe('admin');
    await shot(page, '02-dashboard-empty');
  }, 30_000);

  it('sets the chain up in the console pages', async () => {
    await page.getByTestId('nav-showrooms').click();
    await page.getByTestId('showrooms-title').waitFor();
    await page.getByTestId('showroom-add').click();
    await page.getByTestId('showroom-code').fill(SHOWROOM);
    await page.getByTestId('showroom-name').fill('Pune FC Road');
    await page.getByTestId('showroom-city').fill('Pune');
    await page.getByTestId('showroom-save').click();
    await page.getByTestId(`showroom-row-${SHOWROOM}`).waitFor();
    await shot(page, '03-showrooms');

    await page.getByTestId('nav-categories').click();
    await page.getByTestId('categories-title').waitFor();
    await page.getByTestId('category-add').click();
    await page.getByTestId('category-code').fill(CATEGORY);
    await page.getByTestId('category-name').fill('Watches');
    await page.getByTestId('category-rate-input').fill(String(RATE));
    await page.getByTestId('category-save').click();
    const row = page.getByTestId(`category-row-${CATEGORY}`);
    await row.waitFor();
    await expect
      .poll(() => row.getByTestId('category-rate').getAttribute('data-value'))
      .toBe(String(RATE));
    await shot(page, '04-categories');

    await page.getByTestId('nav-staff').click();
    await page.getByTestId('staff-title').waitFor();
    await page.getByTestId('staff-add').click();
    await page.getByTestId('staff-username').fill(CASHIER.username);
    await page.getByTestId('staff-name').fill(CASHIER.name);
    await page.getByTestId('staff-role-input').selectOption('cashier');
    await page.getByTestId('staff-showroom-input').selectOption(SHOWROOM);
    await page.getByTestId('staff-password').fill('cashier-pass-2026');
    await page.getByTestId('staff-pin-input').fill(CASHIER.pin);
    await page.getByTestId('staff-save').click();
    const staffRow = page.getByTestId(`staff-row-${CASHIER.username}`);
    await staffRow.waitFor();
    expect(await staffRow.getByTestId('staff-has-pin').getAttribute('data-value')).toBe('true');
    expect(await staffRow.getByTestId('staff-showroom').getAttribute('data-value')).toBe(SHOWROOM);
    await shot(page, '05-staff');

    await page.getByTestId('nav-settings').click();
    await page.getByTestId('settings-form').waitFor();
    await page.getByTestId('settings-chainName').fill('Iyer Watch Co');
    await page.getByTestId('settings-save').click();
    await page.getByTestId('settings-saved').waitFor();
    const program = await api('/api/settings/program');
    expect(JSON.stringify(program)).toContain('Iyer Watch Co');
    await shot(page, '06-settings');

    await page.getByTestId('nav-terminals').click();
    await page.getByTestId('terminals-title').waitFor();
    await page.getByTestId('pairing-showroom').selectOption(SHOWROOM);
    await page.getByTestId('pairing-issue').click();
    await page.getByTestId('pairing-code').waitFor();
    const code = await page.getByTestId('pairing-code').getAttribute('data-value');
    expect(code).toBeTruthy();
    await shot(page, '07-terminals-pairing');

    const terminalDir = path.join(tmp, 'terminal');
    const pair = spawnLineChild(
      'terminal/main.ts',
      ['pair', '--central', central.url, '--code', code ?? ''],
      { TERMINAL_DATA_DIR: terminalDir },
    );
    expect((await pair.closed).code, pair.stderr()).toBe(0);
    const child = spawnLineChild('terminal/main.ts', ['serve', '--port', '0'], {
      TERMINAL_DATA_DIR: terminalDir,
      LOG_LEVEL: 'warn',
    });
    const ready = JSON.parse(await child.waitForLine((l) => l.includes('counter:ready'), 30_000));
    counter = new CounterClient(
      ready.url,
      fs.readFileSync(path.join(terminalDir, 'local-token'), 'utf8').trim(),
    );
  }, 60_000);

  it('shows a counter sale on the dashboard live, without a reload', async () => {
    // The cashier and the category reach the counter by sync.
    await waitFor('the counter to know the cashier', async () => {
      const answer = await counter.call('POST', '/api/session', {
        username: CASHIER.username,
        pin: CASHIER.pin,
      });
      if (answer.status === 200) counter.session = answer.body.session;
      return answer.status === 200;
    });
    await enrol(MOBILE_A, 'Ananya Desai');
    await page.getByTestId('nav-dashboard').click();
    await expect
      .poll(() => page.getByTestId('dashboard-live').getAttribute('data-state'))
      .toBe('live');
    const billsBefore = await value(page, 'today-bills');
    const enrolmentsShown = await value(page, 'today-enrolments');
    expect(enrolmentsShown).toBe(1);
    let reloads = 0;
    page.on('load', () => (reloads += 1));
    const points = await sell(MOBILE_A, 250_000); // ₹2,500 at 4 per ₹100 = 100
    expect(points).toBe(100);
    await expect.poll(() => value(page, 'today-bills'), { timeout: 10_000 }).toBe(billsBefore + 1);
    expect(await value(page, 'today-points-earned')).toBe(100);
    expect(reloads).toBe(0);
    await shot(page, '08-dashboard-live');
    memberA = await memberId(MOBILE_A);
  }, 60_000);

  it('finds a member by last digits, adjusts, and merges a second record', async () => {
    await page.getByTestId('nav-members').click();
    await page.getByTestId('members-title').waitFor();
    await page.getByTestId('member-search').fill(MOBILE_A.slice(-4));
    await page.getByTestId('member-result-0').waitFor();
    expect(await page.getByTestId('member-result-0').getAttribute('data-member-id')).toBe(
      String(memberA),
    );
    await shot(page, '09-member-search');
    await page.getByTestId('member-result-link-0').click();
    await page.getByTestId('member-name').waitFor();
    await page.getByTestId('member-action-adjust').click();
    await page.getByTestId('adjust-points').fill(`+${ADJUST}`);
    await page.getByTestId('adjust-reason').fill('Goodwill for a late delivery');
    await page.getByTestId('adjust-submit').click();
    await page.getByTestId('adjust-done').waitFor();
    const entriesA = await ledger(memberA);
    expect(sum(entriesA)).toBe(100 + ADJUST);
    expect(await value(page, 'adjust-balance-after')).toBe(sum(entriesA));
    await page.getByTestId('adjust-close').click();
    await expect.poll(() => value(page, 'member-balance')).toBe(sum(entriesA));
    await shot(page, '10-member-adjusted');

    await enrol(MOBILE_B, 'Ananya D');
    expect(await sell(MOBILE_B, 100_000)).toBe(40);
    memberB = await memberId(MOBILE_B);
    await page.getByTestId('member-action-merge').click();
    await page.getByTestId('merge-search').fill(MOBILE_B.slice(-4));
    await page.getByTestId('merge-candidate-0').click();
    await page.getByTestId('merge-compare').waitFor();
    expect(await page.getByTestId('merge-target').getAttribute('data-member-id')).toBe(
      String(memberA),
    );
    expect(await page.getByTestId('merge-source').getAttribute('data-member-id')).toBe(
      String(memberB),
    );
    expect(await value(page, 'merge-source-balance')).toBe(40);
    await page.getByTestId('merge-reason').fill('Same person, second mobile');
    await shot(page, '11-merge-compare');
    await page.getByTestId('merge-review').click();
    await page.getByTestId('merge-confirm-ok').click();
    await page.getByTestId('merge-confirm-dialog').waitFor({ state: 'hidden' });
    const mergedA = sum(await ledger(memberA));
    expect(mergedA).toBe(100 + ADJUST + 40);
    await expect.poll(() => value(page, 'member-balance')).toBe(mergedA);
    await shot(page, '12-member-merged');
  }, 60_000);

  it('shows the five reports for today, agreeing with the ledger, with CSV downloads', async () => {
    const day = today();
    const query = `from=${day}&to=${day}`;
    const entriesA = await ledger(memberA);
    const entriesB = await ledger(memberB);
    // The survivor's statement also lists the merged record's entries: count each entry once.
    const all = [...new Map([...entriesA, ...entriesB].map((e) => [e.id, e])).values()];
    const earned = sum(all.filter((e) => e.kind === 'earn'));
    expect(earned).toBe(140);
    const balances = (await api(`/api/members/${memberA}/balance`)).balance as number;
    const balanceB = (await api(`/api/members/${memberB}/balance`)).balance as number;

    const open = async (id: string): Promise<void> => {
      await page.goto(`${central.url}/console/reports/${id}?${query}`);
      await page.getByTestId(`report-${id}`).waitFor();
      await page.getByTestId('report-body').waitFor();
      const href = await page.getByTestId('report-csv').getAttribute('href');
      expect(href).toBeTruthy();
      const csv = await context.request.get(new URL(href ?? '', page.url()).toString());
      expect(csv.status()).toBe(200);
      expect(csv.headers()['content-type']).toContain('text/csv');
    };

    await open('sales');
    await expect
      .poll(() =>
        page.getByTestId('report-totals').getByTestId('pointsEarned').getAttribute('data-value'),
      )
      .toBe(String(earned));
    expect(
      await page.getByTestId('report-totals').getByTestId('bills').getAttribute('data-value'),
    ).toBe('2');
    await shot(page, '13-report-sales');

    await open('liability');
    await expect.poll(() => value(page, 'liability-closing')).toBe(balances + balanceB);
    await shot(page, '14-report-liability');

    await open('members');
    await expect.poll(() => value(page, 'members-enrolments')).toBe(2);
    await shot(page, '15-report-members');

    await open('patterns');
    await expect.poll(() => value(page, 'patterns-bills')).toBe(2);
    await shot(page, '16-report-patterns');

    await open('sms');
    const outbox = readDevMessages(path.join(dataDir, 'sms-outbox.log'));
    await expect
      .poll(async () =>
        Number(
          await page.getByTestId('report-totals').getByTestId('total').getAttribute('data-value'),
        ),
      )
      .toBeGreaterThanOrEqual(outbox.length);
    await shot(page, '17-report-sms');
  }, 60_000);

  it('keeps a manager to read-only on admin pages and a signed-out visitor out', async () => {
    const created = await fetch(`${central.url}/api/staff`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...MANAGER, role: 'manager' }),
    });
    expect(created.status, await created.clone().text()).toBeLessThan(300);
    const managerContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const manager = await managerContext.newPage();
    await manager.goto(`${central.url}/console/`);
    await manager.getByTestId('signin-username').fill(MANAGER.username);
    await manager.getByTestId('signin-password').fill(MANAGER.password);
    await manager.getByTestId('signin-submit').click();
    await manager.getByTestId('dashboard-title').waitFor();
    await manager.goto(`${central.url}/console/setup/settings`);
    await manager.getByTestId('read-only-note').waitFor();
    expect(await manager.getByTestId('settings-save').count()).toBe(0);
    await shot(manager, '18-manager-settings');
    const session = await manager.request.get(`${central.url}/api/console/session`);
    const { csrfToken } = (await session.json()) as { csrfToken: string };
    const put = await manager.request.put(`${central.url}/api/settings/program`, {
      headers: { 'x-csrf-token': csrfToken, 'content-type': 'application/json' },
      data: { chainName: 'Taken over' },
    });
    expect(put.status()).toBe(403);
    await managerContext.close();

    const strangerContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const stranger = await strangerContext.newPage();
    const day = today();
    const refused = await stranger.request.get(
      `${central.url}/api/reports/sales?from=${day}&to=${day}`,
    );
    expect(refused.status()).toBe(401);
    await stranger.goto(`${central.url}/console/`);
    await stranger.getByTestId('signin-form').waitFor();
    await strangerContext.close();
  }, 30_000);

  it('fits a tablet', async () => {
    await page.setViewportSize({ width: 820, height: 1180 });
    await page.goto(`${central.url}/console/`);
    await page.getByTestId('dashboard-title').waitFor();
    await page.getByTestId('today-bills').waitFor();
    await shot(page, '19-tablet-dashboard');
    await page.goto(`${central.url}/console/members`);
    await page.getByTestId('members-title').waitFor();
    await page.getByTestId('member-search').fill(MOBILE_A.slice(-4));
    await page.getByTestId('member-result-0').waitFor();
    await shot(page, '20-tablet-members');
  }, 30_000);
});

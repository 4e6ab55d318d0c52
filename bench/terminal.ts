/**
 * The counter as the cashier feels it, on a cache of 1,000,000 members: from a keystroke in the
 * mobile field to the matching members on screen, and from a scan to its line on the bill, both
 * measured inside headless Chromium on the real screens served by a real counter process; and
 * the ESC/POS bytes of a 1,000-entry ledger statement. Beside each, in the same run: the local
 * API call alone (HTTP on loopback) and the cache lookup alone, so the figures show where the
 * time goes. The counter runs offline (central is stopped after the first sync): lookups and
 * scans never need central.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { chromium, type Page } from 'playwright-core';
import { loadConfig } from '../central/config.ts';
import { DEMO_LOGINS, DEMO_PRODUCTS, seedDemo } from '../central/demo/seed.ts';
import { createCentral, listen } from '../central/server.ts';
import { TerminalCore } from '../terminal/core.ts';
import { TerminalStore } from '../terminal/store.ts';
import { CACHE_FILE } from '../terminal/core.ts';
import {
  describeLedgerStatement,
  describeSaleSlip,
} from '../terminal/devices/printer/documents.ts';
import { renderDocument } from '../terminal/devices/printer/printer.ts';
import { pairNewTerminal } from '../test/support/terminal.ts';
import { scanAsWedge } from '../test/support/wedge-scanner.ts';
import { median, percentile, round, ROOT } from './support.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PROFILE = { widthChars: 48 as const, canPrintDevanagari: false };

interface Sizes {
  members: number;
  mobilesTyped: number;
  scans: number;
  renders: number;
}

const FULL: Sizes = { members: 1_000_000, mobilesTyped: 60, scans: 150, renders: 30 };
const QUICK: Sizes = { members: 20_000, mobilesTyped: 6, scans: 10, renders: 5 };

const NAMES = ['Aarav', 'Priya', 'Rahul', 'Ananya', 'Vikram', 'Meera', 'राजेश', 'सुनीता'];

function stats(samples: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? NaN),
  };
}

/** The i-th synthetic member's mobile: +91 7 followed by nine digits. */
function mobileOf(i: number): string {
  return `+917${String(i).padStart(9, '0')}`;
}

/** A paired counter's cache with the demo chain's rules and catalogue, then `count` members. */
async function prepareCounter(count: number): Promise<{ dataDir: string }> {
  const centralDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-bench-terminal-central-'));
  const central = await createCentral(
    loadConfig({
      DATA_DIR: centralDir,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      SMS_WORKER: 'false',
    }),
  );
  await seedDemo(central);
  const listening = await listen(central);
  const admin = DEMO_LOGINS[0];
  const login = await fetch(`${listening.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: admin.username, password: admin.password }),
  });
  const { token } = (await login.json()) as { token: string };
  const { dataDir } = await pairNewTerminal(
    { url: listening.url, tokens: { admin: token } },
    'MUM-01',
  );
  // One real sync brings the rules, staff and catalogue; then central goes away for good.
  const core = new TerminalCore({ dataDir }).start();
  const deadline = Date.now() + 30_000;
  while (core.staff().length === 0 || core.product(DEMO_PRODUCTS[0]?.sku ?? '') === undefined) {
    if (Date.now() > deadline) throw new Error('the counter did not receive its rules');
    await new Promise((r) => setTimeout(r, 50));
  }
  await core.stop();
  await listening.close();
  await central.db.knex.destroy();
  fs.rmSync(centralDir, { recursive: true, force: true });

  const store = new TerminalStore(path.join(dataDir, CACHE_FILE));
  const epoch = store.getMeta('epoch') ?? 'bench';
  let seq = store.cursor;
  const page = 10_000;
  for (let start = 0; start < count; start += page) {
    const rows: unknown[] = [];
    for (let i = start; i < Math.min(count, start + page); i += 1) {
      seq += 1;
      const name = `${NAMES[i % NAMES.length] ?? 'A'} ${String(i).padStart(7, '0')}`;
      rows.push([10_000_000 + i, mobileOf(i), name, i % 5_000, 'base', 1, seq, null]);
    }
    store.applyPage(JSON.stringify(rows), { cursor: seq, epoch });
  }
  store.close();
  return { dataDir };
}

/** Starts `npm run terminal -- serve` on the cache; resolves with its addresses. */
async function startCounterProcess(
  dataDir: string,
): Promise<{ uiUrl: string; url: string; token: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['terminal/main.ts', 'serve', '--port', '0'], {
    cwd: ROOT,
    env: { ...process.env, TERMINAL_DATA_DIR: dataDir, LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const ready = await new Promise<{ uiUrl: string; url: string }>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line.includes('counter:ready'))
        resolve(JSON.parse(line) as { uiUrl: string; url: string });
    });
    child.once('exit', (code) => {
      reject(new Error(`the counter exited (${code ?? '?'})`));
    });
  });
  return {
    ...ready,
    token: new URL(ready.uiUrl).hash.slice('#token='.length),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => {
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Runs in the page (as text: this file is type-checked for Node, not the DOM): resolves
 * `window.benchWait` with the ms from the last keydown before `condition` holds to the next paint.
 * Keys come through `window.benchKeyHook`, called by a listener installed before the screens'.
 */
const INSTALL_WAIT = `(condition) => {
  window.benchWait = new Promise((resolve) => {
    const done = new Function('return (' + condition + ')');
    let lastKey;
    let isFinished = false;
    const check = () => {
      if (isFinished || lastKey === undefined || !done()) return;
      isFinished = true;
      const start = lastKey;
      requestAnimationFrame(() => finish(performance.now() - start));
    };
    const onKey = (event) => {
      // A key exists for the page from the earlier of its stamp and now: a stamp in the past is
      // time the key spent queued, one ahead (a scanner's keys sent at once) is not yet spent.
      if (!isFinished) lastKey = Math.min(event.timeStamp, performance.now());
      queueMicrotask(check);
    };
    const observer = new MutationObserver(check);
    const timer = setTimeout(() => finish(null), 3000);
    const finish = (value) => {
      observer.disconnect();
      clearTimeout(timer);
      window.benchKeyHook = undefined;
      resolve(value);
    };
    observer.observe(document.body, { subtree: true, childList: true, attributes: true });
    window.benchKeyHook = onKey;
  });
}`;

/**
 * Sends keys and resolves with the ms from the last keydown before `isDone` became true to the
 * next paint: what the person at the counter waits after their last key (or the scanner's).
 */
async function timeKeys(
  page: Page,
  send: () => Promise<void>,
  isDone: string,
): Promise<number | null> {
  await page.evaluate(`(${INSTALL_WAIT})(${JSON.stringify(isDone)})`);
  await send();
  return page.evaluate<number | null>('window.benchWait');
}

/** The matches on screen answer exactly this query (a list, or "no match"). */
function listAnswers(query: string): string {
  return `(() => {
    const shown = document.querySelector('[data-testid=lookup-suggestions], [data-testid=lookup-no-match]');
    return !!shown && shown.dataset.query === ${JSON.stringify(query)};
  })()`;
}

async function http(
  url: string,
  token: string,
  session: string,
  method: string,
  body?: unknown,
): Promise<number> {
  const t0 = performance.now();
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      'x-staff-session': session,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status}`);
  return performance.now() - t0;
}

export async function run(quick: boolean): Promise<void> {
  const sizes = quick ? QUICK : FULL;
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is needed at ${CHROMIUM}`);
  if (!fs.existsSync(path.join(ROOT, 'terminal/ui/dist/index.html'))) {
    throw new Error('build the screens first: npm run build:ui');
  }
  console.log(`preparing a counter cache of ${sizes.members.toLocaleString('en-IN')} members…`);
  const t0 = performance.now();
  const { dataDir } = await prepareCounter(sizes.members);
  console.log(`  ready in ${round((performance.now() - t0) / 1000, 1)} s`);
  const counter = await startCounterProcess(dataDir);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    // The benchmark's probes are evaluated text; the counter's CSP (rightly) forbids eval.
    const page = await browser.newPage({ viewport: { width: 1024, height: 768 }, bypassCSP: true });
    // The first keydown listener of all (before the screens' own): the screens stop the keys of
    // a scan from reaching anything else, and the clock must see every key.
    await page.addInitScript(
      "window.addEventListener('keydown', (event) => window.benchKeyHook?.(event), true);",
    );
    await page.goto(counter.uiUrl);
    const cashier = DEMO_LOGINS.find((l) => l.username === 'mum.cashier');
    await page.getByTestId('signin-staff-mum.cashier').click();
    await page.getByTestId('signin-pin').fill(cashier?.pin ?? '');
    await page.keyboard.press('Enter');
    await page.getByTestId('lookup-input').waitFor();

    // 1. Keystroke → matches on screen, typing whole mobiles digit by digit.
    const lookupMs: number[] = [];
    for (let m = 0; m < sizes.mobilesTyped; m += 1) {
      const i = Math.floor((((m * 7919) % 1000) / 1000) * sizes.members);
      const national = mobileOf(i).slice(3);
      await page.getByTestId('lookup-input').fill('');
      for (const [index, digit] of Array.from(national).entries()) {
        // A person's pace (a scanner's keys come under 35 ms apart, and are read as a scan).
        await page.waitForTimeout(70);
        const typed = national.slice(0, index + 1);
        if (typed.length < 4) {
          // Too few digits to ask about: nothing to wait for.
          await page.keyboard.press(digit);
          continue;
        }
        const ms = await timeKeys(page, () => page.keyboard.press(digit), listAnswers(typed));
        if (ms === null) throw new Error(`no matches shown after ${typed}`);
        lookupMs.push(ms);
      }
      // Each whole mobile ends on its own member.
      const expected = mobileOf(i);
      await page
        .waitForFunction(
          `document.querySelector('[data-testid=lookup-suggestion-0]')?.getAttribute('data-mobile') === ${JSON.stringify(expected)}`,
          undefined,
          { timeout: 5_000 },
        )
        .catch(() => {
          throw new Error(`typed ${national}, and its member did not show`);
        });
    }
    const lookup = stats(lookupMs);

    // Beside it: the same lookups as bare API calls, and straight from the cache.
    const session =
      (await page.evaluate<string | null>("sessionStorage.getItem('showroom-loyalty.session')")) ??
      '';
    const apiMs: number[] = [];
    const storeMs: number[] = [];
    const store = new TerminalStore(path.join(dataDir, CACHE_FILE));
    for (let m = 0; m < sizes.mobilesTyped * 7; m += 1) {
      const i = Math.floor((((m * 104_729) % 10_000) / 10_000) * sizes.members);
      const digits = mobileOf(i).slice(-(4 + (m % 7)));
      apiMs.push(
        await http(`${counter.url}api/members?q=${digits}`, counter.token, session, 'GET'),
      );
      const s0 = performance.now();
      store.findByLastDigits(digits, 10);
      storeMs.push(performance.now() - s0);
    }
    store.close();

    // 2. Scan → line on the bill: a member's sale, then products scanned as a wedge scanner does.
    await page.getByTestId('lookup-input').fill(mobileOf(1).slice(3));
    await page.getByTestId('lookup-suggestion-0').waitFor();
    await page.keyboard.press('Enter');
    await page.getByTestId('member-new-sale').waitFor();
    await page.keyboard.press('F4');
    await page.getByTestId('sale-bill-number').waitFor();
    const scanMs: number[] = [];
    // Keys are stamped 4 ms apart as a scanner's are (scanAsWedge): a scan that adds no line is
    // a broken detector or sale screen, not a busy machine.
    for (let n = 0; n < sizes.scans; n += 1) {
      const product = DEMO_PRODUCTS[n % DEMO_PRODUCTS.length];
      if (!product) break;
      const ms = await timeKeys(
        page,
        () => scanAsWedge(page, product.sku),
        `document.querySelectorAll('[data-testid^=sale-line-remove-]').length === ${n + 1}`,
      );
      if (ms === null) throw new Error(`scan ${n + 1} of ${sizes.scans} did not add a line`);
      scanMs.push(ms);
    }
    const scan = stats(scanMs);
    const scanApiMs: number[] = [];
    for (let n = 0; n < sizes.scans; n += 1) {
      const product = DEMO_PRODUCTS[n % DEMO_PRODUCTS.length];
      scanApiMs.push(
        await http(`${counter.url}api/scans`, counter.token, session, 'POST', {
          text: product?.sku ?? '',
        }),
      );
    }

    // 3. The ESC/POS bytes of a 1,000-entry statement, beside a sale slip.
    const entries = Array.from({ length: 1_000 }, (_, i) => ({
      at: new Date(Date.UTC(2026, 0, 1) + i * 3_600_000),
      kind: i % 4 === 3 ? ('redeem' as const) : ('earn' as const),
      showroomCode: 'MUM-01',
      points: i % 4 === 3 ? -100 : 40,
      balanceAfter: 5_000 + i,
    }));
    const header = {
      chainName: 'Showroom Loyalty',
      showroomName: 'Andheri West',
      showroomCode: 'MUM-01',
    };
    const member = { id: 4711, name: 'Kavita Nair', mobileE164: '+919812345678' };
    const ledgerMs: number[] = [];
    const slipMs: number[] = [];
    let bytes = 0;
    for (let r = 0; r < sizes.renders; r += 1) {
      const l0 = performance.now();
      bytes = renderDocument(
        describeLedgerStatement(
          {
            ...header,
            member,
            from: '2026-01-01',
            to: '2026-03-31',
            openingBalance: 5_000,
            entries,
            printedBy: 'Priya Sharma (manager)',
            printedAt: new Date(),
          },
          PROFILE,
        ),
        'epson',
        PROFILE,
      ).length;
      ledgerMs.push(performance.now() - l0);
      const s0 = performance.now();
      renderDocument(
        describeSaleSlip(
          {
            ...header,
            billNumber: 'MUM01-0001',
            at: new Date(),
            member,
            pointsEarned: 40,
            pointsRedeemed: 0,
            newBalance: 5_040,
          },
          PROFILE,
        ),
        'epson',
        PROFILE,
      );
      slipMs.push(performance.now() - s0);
    }

    const api = stats(apiMs);
    const cache = stats(storeMs);
    const scanApi = stats(scanApiMs);
    console.log(`\ncounter on a cache of ${sizes.members.toLocaleString('en-IN')} members`);
    console.log(
      `keystroke → matches on screen: p50 ${lookup.p50} ms, p99 ${lookup.p99} ms, max ${lookup.max} ms (${lookupMs.length} keystrokes; target p99 ≤ 50 ms)`,
    );
    console.log(`  baseline, GET /api/members?q= alone: p50 ${api.p50} ms, p99 ${api.p99} ms`);
    console.log(`  baseline, cache lookup alone:         p50 ${cache.p50} ms, p99 ${cache.p99} ms`);
    console.log(
      `scan → line on the bill: p50 ${scan.p50} ms, p99 ${scan.p99} ms, max ${scan.max} ms (${scanMs.length} scans; bills grow to ${scanMs.length} lines; target ≤ 50 ms)`,
    );
    console.log(
      `  baseline, POST /api/scans alone:     p50 ${scanApi.p50} ms, p99 ${scanApi.p99} ms`,
    );
    console.log(
      `ESC/POS of a 1,000-entry statement: median ${round(median(ledgerMs))} ms, max ${round(Math.max(...ledgerMs))} ms, ${bytes} bytes (target ≤ 200 ms); a sale slip ${round(median(slipMs))} ms`,
    );
    console.log(
      JSON.stringify({
        bench: 'terminal',
        members: sizes.members,
        lookupP50Ms: lookup.p50,
        lookupP99Ms: lookup.p99,
        lookupMaxMs: lookup.max,
        lookupApiP99Ms: api.p99,
        lookupCacheP99Ms: cache.p99,
        scanP50Ms: scan.p50,
        scanP99Ms: scan.p99,
        scanApiP99Ms: scanApi.p99,
        ledger1000EscPosMedianMs: round(median(ledgerMs)),
        saleSlipEscPosMedianMs: round(median(slipMs)),
      }),
    );
  } finally {
    await browser.close();
    await counter.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

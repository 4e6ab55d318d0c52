import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { PROTOCOL_VERSION } from '../shared/protocol/sync.ts';
import { credentialsPath, saveCredentials } from './credentials.ts';
import { TerminalCore, CounterError } from './core.ts';
import { DEFAULT_COUNTER_PORT, startCounter } from './server/start.ts';
import { createInterface } from 'node:readline';
import { formatRupees, parseRupees } from '../shared/money.ts';
import type { RedemptionView } from '../shared/protocol/redeem.ts';

const USAGE = `Usage: npm run terminal -- <command>

  run                       connect to central and keep the cache in sync (default)
  serve [--port N] [--printer ADDR] [--printer-type epson|star] [--printer-width 48|32]
        [--scanner SPEC]... [--stop-on-stdin-end]
                            run the counter: sync, devices, and the screens and POS API on
                            http://127.0.0.1:N/ (default 7420; COUNTER_PORT, PRINTER,
                            PRINTER_TYPE, SCANNERS=spec,spec also work). Prints one JSON line
                            {"event":"counter:ready","url":...,"uiUrl":...} when ready.
                            ADDR: tcp://host:9100, /dev/usb/lp0, serial:/dev/ttyUSB0?baud=9600
                            SPEC: serial:/dev/ttyUSB0?baud=9600 (COM3 on Windows), hid
  pair --central URL --code CODE [--name NAME] [--force]
                            pair this counter with central using a one-time code
                            (an admin prints one: npm run central -- pairing-code --showroom CODE)
  status                    link, last sync, pending and refused items (as JSON)
  lookup TEXT               find members in the cache: a mobile, its last digits, or a name
  outbox                    list the items waiting for central or refused by it
  outbox retry KEY          send a refused item again
  outbox discard KEY --reason TEXT
                            set a refused item aside (kept, with the reason)
  redeem --mobile M --bill B --amount RUPEES --points P
                            redeem points on a bill: central sends the member an OTP by SMS,
                            which is typed in here (needs central)
  redeem-cancel ID [--reason TEXT]
                            give back the points of a redemption while its bill is open

The terminal keeps its data in TERMINAL_DATA_DIR (default ./data/terminal).`;

async function main(argv: string[]): Promise<number> {
  const [command = 'run', ...rest] = argv;
  const dataDir = path.resolve(process.env.TERMINAL_DATA_DIR ?? 'data/terminal');
  switch (command) {
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    case 'pair':
      return pair(dataDir, rest);
    case 'run':
      return run(dataDir);
    case 'serve':
      return serve(dataDir, rest);
    case 'status':
      return withCore(dataDir, (core) => {
        console.log(JSON.stringify(core.status(), null, 2));
        return 0;
      });
    case 'lookup': {
      const text = rest.join(' ');
      if (!text) return usage('lookup needs a mobile number, its last digits or a name.');
      return withCore(dataDir, (core) => {
        const exact = /^[+\d\s-]{10,}$/.test(text)
          ? safe(() => core.findByMobile(text))
          : undefined;
        const found = exact ? [exact] : core.suggest(text, 20);
        for (const m of found) {
          console.log(
            `${m.mobile}  ${m.name}  balance ${m.balance}${m.pendingPoints ? ` (+${m.pendingPoints} pending)` : ''}`,
          );
        }
        if (found.length === 0) console.log('No member found.');
        return 0;
      });
    }
    case 'outbox':
      return outbox(dataDir, rest);
    case 'redeem':
      return redeem(dataDir, rest);
    case 'redeem-cancel':
      return redeemCancel(dataDir, rest);
    default:
      return usage(`Unknown command "${command}".`);
  }
}

function usage(message: string): number {
  console.error(`${message}\n\n${USAGE}`);
  return 2;
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

function withCore(dataDir: string, fn: (core: TerminalCore) => number): number {
  const core = new TerminalCore({ dataDir });
  try {
    return fn(core);
  } finally {
    core.store.close();
  }
}

async function pair(dataDir: string, args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        central: { type: 'string' },
        code: { type: 'string' },
        name: { type: 'string' },
        force: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    return usage((error as Error).message);
  }
  if (!values.central || !values.code) return usage('pair needs --central URL and --code CODE.');
  let base: URL;
  try {
    base = new URL(values.central);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('scheme');
  } catch {
    return usage(
      `--central must be an http(s) URL, e.g. https://loyalty.example.in (got "${values.central}").`,
    );
  }
  if (fs.existsSync(credentialsPath(dataDir)) && !values.force) {
    console.error(
      `This terminal is already paired (${credentialsPath(dataDir)}). Use --force to pair it again.`,
    );
    return 1;
  }
  const name = values.name ?? os.hostname();
  let response: Response;
  try {
    response = await fetch(new URL('/api/terminals/pair', base), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: values.code, name }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    console.error(`Cannot reach central at ${base.origin}: ${(error as Error).message}`);
    return 1;
  }
  const body = (await response.json().catch(() => ({}))) as {
    terminalId?: string;
    secret?: string;
    showroomCode?: string;
    protocolVersion?: number;
    detail?: string;
  };
  if (response.status !== 201 || !body.terminalId || !body.secret || !body.showroomCode) {
    console.error(`Central refused the pairing: ${body.detail ?? `HTTP ${response.status}`}`);
    return 1;
  }
  if (body.protocolVersion !== PROTOCOL_VERSION) {
    console.error(
      `Central speaks sync protocol ${body.protocolVersion}, this terminal ${PROTOCOL_VERSION}; update the ${(body.protocolVersion ?? 0) > PROTOCOL_VERSION ? 'terminal' : 'central server'}.`,
    );
    return 1;
  }
  if (values.force) fs.rmSync(credentialsPath(dataDir), { force: true });
  const file = saveCredentials(dataDir, {
    centralUrl: base.origin,
    terminalId: body.terminalId,
    secret: body.secret,
    showroomCode: body.showroomCode,
    name,
    pairedAt: new Date().toISOString(),
  });
  console.log(`Paired as ${body.terminalId} at showroom ${body.showroomCode}.`);
  console.log(`Credentials saved to ${file} (readable by this user only).`);
  console.log('Start it with: npm run terminal');
  return 0;
}

async function run(dataDir: string): Promise<number> {
  const log = pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const core = new TerminalCore({ dataDir });
  let last = '';
  core.on('status', () => {
    const s = core.status();
    const line = `${s.link} cursor=${s.cursor} pending=${s.pending} refused=${s.refused}`;
    if (line !== last) log.info({ event: 'terminal:status', ...s }, line);
    last = line;
  });
  core.on('refused', (r: { message: string }) => {
    log.error({ event: 'terminal:refused' }, r.message);
  });
  core.sync.on('error-note', (e: Error) => {
    log.warn({ event: 'terminal:sync-error' }, e.message);
  });
  core.start();
  log.info(
    { event: 'terminal:started', terminal: core.credentials.terminalId },
    `terminal ${core.credentials.terminalId} connecting to ${core.credentials.centralUrl}`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await core.stop();
  return 0;
}

async function serve(dataDir: string, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      printer: { type: 'string' },
      'printer-type': { type: 'string' },
      'printer-width': { type: 'string' },
      scanner: { type: 'string', multiple: true },
      'stop-on-stdin-end': { type: 'boolean', default: false },
    },
  });
  const log = pino({ level: process.env.LOG_LEVEL ?? 'info' });
  const portText = values.port ?? process.env.COUNTER_PORT ?? String(DEFAULT_COUNTER_PORT);
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    return usage(`--port must be a port number, not "${portText}".`);
  }
  const printerType = values['printer-type'] ?? process.env.PRINTER_TYPE ?? 'epson';
  if (printerType !== 'epson' && printerType !== 'star') {
    return usage(`--printer-type must be epson or star, not "${printerType}".`);
  }
  const widthText = values['printer-width'] ?? process.env.PRINTER_WIDTH ?? '48';
  if (widthText !== '48' && widthText !== '32') {
    return usage(`--printer-width must be 48 (80 mm paper) or 32 (58 mm), not "${widthText}".`);
  }
  const printer = values.printer ?? process.env.PRINTER;
  const scanners = values.scanner ?? (process.env.SCANNERS ? process.env.SCANNERS.split(',') : []);
  let handle;
  try {
    handle = await startCounter({
      dataDir,
      port,
      ...(printer ? { printer } : {}),
      printerCommandSet: printerType,
      printerWidthChars: widthText === '48' ? 48 : 32,
      scanners,
      log: (error) => {
        log.error({ event: 'counter:error', err: error }, 'request failed');
      },
    });
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 1;
  }
  handle.core.on('refused', (r: { message: string }) => {
    log.error({ event: 'terminal:refused' }, r.message);
  });
  handle.core.sync.on('error-note', (e: Error) => {
    log.warn({ event: 'terminal:sync-error' }, e.message);
  });
  console.log(
    JSON.stringify({
      event: 'counter:ready',
      terminalId: handle.core.credentials.terminalId,
      url: handle.url,
      uiUrl: handle.uiUrl,
      posApi: `${handle.url}pos/v1/openapi.json`,
    }),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    // Windows has no SIGTERM: a parent (the Electron shell) stops the core by closing stdin.
    if (values['stop-on-stdin-end']) {
      process.stdin.once('end', resolve).once('close', resolve).resume();
    }
  });
  await handle.close();
  return 0;
}

/** Starts a core for one request that needs central, and stops it after. */
async function withOnlineCore(
  dataDir: string,
  fn: (core: TerminalCore) => Promise<number>,
): Promise<number> {
  const core = new TerminalCore({ dataDir }).start();
  try {
    const deadline = Date.now() + 10_000;
    while (core.status().link !== 'online' && Date.now() < deadline) {
      if (core.status().link === 'refused') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return await fn(core);
  } catch (error) {
    if (error instanceof CounterError) {
      console.error(error.message);
      return 1;
    }
    throw error;
  } finally {
    await core.stop();
    core.store.close();
  }
}

async function redeem(dataDir: string, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      mobile: { type: 'string' },
      bill: { type: 'string' },
      amount: { type: 'string' },
      points: { type: 'string' },
    },
  });
  const billAmountPaise = parseRupees(values.amount ?? '');
  const points = /^\d+$/.test(values.points ?? '') ? Number(values.points) : undefined;
  if (!values.mobile || !values.bill || billAmountPaise === undefined || points === undefined) {
    return usage('redeem needs --mobile, --bill, --amount in rupees (e.g. 2499.00) and --points.');
  }
  const bill = { mobile: values.mobile, billNumber: values.bill, billAmountPaise };
  return withOnlineCore(dataDir, async (core) => {
    const quote = await core.quoteRedemption(bill);
    console.log(
      `${quote.name} (${quote.maskedMobile}): ${quote.balance} points; this bill allows up to ${quote.maxPoints} (${formatRupees(quote.maxValuePaise)}).`,
    );
    if (!quote.allowed) {
      console.error(quote.reason ?? 'Nothing can be redeemed on this bill.');
      return 1;
    }
    const view = await core.requestRedemption({ ...bill, points });
    console.log(
      `Redemption ${view.id}: ${view.points} points = ${formatRupees(view.valuePaise)}. OTP sent to ${view.maskedMobile}.`,
    );
    const reader = createInterface({ input: process.stdin, terminal: false });
    try {
      return await confirmLoop(core, view, reader[Symbol.asyncIterator]());
    } finally {
      // Let the process end even when the cashier's input stays open.
      reader.close();
      process.stdin.destroy();
    }
  });
}

/** Reads OTPs (or "resend") until the redemption is confirmed or cannot be. */
async function confirmLoop(
  core: TerminalCore,
  asked: RedemptionView,
  lines: AsyncIterator<string>,
): Promise<number> {
  let view = asked;
  for (;;) {
    process.stdout.write('OTP (or "resend"): ');
    const next = await lines.next();
    const typed = next.done ? '' : next.value.trim();
    if (next.done || typed === '') {
      console.error(`No OTP entered; redemption ${view.id} was not confirmed.`);
      return 1;
    }
    try {
      if (typed === 'resend') {
        view = await core.resendOtp(view.id);
        console.log(`A new OTP was sent (${view.otp?.resendsLeft ?? 0} resends left).`);
        continue;
      }
      view = await core.confirmRedemption(view.id, typed);
      console.log(
        `Redeemed ${view.points} points (${formatRupees(view.valuePaise)} off bill ${view.billNumber}); balance now ${view.balanceAfter ?? '?'}.`,
      );
      return 0;
    } catch (error) {
      if (!(error instanceof CounterError)) throw error;
      console.error(error.message);
      if (error.code !== 'otp-wrong' && error.code !== 'too-many-requests') return 1;
    }
  }
}

async function redeemCancel(dataDir: string, args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { reason: { type: 'string' } },
  });
  const id = Number(positionals[0]);
  if (!Number.isSafeInteger(id) || id < 1) return usage('redeem-cancel needs the redemption id.');
  return withOnlineCore(dataDir, async (core) => {
    const view = await core.cancelRedemption(id, values.reason);
    console.log(
      `Redemption ${view.id} cancelled; ${view.points} points are back (balance ${view.balanceAfter ?? '?'}).`,
    );
    return 0;
  });
}

function outbox(dataDir: string, args: string[]): number {
  const [action, key] = args;
  return withCore(dataDir, (core) => {
    if (!action) {
      for (const item of core.outbox()) {
        const error = item.lastError as { detail?: string } | null;
        console.log(
          `${item.state.padEnd(9)} ${item.kind.padEnd(5)} ${item.key}  ${item.mobile}  ${item.createdAt}${error?.detail ? `  — ${error.detail}` : ''}${item.resolvedNote ? `  [${item.resolvedNote}]` : ''}`,
        );
      }
      const counts = core.store.outboxCounts();
      console.log(
        `${counts.queued} queued, ${counts.refused} refused, ${counts.discarded} set aside.`,
      );
      return 0;
    }
    if (!key) return usage(`outbox ${action} needs the item's key.`);
    if (action === 'retry') {
      if (!core.store.retry(key)) {
        console.error(`No refused item ${key}.`);
        return 1;
      }
      console.log(`${key} will be sent again when the terminal is online.`);
      return 0;
    }
    if (action === 'discard') {
      const { values } = parseArgs({
        args: args.slice(2),
        options: { reason: { type: 'string' } },
      });
      if (!values.reason?.trim()) return usage('discard needs --reason TEXT.');
      if (!core.store.discard(key, values.reason.trim())) {
        console.error(`No refused item ${key}.`);
        return 1;
      }
      console.log(`${key} set aside: ${values.reason.trim()}`);
      return 0;
    }
    return usage(`Unknown outbox action "${action}".`);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof CounterError || error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);

import { formatMemberCardQr } from '../terminal/devices/member-card.ts';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyCode, hasValidCheckDigit } from '../terminal/devices/scanner/codes.ts';
import {
  createHidScanner,
  decodeHidPosReport,
  HidScanner,
  type HidScan,
} from '../terminal/devices/scanner/hid.ts';
import {
  openSerialScanner,
  type ScannerStatus,
  type SerialScan,
  type SerialScanner,
  type SerialScannerOptions,
} from '../terminal/devices/scanner/serial.ts';
import {
  createWedgeDetector,
  createWedgeState,
  stepWedge,
  type WedgeKeyEvent,
  type WedgeOptions,
  type WedgeOutput,
} from '../terminal/devices/scanner/wedge.ts';
import {
  closeWriter,
  hasSocat,
  openWriter,
  startSerialPair,
  waitUntil,
  writeBytes,
  type SerialPair,
} from './support/serial-pair.ts';

// ---------------------------------------------------------------------------------------------
// Keyboard wedge

/** Key events for `keys` starting at `startMs`, with the recorded gaps cycled through. */
function keyEvents(
  keys: readonly string[],
  startMs: number,
  gapsMs: readonly number[],
): WedgeKeyEvent[] {
  let timeMs = startMs;
  return keys.map((key, i) => {
    if (i > 0) timeMs += gapsMs[(i - 1) % gapsMs.length] ?? 0;
    return { key, timeMs };
  });
}

/** Feeds every event, then flushes well after the last; returns everything released. */
function run(events: readonly WedgeKeyEvent[], options: Partial<WedgeOptions> = {}): WedgeOutput[] {
  const detector = createWedgeDetector(options);
  const outputs = events.flatMap((event) => detector.feed(event));
  const lastMs = events.at(-1)?.timeMs ?? 0;
  outputs.push(...detector.flush(lastMs + 1_000));
  return mergeAdjacentKeys(outputs);
}

function mergeAdjacentKeys(outputs: readonly WedgeOutput[]): WedgeOutput[] {
  const merged: WedgeOutput[] = [];
  for (const output of outputs) {
    const previous = merged.at(-1);
    if (output.kind === 'keys' && previous?.kind === 'keys') previous.keys.push(...output.keys);
    else merged.push(output.kind === 'keys' ? { kind: 'keys', keys: [...output.keys] } : output);
  }
  return merged;
}

const chars = (text: string): string[] => Array.from(text);

// Gaps recorded from a USB wedge scanner (Honeywell-style 1D) and a 2D imager sending a QR code.
const SCANNER_1D_GAPS = [8, 9, 7, 12, 8, 8, 10, 7, 9, 8, 11, 8];
const SCANNER_2D_GAPS = [3, 4, 3, 5, 4, 3, 4, 6, 3, 4];
// A fast typist at ~60 ms a key, with two-key rolls as short as 22 ms.
const FAST_TYPIST_GAPS = [64, 58, 22, 71, 55, 60, 48, 25, 66, 59, 62, 57, 24, 70];
// An ordinary cashier: 80–300 ms.
const CASHIER_GAPS = [140, 210, 95, 180, 260, 120, 300, 85];

describe('keyboard-wedge detector', () => {
  it('reads an EAN-13 burst ended by Enter as one scan and swallows the Enter', () => {
    const events = keyEvents([...chars('8901063010116'), 'Enter'], 10_000, SCANNER_1D_GAPS);
    expect(run(events)).toEqual([
      { kind: 'scan', code: '8901063010116', startMs: 10_000, endMs: expect.any(Number) },
    ]);
  });

  it('reads a Code 128 burst with capitals, ignoring the Shift events the scanner sends', () => {
    const keys = chars('ABC-123/x.y_Z').flatMap((key) =>
      /[A-Z]/.test(key) ? ['Shift', key] : [key],
    );
    const events = keyEvents([...keys, 'Enter'], 0, [4, 6, 5, 9]);
    const outputs = run(events);
    expect(outputs).toHaveLength(1);
    expect(outputs[0]).toMatchObject({ kind: 'scan', code: 'ABC-123/x.y_Z' });
  });

  it('reads a QR payload from a 2D imager', () => {
    const payload = formatMemberCardQr({ id: 4821, mobileE164: '+919876543210' });
    const events = keyEvents([...chars(payload), 'Enter'], 500, SCANNER_2D_GAPS);
    expect(run(events)).toEqual([
      { kind: 'scan', code: 'SLM1:4821:3210', startMs: 500, endMs: expect.any(Number) },
    ]);
  });

  it('never takes a fast typist for a scanner, and hands back every key in order', () => {
    const typed = [...chars('ramesh 9876543210'), 'Enter'];
    const outputs = run(keyEvents(typed, 0, FAST_TYPIST_GAPS));
    expect(outputs).toEqual([{ kind: 'keys', keys: typed }]);
  });

  it('never takes an ordinary cashier for a scanner', () => {
    const typed = [...chars('9876543210'), 'Tab', ...chars('Sunita'), 'Enter'];
    expect(run(keyEvents(typed, 0, CASHIER_GAPS))).toEqual([{ kind: 'keys', keys: typed }]);
  });

  it('separates a scan made in the middle of typing from the typing around it', () => {
    const before = keyEvents(chars('98765'), 0, CASHIER_GAPS);
    const scanStart = (before.at(-1)?.timeMs ?? 0) + 400;
    const scan = keyEvents([...chars('4006381333931'), 'Enter'], scanStart, SCANNER_1D_GAPS);
    const after = keyEvents(chars('43210'), (scan.at(-1)?.timeMs ?? 0) + 350, CASHIER_GAPS);
    const outputs = run([...before, ...scan, ...after]);
    expect(outputs).toEqual([
      { kind: 'keys', keys: chars('98765') },
      { kind: 'scan', code: '4006381333931', startMs: scanStart, endMs: expect.any(Number) },
      { kind: 'keys', keys: chars('43210') },
    ]);
  });

  it('reads a scanner without an Enter suffix once the line goes quiet, and not before', () => {
    const detector = createWedgeDetector();
    const events = keyEvents(chars('96385074'), 1_000, SCANNER_1D_GAPS);
    const released = events.flatMap((event) => detector.feed(event));
    expect(released).toEqual([]);
    const lastMs = events.at(-1)?.timeMs ?? 0;
    expect(detector.nextFlushAtMs()).toBe(lastMs + 36);
    expect(detector.flush(lastMs + 20)).toEqual([]);
    expect(detector.flush(lastMs + 36)).toEqual([
      { kind: 'scan', code: '96385074', startMs: 1_000, endMs: lastMs },
    ]);
    expect(detector.nextFlushAtMs()).toBeUndefined();
  });

  it('ends a suffix-less scan when the next key comes later, keeping that key', () => {
    const scan = keyEvents(chars('036000291452'), 0, SCANNER_1D_GAPS);
    const next = { key: '5', timeMs: (scan.at(-1)?.timeMs ?? 0) + 200 };
    expect(run([...scan, next])).toEqual([
      { kind: 'scan', code: '036000291452', startMs: 0, endMs: expect.any(Number) },
      { kind: 'keys', keys: ['5'] },
    ]);
  });

  it('refuses a suffix-less burst when quiet-gap endings are turned off', () => {
    const events = keyEvents(chars('96385074'), 0, SCANNER_1D_GAPS);
    expect(run(events, { shouldEndOnQuietGap: false })).toEqual([
      { kind: 'keys', keys: chars('96385074') },
    ]);
  });

  it('takes a held key (auto-repeat at ~33 ms) for typing, flagged or not', () => {
    const held = [{ key: '0', timeMs: 0 }, ...keyEvents(Array<string>(12).fill('0'), 500, [33])];
    const flagged = held.map((event, i) => ({ ...event, repeat: i > 0 }));
    expect(run([...flagged, { key: 'Enter', timeMs: 1_400 }])).toEqual([
      { kind: 'keys', keys: [...Array<string>(13).fill('0'), 'Enter'] },
    ]);
    // Some keyboards and remote desktops drop the repeat flag: one character over and over is still a held key.
    expect(run(held)).toEqual([{ kind: 'keys', keys: Array<string>(13).fill('0') }]);
  });

  it('hands back a short fast roll and its Enter as typing', () => {
    const events = keyEvents(['4', '5', 'Enter'], 0, [18, 20]);
    expect(run(events)).toEqual([{ kind: 'keys', keys: ['4', '5', 'Enter'] }]);
  });

  it('treats Tab as the suffix only when configured to', () => {
    const events = keyEvents([...chars('8901234567890'), 'Tab'], 0, SCANNER_1D_GAPS);
    expect(run(events)).toEqual([{ kind: 'keys', keys: [...chars('8901234567890'), 'Tab'] }]);
    expect(run(events, { terminators: ['Enter', 'Tab'] })).toEqual([
      { kind: 'scan', code: '8901234567890', startMs: 0, endMs: expect.any(Number) },
    ]);
  });

  it('hands back a fast burst interrupted by an editing key as typing', () => {
    const events = keyEvents([...chars('123456'), 'Backspace', '7'], 0, [20]);
    expect(run(events)).toEqual([{ kind: 'keys', keys: [...chars('123456'), 'Backspace', '7'] }]);
  });

  it('is a pure reducer: a step leaves the state it was given as it was', () => {
    const start = Object.freeze(createWedgeState());
    const first = stepWedge(start, { key: '1', timeMs: 0 });
    const second = stepWedge(first.state, { key: '2', timeMs: 10 });
    expect(start.pending).toEqual([]);
    expect(first.state.pending).toHaveLength(1);
    expect(second.state.pending).toHaveLength(2);
    expect(stepWedge(first.state, { key: '2', timeMs: 10 })).toEqual(second);
  });
});

// ---------------------------------------------------------------------------------------------
// Code classification

describe('classifyCode', () => {
  it('reads EAN-13, EAN-8 and UPC-A with a valid check digit as products', () => {
    expect(classifyCode('8901063010116')).toEqual({
      kind: 'product',
      sku: '8901063010116',
      symbology: 'ean-13',
    });
    expect(classifyCode('96385074')).toEqual({
      kind: 'product',
      sku: '96385074',
      symbology: 'ean-8',
    });
    expect(classifyCode(' 036000291452\r\n')).toEqual({
      kind: 'product',
      sku: '036000291452',
      symbology: 'upc-a',
    });
  });

  it('refuses a bad check digit with a message the cashier can follow', () => {
    for (const code of ['8901063010117', '96385075', '036000291453']) {
      expect(classifyCode(code)).toEqual({
        kind: 'unknown',
        reason: "The barcode's check digit is wrong; scan again or type the number.",
      });
    }
    expect(hasValidCheckDigit('4006381333931')).toBe(true);
    expect(hasValidCheckDigit('4006381333932')).toBe(false);
  });

  it('reads a member card QR code as the printer prints it', () => {
    expect(classifyCode(formatMemberCardQr({ id: 4821, mobileE164: '+919876543210' }))).toEqual({
      kind: 'member-card',
      memberId: 4821,
      mobileLast4: '3210',
    });
    expect(classifyCode(' slm1:12:0042 ')).toEqual({
      kind: 'member-card',
      memberId: 12,
      mobileLast4: '0042',
    });
  });

  it('refuses a damaged member card', () => {
    for (const code of [
      'SLM1:4821',
      'SLM1::3210',
      'SLM1:0:3210',
      'SLM1:4821:919876543210',
      'SLM1:48 21:3210',
      'SLM1:1:2:3',
    ]) {
      const result = classifyCode(code);
      expect(result.kind, code).toBe('unknown');
      expect(result).toMatchObject({
        reason: expect.stringContaining('look the member up by mobile'),
      });
    }
  });

  it('reads a bare Indian mobile as a member lookup by mobile', () => {
    expect(classifyCode('9876543210')).toEqual({ kind: 'member-mobile', mobile: '+919876543210' });
    // Not a mobile (starts with 1): a plain numeric SKU.
    expect(classifyCode('1234567890')).toEqual({
      kind: 'product',
      sku: '1234567890',
      symbology: 'text',
    });
  });

  it('reads Code 128 text within the SKU rules as a product', () => {
    expect(classifyCode('SAREE-SLK/0042_b.v2')).toEqual({
      kind: 'product',
      sku: 'SAREE-SLK/0042_b.v2',
      symbology: 'text',
    });
    expect(classifyCode('A'.repeat(64))).toMatchObject({ kind: 'product' });
  });

  it('refuses what is neither, saying why', () => {
    expect(classifyCode('')).toMatchObject({
      kind: 'unknown',
      reason: expect.stringContaining('empty'),
    });
    expect(classifyCode('AB\u0007CD')).toMatchObject({
      kind: 'unknown',
      reason: expect.stringContaining('control characters'),
    });
    expect(classifyCode('A'.repeat(65))).toMatchObject({
      kind: 'unknown',
      reason: expect.stringContaining('at most 64'),
    });
    expect(classifyCode('X'.repeat(300))).toMatchObject({
      kind: 'unknown',
      reason: expect.stringContaining('too long (300'),
    });
    expect(classifyCode('SKU 12')).toMatchObject({
      kind: 'unknown',
      reason: expect.stringContaining('letters, digits and - _ . /'),
    });
    expect(classifyCode('https://example.com/x')).toMatchObject({ kind: 'unknown' });
  });
});

// ---------------------------------------------------------------------------------------------
// HID-POS

/** A 64-byte scanned-data report with a report ID, as the format in hid.ts describes. */
function hidReport(
  data: string,
  options: { symbologyId?: string; hasMore?: boolean } = {},
): Uint8Array {
  const report = new Uint8Array(64);
  const bytes = new TextEncoder().encode(data);
  report[0] = 0x02;
  report[1] = bytes.length;
  report.set(new TextEncoder().encode(options.symbologyId ?? ']E0'), 2);
  report.set(bytes, 5);
  report[63] = options.hasMore === true ? 1 : 0;
  return report;
}

describe('HID-POS scanners', () => {
  it('without node-hid, says so and leaves the other scanners working', async () => {
    // node-hid is an optional dependency: where it failed to install, the import fails.
    const absent = await createHidScanner({}, () =>
      Promise.reject(new Error("Cannot find package 'node-hid'")),
    );
    expect(absent).toEqual({
      scanner: undefined,
      reason:
        'node-hid is not installed; USB HID-POS scanners are unavailable, keyboard-wedge and serial scanners still work.',
    });
    // This machine has no USB scanner: the real module (or its absence) says which.
    const real = await createHidScanner();
    expect(real.scanner).toBeUndefined();
    expect(real.reason).toMatch(/^(No HID-POS barcode scanner found|node-hid is not installed)/);
    const broken = await createHidScanner({}, () =>
      Promise.resolve({ default: { devices: 'nope' } }),
    );
    expect(broken.scanner).toBeUndefined();
    expect(broken.reason).toContain('node-hid is not installed');
  });

  it('decodes a scanned-data report', () => {
    expect(decodeHidPosReport(hidReport('8901063010116'))).toEqual({
      ok: true,
      report: { data: '8901063010116', symbologyId: ']E0', hasMore: false },
    });
    const withoutId = hidReport('96385074', { symbologyId: '\0\0\0' }).subarray(1);
    expect(decodeHidPosReport(withoutId, { hasReportId: false })).toEqual({
      ok: true,
      report: { data: '96385074', symbologyId: '', hasMore: false },
    });
  });

  it('refuses reports that do not hold what they claim', () => {
    const tooLong = hidReport('X');
    tooLong[1] = 200;
    expect(decodeHidPosReport(tooLong)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('200 data bytes'),
    });
    const otherReport = hidReport('X');
    otherReport[0] = 0x04;
    expect(decodeHidPosReport(otherReport)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('report ID 4'),
    });
    const notText = hidReport('AB');
    notText[5] = 0xff;
    expect(decodeHidPosReport(notText)).toEqual({
      ok: false,
      reason: 'The report data is not text.',
    });
    expect(decodeHidPosReport(new Uint8Array(0), { hasReportId: false })).toMatchObject({
      ok: false,
    });
  });

  it('joins continued reports into one symbol and classifies it', () => {
    // Stands in for the USB device, which cannot be plugged in here.
    const device = Object.assign(new EventEmitter(), { close: () => undefined });
    const scanner = new HidScanner(device, '/dev/hidraw0');
    const scans: HidScan[] = [];
    scanner.on('scan', (scan) => scans.push(scan));
    device.emit('data', hidReport('SLM1:48', { symbologyId: ']Q1', hasMore: true }));
    expect(scans).toEqual([]);
    device.emit('data', hidReport('21:3210', { symbologyId: ']Q1' }));
    expect(scans).toEqual([
      {
        text: 'SLM1:4821:3210',
        symbologyId: ']Q1',
        code: { kind: 'member-card', memberId: 4821, mobileLast4: '3210' },
      },
    ]);
    scanner.close();
  });
});

// ---------------------------------------------------------------------------------------------
// Serial scanner through a socat virtual pair

const socatAvailable = hasSocat();
if (!socatAvailable) {
  console.log('socat is not installed: skipping the serial scanner tests (apt-get install socat).');
}

describe.runIf(!socatAvailable && process.env.CI === 'true')('serial scanner under CI', () => {
  it('needs socat', () => {
    expect.fail(
      'socat is not installed: CI must run the serial scanner tests (apt-get install socat).',
    );
  });
});

describe.runIf(socatAvailable)('serial scanner through a socat virtual pair', () => {
  let dir = '';
  let pair: SerialPair | undefined;
  let writer: SerialPort | undefined;
  let scanner: SerialScanner | undefined;
  const scans: SerialScan[] = [];
  const statuses: ScannerStatus[] = [];

  const WAIT_MS = 10_000;

  async function open(options: Partial<SerialScannerOptions>): Promise<SerialScanner> {
    await scanner?.close();
    scans.length = 0;
    statuses.length = 0;
    const opened = openSerialScanner({
      path: path.join(dir, 'ttyA'),
      reconnectIntervalMs: 200,
      ...options,
    });
    opened.on('scan', (scan) => scans.push(scan));
    opened.on('status', (status) => statuses.push(status));
    scanner = opened;
    expect(await waitUntil(() => opened.state === 'connected', WAIT_MS)).toBe(true);
    return opened;
  }

  async function expectScans(texts: readonly string[]): Promise<void> {
    const arrived = await waitUntil(() => scans.length >= texts.length, WAIT_MS);
    expect(arrived, `scans so far: ${JSON.stringify(scans)}`).toBe(true);
    expect(scans.map((scan) => scan.text)).toEqual(texts);
  }

  async function expectNote(fragment: string): Promise<void> {
    const noted = await waitUntil(
      () =>
        statuses.some((status) => status.state === 'error' && status.message.includes(fragment)),
      WAIT_MS,
    );
    expect(noted, `statuses so far: ${JSON.stringify(statuses)}`).toBe(true);
  }

  const send = async (data: string | Buffer): Promise<void> => {
    if (writer === undefined) throw new Error('no writer');
    await writeBytes(writer, data);
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scanner-'));
    pair = await startSerialPair(dir);
    writer = await openWriter(pair.pathB);
  });

  afterAll(async () => {
    await scanner?.close();
    if (writer !== undefined) await closeWriter(writer);
    await pair?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports a missing port in words IT can act on', async () => {
    const missing = openSerialScanner({
      path: path.join(dir, 'ttyNone'),
      reconnectIntervalMs: 200,
    });
    const seen: ScannerStatus[] = [];
    missing.on('status', (status) => seen.push(status));
    expect(await waitUntil(() => seen.length > 0, WAIT_MS)).toBe(true);
    await missing.close();
    expect(seen[0]).toEqual({
      state: 'error',
      message: `Scanner port ${path.join(dir, 'ttyNone')} not found: check the cable and SCANNER_PORT.`,
    });
    expect(missing.state).toBe('closed');
  });

  it('reads CR-terminated scans, a CRLF scanner too, and lines split across writes', async () => {
    await open({ terminator: 'CR' });
    expect(statuses).toEqual([
      { state: 'connected', message: `Scanner connected on ${path.join(dir, 'ttyA')}.` },
    ]);
    await send('8901063010116\r');
    await send('SLM1:4821:3210\r\n');
    await send('SAREE-');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await send('0042\r96385075\r');
    await expectScans(['8901063010116', 'SLM1:4821:3210', 'SAREE-0042', '96385075']);
    expect(scans.map((scan) => scan.code)).toEqual([
      { kind: 'product', sku: '8901063010116', symbology: 'ean-13' },
      { kind: 'member-card', memberId: 4821, mobileLast4: '3210' },
      { kind: 'product', sku: 'SAREE-0042', symbology: 'text' },
      {
        kind: 'unknown',
        reason: "The barcode's check digit is wrong; scan again or type the number.",
      },
    ]);
  });

  it('reads LF- and CRLF-terminated scans when set to them', async () => {
    await open({ terminator: 'LF' });
    await send('96385074\n\n  \n036000291452\r\n');
    await expectScans(['96385074', '036000291452']);

    await open({ terminator: 'CRLF', baudRate: 19_200 });
    // The CRLF itself split across two writes.
    await send('9876543210\r');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await send('\nSKU_9.A\r\n');
    await expectScans(['9876543210', 'SKU_9.A']);
    expect(scans[0]?.code).toEqual({ kind: 'member-mobile', mobile: '+919876543210' });
  });

  it('drops bytes that are not text and over-long lines with a note, changing nothing', async () => {
    await open({ terminator: 'CR' });
    await send(Buffer.from([0xff, 0xfe, 0x80, 0x41, 0x0d]));
    await expectNote('bytes that are not text');
    await send(`${'A'.repeat(300)}\r`);
    await expectNote('a line over 256 characters');
    // A runaway line with no end at all: bounded, then dropped up to the next line end.
    await send('B'.repeat(700));
    await send('B'.repeat(700));
    await expectNote('without a line end');
    await send('BBBB\r4006381333931\r');
    await expectScans(['4006381333931']);
    expect(scanner?.state).toBe('connected');
    expect(statuses.filter((status) => status.state !== 'error')).toEqual([
      { state: 'connected', message: expect.any(String) },
    ]);
  });

  it('reports the port going away and reconnects by itself when it comes back', async () => {
    const current = await open({ terminator: 'CR' });
    if (writer !== undefined) await closeWriter(writer);
    await pair?.stop();
    expect(await waitUntil(() => current.state === 'disconnected', WAIT_MS)).toBe(true);
    expect(statuses).toContainEqual({
      state: 'disconnected',
      message: `Scanner on ${path.join(dir, 'ttyA')} was disconnected; reconnecting by itself. Check the cable if this lasts.`,
    });

    pair = await startSerialPair(dir);
    writer = await openWriter(pair.pathB);
    expect(await waitUntil(() => current.state === 'connected', WAIT_MS)).toBe(true);
    await send('8901234567890\r');
    await expectScans(['8901234567890']);
    expect(statuses.filter((status) => status.state === 'connected')).toHaveLength(2);
  });
});

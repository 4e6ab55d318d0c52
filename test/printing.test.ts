import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SerialPort } from 'serialport';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  describeLedgerStatement,
  describeMemberCard,
  describePointSlip,
  describeSaleSlip,
  parseMemberCardQr,
  type MemberOnSlip,
  type PaperProfile,
  type PrintDocument,
} from '../terminal/devices/printer/documents.ts';
import {
  ReceiptPrinter,
  renderDocument,
  type CommandSet,
} from '../terminal/devices/printer/printer.ts';
import { decodeEscPos, textLines } from './support/escpos-decoder.ts';
import { PrinterServer, STATUS_PAPER_LOW, STATUS_PAPER_OUT } from './support/printer-server.ts';

const MOBILE = '+919876543210';
const member: MemberOnSlip = { id: 4711, name: 'Lakshmi Narayanan', mobileE164: MOBILE };
const header = { chainName: 'Saree Mahal', showroomName: 'MG Road', showroomCode: 'BLR01' };
// 14:07 IST on 5 March 2026.
const at = new Date('2026-03-05T08:37:00Z');

function profile(widthChars: 32 | 48 = 48): PaperProfile {
  return { widthChars, canPrintDevanagari: false };
}

function saleSlip(p: PaperProfile, extra: Partial<Parameters<typeof describeSaleSlip>[0]> = {}) {
  return describeSaleSlip(
    {
      ...header,
      billNumber: 'MG-2026-000123',
      at,
      member,
      billAmountPaise: 12_345_600,
      pointsEarned: 1234,
      pointsRedeemed: 500,
      redeemedValuePaise: 50_000,
      newBalance: 123_456,
      ...extra,
    },
    p,
  );
}

function ledger(p: PaperProfile): PrintDocument {
  return describeLedgerStatement(
    {
      ...header,
      member,
      from: '2026-01-01',
      to: '2026-03-31',
      openingBalance: 1000,
      entries: [
        {
          at: new Date('2026-01-10T05:00:00Z'),
          kind: 'earn',
          showroomCode: 'BLR01',
          points: 250,
          balanceAfter: 1250,
        },
        {
          at: new Date('2026-02-14T12:00:00Z'),
          kind: 'redeem',
          showroomCode: 'MYS02',
          points: -500,
          balanceAfter: 750,
        },
        {
          at: new Date('2026-03-01T18:45:00Z'),
          kind: 'bonus',
          showroomCode: null,
          points: 100,
          balanceAfter: 850,
        },
      ],
      printedBy: 'Priya Manager',
      printedAt: at,
    },
    p,
  );
}

const card = (p: PaperProfile): PrintDocument =>
  describeMemberCard({ chainName: header.chainName, member, issuedAt: at }, p);

const pointSlip = (p: PaperProfile): PrintDocument =>
  describePointSlip(
    { ...header, at, member, balance: 2500, pendingPoints: 120, balanceValuePaise: 25_000 },
    p,
  );

function assertNoFullMobile(bytes: Buffer): void {
  expect(bytes.includes('9876543210')).toBe(false);
  expect(bytes.includes('98765')).toBe(false);
}

let server: PrinterServer;
beforeEach(async () => {
  server = await PrinterServer.start();
});
afterEach(async () => {
  await server.close();
});

describe.each<CommandSet>(['epson', 'star'])('%s printer over TCP', (commandSet) => {
  async function printAndDecode(document: PrintDocument, widthChars: 32 | 48 = 48) {
    const printer = new ReceiptPrinter({ address: server.address, commandSet, widthChars });
    const result = await printer.print(document);
    expect(result).toEqual({ ok: true, kind: document.kind });
    const [bytes] = await server.waitForDocuments(1);
    if (!bytes) throw new Error('no print job received');
    assertNoFullMobile(bytes);
    const decoded = decodeEscPos(bytes, commandSet);
    expect(decoded.unknown).toEqual([]);
    return { bytes, decoded, lines: textLines(decoded) };
  }

  it('prints the sale slip with points, rupees as Rs, India time and a masked mobile', async () => {
    const { decoded, lines } = await printAndDecode(saleSlip(profile()));
    expect(lines).toContain('Saree Mahal');
    expect(lines).toContain('MG Road (BLR01)');
    expect(lines.some((l) => /^Bill {2,}MG-2026-000123$/.test(l))).toBe(true);
    expect(lines.some((l) => /^Date {2,}05-03-2026 14:07$/.test(l))).toBe(true);
    expect(lines.some((l) => /^Bill amount {2,}Rs 1,23,456\.00$/.test(l))).toBe(true);
    expect(lines.some((l) => /^Mobile {2,}\+91 XXXXXX3210$/.test(l))).toBe(true);
    expect(lines.some((l) => /^Points earned {2,}\+1,234$/.test(l))).toBe(true);
    expect(lines.some((l) => /^Points redeemed {2,}-500$/.test(l))).toBe(true);
    expect(lines.some((l) => /^Discount on bill {2,}Rs 500\.00$/.test(l))).toBe(true);
    const balance = decoded.items.find(
      (item) => item.kind === 'line' && item.text.startsWith('New balance'),
    );
    expect(balance).toMatchObject({ text: expect.stringMatching(/1,23,456 pts$/), bold: true });
    const title = decoded.items.find((item) => item.kind === 'line' && item.text === 'Saree Mahal');
    expect(title).toMatchObject({ align: 'center', bold: true, width: 2, height: 2 });
    expect(decoded.cuts).toBe(1);
    for (const line of decoded.lines) expect(line.length).toBeLessThanOrEqual(48);
  });

  it('notes pending points on a slip printed offline', async () => {
    const { lines } = await printAndDecode(saleSlip(profile(), { pendingPoints: 1234 }));
    expect(lines.some((l) => /^Pending {2,}1,234 pts$/.test(l))).toBe(true);
    expect(lines.join(' ')).toContain('added to the balance when it reconnects');
  });

  it('prints the point slip for a balance inquiry', async () => {
    const { lines } = await printAndDecode(pointSlip(profile()));
    expect(lines).toContain('POINTS BALANCE');
    expect(lines.some((l) => /^Balance {2,}2,500 pts$/.test(l))).toBe(true);
    expect(lines.some((l) => /^Worth {2,}Rs 250\.00$/.test(l))).toBe(true);
    expect(lines.some((l) => /^Pending {2,}120 pts$/.test(l))).toBe(true);
  });

  it('prints the ledger statement with running balances, showrooms and who printed it', async () => {
    const { lines } = await printAndDecode(ledger(profile()));
    expect(lines.some((l) => /^Period {2,}01-01-2026 to 31-03-2026$/.test(l))).toBe(true);
    expect(lines.some((l) => /^Opening balance {2,}1,000 pts$/.test(l))).toBe(true);
    const rows = lines.filter((l) => /^\d\d-\d\d-\d{4} /.test(l));
    expect(rows.map((r) => r.split(/\s+/))).toEqual([
      ['10-01-2026', 'Earn', 'BLR01', '+250', '1,250'],
      ['14-02-2026', 'Redeem', 'MYS02', '-500', '750'],
      // 18:45 UTC is already the 2nd in India.
      ['02-03-2026', 'Bonus', '-', '+100', '850'],
    ]);
    expect(rows.every((r) => r.length === 48)).toBe(true);
    expect(lines.some((l) => /^Closing balance {2,}850 pts$/.test(l))).toBe(true);
    expect(lines).toContain('Printed by Priya Manager at 05-03-2026 14:07 IST');
  });

  it('prints a member card whose QR code maps back to the member', async () => {
    const { decoded, lines } = await printAndDecode(card(profile()));
    expect(lines).toContain('Lakshmi Narayanan');
    expect(lines.some((l) => /^Mobile {2,}\+91 XXXXXX3210$/.test(l))).toBe(true);
    expect(decoded.qrCodes).toEqual(['SLM1:4711:3210']);
    expect(parseMemberCardQr(decoded.qrCodes[0] ?? '')).toEqual({
      memberId: 4711,
      mobileLast4: '3210',
    });
  });

  it('fits 32 columns: long names wrap, statement rows split, nothing exceeds the paper', async () => {
    const longName = 'Venkata Lakshmi Narasimha Subramaniam Iyengar';
    const doc = describeSaleSlip(
      {
        ...header,
        billNumber: 'B-1',
        at,
        member: { ...member, name: longName },
        pointsEarned: 10,
        pointsRedeemed: 0,
        newBalance: 10,
      },
      profile(32),
    );
    const { decoded, lines } = await printAndDecode(doc, 32);
    for (const item of decoded.items) {
      if (item.kind === 'line') expect(item.text.length * item.width).toBeLessThanOrEqual(32);
    }
    // Every word of the name is printed whole, in order.
    expect(lines.filter((l) => longName.includes(l)).join(' ')).toBe(longName);
  });
});

describe('layouts and helpers', () => {
  it('splits statement rows over two lines on 58 mm paper, keeping the running balance', () => {
    const decoded = decodeEscPos(
      renderDocument(ledger(profile(32)), 'epson', profile(32)),
      'epson',
    );
    const lines = textLines(decoded);
    for (const line of decoded.lines) expect(line.length).toBeLessThanOrEqual(32);
    const at1250 = lines.findIndex((l) => l.startsWith('10-01-26 Earn'));
    expect(lines[at1250]).toMatch(/\+250$/);
    expect(lines[at1250 + 1]?.trim()).toBe('= 1,250');
    expect(lines.some((l) => l.trim() === '= 850')).toBe(true);
  });

  it('falls back to the member id for a Devanagari name unless the printer can print it', () => {
    const hindi = { ...member, name: 'लक्ष्मी नारायणन' };
    const plain = describeMemberCard(
      { chainName: 'Saree Mahal', member: hindi, issuedAt: at },
      profile(),
    );
    const plainLines = textLines(decodeEscPos(renderDocument(plain, 'epson', profile()), 'epson'));
    expect(plainLines).toContain('Member #4711');
    expect(plainLines.join('\n')).not.toContain('?');
    const capable: PaperProfile = { widthChars: 48, canPrintDevanagari: true };
    const named = describeMemberCard(
      { chainName: 'Saree Mahal', member: hindi, issuedAt: at },
      capable,
    );
    const namedLines = textLines(decodeEscPos(renderDocument(named, 'star', capable), 'star'));
    expect(namedLines).toContain('लक्ष्मी नारायणन');
  });

  it('refuses QR data that is not a member card', () => {
    expect(parseMemberCardQr('SLM1:0:3210')).toBeUndefined();
    expect(parseMemberCardQr('SLM1:12:919876543210')).toBeUndefined();
    expect(parseMemberCardQr('8901234567890')).toBeUndefined();
    expect(parseMemberCardQr(' SLM1:12:3210 ')).toEqual({ memberId: 12, mobileLast4: '3210' });
  });
});

describe('printer faults never block or lose the slip', () => {
  it('a printer that is switched off is reported offline, fast, with its address', async () => {
    await server.refuse();
    const printer = new ReceiptPrinter({ address: server.address, commandSet: 'epson' });
    const started = Date.now();
    const result = await printer.print(saleSlip(profile()));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(result).toMatchObject({ ok: false, code: 'offline', canReprint: true });
    if (result.ok) return;
    expect(result.message).toContain(`127.0.0.1:${server.port}`);
    expect(result.message).toContain('press Reprint');

    // Switched on again: Reprint sends the very bytes that failed.
    await server.accept();
    const again = await printer.reprint('sale-slip');
    expect(again).toEqual({ ok: true, kind: 'sale-slip' });
    const [bytes] = await server.waitForDocuments(1);
    expect(bytes).toEqual(printer.lastBytes('sale-slip'));
  });

  it('a STAR printer (no status query) that is switched off is offline too', async () => {
    await server.refuse();
    const printer = new ReceiptPrinter({ address: server.address, commandSet: 'star' });
    const result = await printer.print(pointSlip(profile()));
    expect(result).toMatchObject({ ok: false, code: 'offline' });
  });

  it('a printer that accepts but never answers times out within the timeout', async () => {
    server.mode = 'hang';
    const printer = new ReceiptPrinter({
      address: server.address,
      commandSet: 'epson',
      timeoutMs: 2_000,
      statusTimeoutMs: 300,
    });
    const started = Date.now();
    const result = await printer.print(saleSlip(profile()));
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ ok: false, code: 'timeout', canReprint: true });
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2_000);
    expect(server.documents()).toEqual([]);
  });

  it('a printer that drops the connection is reported, not hung on', async () => {
    server.mode = 'drop';
    const printer = new ReceiptPrinter({ address: server.address, commandSet: 'epson' });
    const result = await printer.print(saleSlip(profile()));
    expect(result).toMatchObject({ ok: false, code: 'offline' });
  });

  it('a printer out of paper says so and prints nothing; near end still prints', async () => {
    server.paperStatus = STATUS_PAPER_OUT;
    const printer = new ReceiptPrinter({ address: server.address, commandSet: 'epson' });
    const result = await printer.print(saleSlip(profile()));
    expect(result).toMatchObject({ ok: false, code: 'paper-out' });
    if (!result.ok) expect(result.message).toContain('out of paper');
    expect(server.documents()).toEqual([]);

    server.paperStatus = STATUS_PAPER_LOW;
    expect(await printer.reprint('sale-slip')).toEqual({
      ok: true,
      kind: 'sale-slip',
      warning: 'paper-low',
    });
    await server.waitForDocuments(1);
  });

  it('reprint sends identical bytes, per kind', async () => {
    const printer = new ReceiptPrinter({ address: server.address, commandSet: 'star' });
    await printer.print(card(profile()));
    await printer.print(saleSlip(profile()));
    await printer.reprint('member-card');
    const [first, second, third] = await server.waitForDocuments(3);
    expect(third).toEqual(first);
    expect(second).not.toEqual(first);
    expect(await printer.reprint('ledger-statement')).toMatchObject({
      ok: false,
      canReprint: false,
    });
  });

  it('an address that is none of the three forms is an error, not an exception', async () => {
    const printer = new ReceiptPrinter({ address: 'printer-on-desk', commandSet: 'epson' });
    const result = await printer.print(saleSlip(profile()));
    expect(result).toMatchObject({ ok: false, code: 'error' });
    if (!result.ok) expect(result.message).toContain('tcp://host:9100');
  });
});

describe('device path printing', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'printer-'));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes the same bytes as the network printer gets, and appends a reprint', async () => {
    const device = path.join(dir, 'lp0');
    fs.writeFileSync(device, '');
    const printer = new ReceiptPrinter({ address: device, commandSet: 'epson' });
    const doc = ledger(profile());
    expect(await printer.print(doc)).toEqual({ ok: true, kind: 'ledger-statement' });
    const expected = renderDocument(doc, 'epson', profile());
    expect(fs.readFileSync(device)).toEqual(expected);
    expect(await printer.reprint('ledger-statement')).toMatchObject({ ok: true });
    expect(fs.readFileSync(device)).toEqual(Buffer.concat([expected, expected]));
  });

  it('an unplugged device is offline, and no file appears in its place', async () => {
    const device = path.join(dir, 'usb', 'lp9');
    const printer = new ReceiptPrinter({ address: device, commandSet: 'epson' });
    const result = await printer.print(saleSlip(profile()));
    expect(result).toMatchObject({ ok: false, code: 'offline' });
    if (!result.ok) expect(result.message).toContain(device);
    expect(fs.existsSync(device)).toBe(false);
  });
});

const hasSocat = spawnSync('socat', ['-V']).status === 0;
if (!hasSocat) {
  if (process.env.CI === 'true')
    throw new Error('socat is required for the serial printer test under CI');
  console.warn('Skipping the serial printer test: socat is not installed.');
}

describe.skipIf(!hasSocat)('serial printer through a virtual pair', () => {
  let dir: string;
  let socat: ChildProcess;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'serial-'));
    socat = spawn('socat', [
      '-d',
      '-d',
      `pty,raw,echo=0,link=${dir}/ttyA`,
      `pty,raw,echo=0,link=${dir}/ttyB`,
    ]);
    const deadline = Date.now() + 5_000;
    while (!(fs.existsSync(`${dir}/ttyA`) && fs.existsSync(`${dir}/ttyB`))) {
      if (Date.now() > deadline) throw new Error('socat did not create the pair');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  afterAll(() => {
    socat.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints the member card at 9600 baud, byte for byte', async () => {
    const reader = new SerialPort({ path: `${dir}/ttyB`, baudRate: 9600 });
    const received: Buffer[] = [];
    reader.on('data', (chunk: Buffer) => {
      received.push(chunk);
    });
    await new Promise<void>((resolve, reject) => {
      reader.once('open', resolve);
      reader.once('error', reject);
    });
    try {
      const printer = new ReceiptPrinter({
        address: `serial:${dir}/ttyA?baud=9600`,
        commandSet: 'epson',
      });
      const doc = card(profile());
      expect(await printer.print(doc)).toEqual({ ok: true, kind: 'member-card' });
      const expected = renderDocument(doc, 'epson', profile());
      const deadline = Date.now() + 5_000;
      while (Buffer.concat(received).length < expected.length && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const bytes = Buffer.concat(received);
      expect(bytes).toEqual(expected);
      expect(decodeEscPos(bytes, 'epson').qrCodes).toEqual(['SLM1:4711:3210']);
    } finally {
      await new Promise((resolve) => {
        reader.close(resolve);
      });
    }
  });

  it('a serial port that does not exist is offline', async () => {
    const printer = new ReceiptPrinter({
      address: `serial:${dir}/ttyZ?baud=9600`,
      commandSet: 'epson',
    });
    const result = await printer.print(saleSlip(profile()));
    expect(result).toMatchObject({ ok: false, code: 'offline' });
  });
});

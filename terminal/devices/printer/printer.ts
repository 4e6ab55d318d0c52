import fs from 'node:fs/promises';
import net from 'node:net';
import { ThermalPrinter, PrinterTypes, CharacterSet, BreakLine } from 'node-thermal-printer';
import { SerialPort } from 'serialport';
import type { Block, DocumentKind, PaperProfile, PrintDocument } from './documents.ts';

/** The command sets the counter supports. */
export type CommandSet = 'epson' | 'star';

/** Where the bytes go, parsed from the configured address. */
export type PrinterTarget =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'device'; path: string }
  | { kind: 'serial'; path: string; baudRate: number };

/** Why a print failed, for the status bar and the Reprint button. */
export type PrintFailureCode = 'offline' | 'timeout' | 'paper-out' | 'error';

/** Outcome of one print; a failure always leaves the document ready for `reprint(kind)`. */
export type PrintResult =
  | { ok: true; kind: DocumentKind; warning?: 'paper-low' }
  | {
      ok: false;
      kind: DocumentKind;
      code: PrintFailureCode;
      /** Tells the cashier what to check, in plain words. */
      message: string;
      canReprint: boolean;
    };

/** Paper state from DLE EOT 4, or why it could not be read. */
export type PaperStatus =
  | { ok: true; paper: 'ok' | 'low' | 'out' | 'unknown' }
  | { ok: false; code: 'offline' | 'timeout'; detail: string };

/** How the terminal configures its printer. */
export interface ReceiptPrinterOptions {
  /** `tcp://host:9100`, a device path such as `/dev/usb/lp0`, or `serial:/dev/ttyUSB0?baud=9600`. */
  address: string;
  commandSet: CommandSet;
  widthChars?: 32 | 48;
  canPrintDevanagari?: boolean;
  /** Upper bound on one print, connection included; the caller never waits longer. */
  timeoutMs?: number;
  /**
   * Ask a TCP printer for its paper state (DLE EOT 4) before printing. On by default for EPSON;
   * off for STAR, whose native Star Line mode does not answer DLE EOT.
   */
  checkPaper?: boolean;
  /** How long a TCP printer may take to answer the paper query. */
  statusTimeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_STATUS_TIMEOUT_MS = 500;

/** DLE EOT 4: transmit roll paper sensor status (real-time, answered even mid-job). */
export const PAPER_STATUS_QUERY = Buffer.from([0x10, 0x04, 0x04]);

/** Reads the answer to DLE EOT 4: bits 5-6 paper end, bits 2-3 near end; bits 1 and 4 are fixed 1. */
export function readPaperStatusByte(byte: number): 'ok' | 'low' | 'out' | 'unknown' {
  if ((byte & 0x93) !== 0x12) return 'unknown';
  if ((byte & 0x60) !== 0) return 'out';
  if ((byte & 0x0c) !== 0) return 'low';
  return 'ok';
}

/** Parses a configured printer address; undefined when it is none of the three forms. */
export function parsePrinterAddress(address: string): PrinterTarget | undefined {
  const tcp = /^tcp:\/\/([^/:]+)(?::(\d{1,5}))?\/?$/i.exec(address);
  if (tcp) {
    const port = Number(tcp[2] ?? '9100');
    return port > 0 && port < 65536 ? { kind: 'tcp', host: tcp[1] ?? '', port } : undefined;
  }
  const serial = /^serial:([^?]+)(?:\?baud=(\d+))?$/i.exec(address);
  if (serial) {
    return { kind: 'serial', path: serial[1] ?? '', baudRate: Number(serial[2] ?? '9600') };
  }
  if (/^(\/|[A-Za-z]:\\|\\\\)/.test(address)) return { kind: 'device', path: address };
  return undefined;
}

function describeTarget(target: PrinterTarget): string {
  switch (target.kind) {
    case 'tcp':
      return `The printer at ${target.host}:${target.port}`;
    case 'device':
      return `The printer at ${target.path}`;
    case 'serial':
      return `The serial printer on ${target.path}`;
  }
}

function encodeText(text: string, profile: PaperProfile): Buffer {
  // ASCII is the same in every code page; Devanagari goes as UTF-8 only to printers set up for it.
  if (/^[\x20-\x7E]*$/.test(text)) return Buffer.from(text, 'latin1');
  if (profile.canPrintDevanagari) return Buffer.from(text, 'utf8');
  return Buffer.from(text.replace(/[^\x20-\x7E]/g, '?'), 'latin1');
}

function applyStyle(printer: ThermalPrinter, block: Block & { kind: 'text' }): void {
  if (block.align === 'center') printer.alignCenter();
  else if (block.align === 'right') printer.alignRight();
  // Size before bold: EPSON's size command (ESC !) also clears emphasis.
  if (block.size === 'tall') printer.setTextDoubleHeight();
  else if (block.size === 'large') printer.setTextQuadArea();
  if (block.bold === true) printer.bold(true);
}

function resetStyle(printer: ThermalPrinter, block: Block & { kind: 'text' }): void {
  if (block.size !== undefined && block.size !== 'normal') printer.setTextNormal();
  if (block.bold === true) printer.bold(false);
  if (block.align !== undefined && block.align !== 'left') printer.alignLeft();
}

/** Builds the ESC/POS (EPSON) or Star Line (STAR) bytes of a document; pure apart from the library. */
export function renderDocument(
  document: PrintDocument,
  commandSet: CommandSet,
  profile: PaperProfile,
): Buffer {
  const printer = new ThermalPrinter({
    type: commandSet === 'epson' ? PrinterTypes.EPSON : PrinterTypes.STAR,
    // No interface: this instance only builds bytes; sending is done per target below.
    interface: '',
    width: profile.widthChars,
    // The documents wrap to the paper themselves; the library's own folding would re-wrap.
    breakLine: BreakLine.NONE,
  });
  printer.add(Buffer.from([0x1b, 0x40])); // ESC @ (both sets): a clean state after any earlier job
  printer.setCharacterSet(CharacterSet.PC437_USA);
  const width = profile.widthChars;
  for (const block of document.blocks) {
    switch (block.kind) {
      case 'text':
        applyStyle(printer, block);
        printer.append(encodeText(block.text, profile));
        printer.newLine();
        resetStyle(printer, block);
        break;
      case 'columns': {
        const gap = Math.max(1, width - block.left.length - block.right.length);
        if (block.bold === true) printer.bold(true);
        printer.append(encodeText(`${block.left}${' '.repeat(gap)}${block.right}`, profile));
        printer.newLine();
        if (block.bold === true) printer.bold(false);
        break;
      }
      case 'rule':
        printer.drawLine('-');
        break;
      case 'qr':
        printer.alignCenter();
        if (commandSet === 'epson') {
          printer.printQR(block.data, { model: 2, cellSize: 6, correction: 'M' });
        } else {
          printer.add(starQrCode(block.data));
        }
        printer.newLine();
        printer.alignLeft();
        break;
      case 'cut':
        printer.cut();
        break;
    }
  }
  return Buffer.from(printer.getBuffer());
}

/**
 * Star Line mode QR code, written out here because node-thermal-printer 4.6.1's STAR printQR
 * leaves out the "ESC GS y D 1 0" data header, so a Star printer would print the length and the
 * data as text and an empty symbol.
 */
export function starQrCode(data: string): Buffer {
  const bytes = Buffer.from(data, 'latin1');
  return Buffer.concat([
    Buffer.from([0x1b, 0x1d, 0x79, 0x53, 0x30, 0x02]), // model 2
    Buffer.from([0x1b, 0x1d, 0x79, 0x53, 0x31, 0x01]), // correction M (15 %)
    Buffer.from([0x1b, 0x1d, 0x79, 0x53, 0x32, 0x06]), // cell size 6 dots
    Buffer.from([0x1b, 0x1d, 0x79, 0x44, 0x31, 0x00, bytes.length % 256, bytes.length >> 8]),
    bytes,
    Buffer.from([0x1b, 0x1d, 0x79, 0x50]), // print
  ]);
}

class PrintError extends Error {
  readonly code: PrintFailureCode;
  constructor(code: PrintFailureCode, detail: string) {
    super(detail);
    this.code = code;
  }
}

function errnoOf(error: unknown): string | undefined {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string')
    return error.code;
  return undefined;
}

function classify(error: unknown): PrintError {
  if (error instanceof PrintError) return error;
  const code = errnoOf(error);
  const detail = error instanceof Error ? error.message : String(error);
  if (code === 'ETIMEDOUT' || /timeout/i.test(detail)) return new PrintError('timeout', detail);
  const offline = [
    'ECONNREFUSED',
    'ECONNRESET',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EPIPE',
    'ENOENT',
    'ENODEV',
    'ENXIO',
    'EACCES',
  ];
  if (code !== undefined && offline.includes(code)) return new PrintError('offline', detail);
  if (/cannot open|no such file|not found/i.test(detail)) return new PrintError('offline', detail);
  return new PrintError('error', detail);
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number, onTimeout: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new PrintError('timeout', `no answer in ${timeoutMs} ms`));
    }, timeoutMs);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Sends DLE EOT 4 on its own connection and reads the one-byte answer. */
export function queryPaperStatus(
  host: string,
  port: number,
  connectTimeoutMs: number,
  answerTimeoutMs: number,
): Promise<PaperStatus> {
  return new Promise((resolve) => {
    let settled = false;
    const socket = net.connect({ host, port });
    const finish = (status: PaperStatus): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(status);
    };
    let timer = setTimeout(() => {
      finish({ ok: false, code: 'timeout', detail: 'connecting took too long' });
    }, connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        finish({ ok: false, code: 'timeout', detail: 'no answer to the status query' });
      }, answerTimeoutMs);
      socket.write(PAPER_STATUS_QUERY);
    });
    socket.once('data', (data: Buffer) => {
      const byte = data[0];
      finish({ ok: true, paper: byte === undefined ? 'unknown' : readPaperStatusByte(byte) });
    });
    socket.once('error', (error) => {
      finish({ ok: false, code: 'offline', detail: error.message });
    });
    socket.once('close', () => {
      finish({ ok: false, code: 'offline', detail: 'the printer closed the connection' });
    });
  });
}

/**
 * The counter's receipt printer. Every print is bounded by a timeout and never throws: a sale is
 * already saved before its slip prints, and a failed slip is kept for `reprint`.
 */
export class ReceiptPrinter {
  readonly commandSet: CommandSet;
  readonly profile: PaperProfile;
  readonly target: PrinterTarget | undefined;
  readonly #address: string;
  readonly #timeoutMs: number;
  readonly #statusTimeoutMs: number;
  readonly #checkPaper: boolean;
  readonly #last = new Map<DocumentKind, Buffer>();
  // One job at a time: a serial line or a device file interleaving two slips prints garbage.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: ReceiptPrinterOptions) {
    this.#address = options.address;
    this.commandSet = options.commandSet;
    this.profile = {
      widthChars: options.widthChars ?? 48,
      canPrintDevanagari: options.canPrintDevanagari ?? false,
    };
    this.target = parsePrinterAddress(options.address);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#statusTimeoutMs = options.statusTimeoutMs ?? DEFAULT_STATUS_TIMEOUT_MS;
    this.#checkPaper = options.checkPaper ?? options.commandSet === 'epson';
  }

  /** Renders and prints a document; keeps its bytes, so Reprint sends exactly the same slip. */
  print(document: PrintDocument): Promise<PrintResult> {
    let bytes: Buffer;
    try {
      bytes = renderDocument(document, this.commandSet, this.profile);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      return Promise.resolve({
        ok: false,
        kind: document.kind,
        code: 'error',
        message: `This slip could not be prepared for the printer (${detail}).${afterwards(document.kind)}`,
        canReprint: false,
      });
    }
    this.#last.set(document.kind, bytes);
    return this.#enqueue(document.kind, bytes);
  }

  /** Sends the last document of this kind again, byte for byte. */
  reprint(kind: DocumentKind): Promise<PrintResult> {
    const bytes = this.#last.get(kind);
    if (!bytes) {
      return Promise.resolve({
        ok: false,
        kind,
        code: 'error',
        message: 'There is nothing of this kind to reprint yet.',
        canReprint: false,
      });
    }
    return this.#enqueue(kind, bytes);
  }

  /** The bytes last printed (or attempted) for a kind, for tests and diagnostics. */
  lastBytes(kind: DocumentKind): Buffer | undefined {
    return this.#last.get(kind);
  }

  #enqueue(kind: DocumentKind, bytes: Buffer): Promise<PrintResult> {
    const job = this.#queue.then(() => this.#send(kind, bytes));
    this.#queue = job;
    return job;
  }

  async #send(kind: DocumentKind, bytes: Buffer): Promise<PrintResult> {
    const target = this.target;
    if (!target) {
      return {
        ok: false,
        kind,
        code: 'error',
        message: `The printer address "${this.#address}" is not understood: use tcp://host:9100, a device path such as /dev/usb/lp0, or serial:/dev/ttyUSB0?baud=9600.`,
        canReprint: true,
      };
    }
    const started = Date.now();
    let warning: 'paper-low' | undefined;
    try {
      if (target.kind === 'tcp' && this.#checkPaper) {
        const status = await queryPaperStatus(
          target.host,
          target.port,
          this.#timeoutMs,
          Math.min(this.#statusTimeoutMs, this.#timeoutMs),
        );
        if (!status.ok) throw new PrintError(status.code, status.detail);
        if (status.paper === 'out') throw new PrintError('paper-out', 'paper end sensor');
        if (status.paper === 'low') warning = 'paper-low';
      }
      const remainingMs = Math.max(1, this.#timeoutMs - (Date.now() - started));
      await this.#transmit(target, bytes, remainingMs);
      return warning ? { ok: true, kind, warning } : { ok: true, kind };
    } catch (error) {
      const failure = classify(error);
      return {
        ok: false,
        kind,
        code: failure.code,
        message: explain(target, failure, kind),
        canReprint: true,
      };
    }
  }

  async #transmit(target: PrinterTarget, bytes: Buffer, timeoutMs: number): Promise<void> {
    switch (target.kind) {
      case 'tcp': {
        const printer = new ThermalPrinter({
          type: this.commandSet === 'epson' ? PrinterTypes.EPSON : PrinterTypes.STAR,
          interface: `tcp://${target.host}:${target.port}`,
          options: { timeout: timeoutMs },
        });
        await withTimeout(printer.raw(bytes), timeoutMs, () => undefined);
        return;
      }
      case 'device':
        await withTimeout(writeToDevice(target.path, bytes), timeoutMs, () => undefined);
        return;
      case 'serial': {
        const port = new SerialPort({
          path: target.path,
          baudRate: target.baudRate,
          autoOpen: false,
        });
        const closeQuietly = (): void => {
          if (port.isOpen) port.close(() => undefined);
        };
        try {
          await withTimeout(writeToSerial(port, bytes), timeoutMs, closeQuietly);
        } finally {
          closeQuietly();
        }
        return;
      }
    }
  }
}

async function writeToDevice(path: string, bytes: Buffer): Promise<void> {
  // No O_CREAT: an unplugged USB printer must fail, not leave a regular file where its device was.
  // O_APPEND: a file stands in for the paper stream, so a reprint follows the first copy.
  const handle = await fs.open(path, fs.constants.O_WRONLY | fs.constants.O_APPEND);
  try {
    await handle.write(bytes);
  } finally {
    await handle.close();
  }
}

function writeToSerial(port: SerialPort, bytes: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    port.open((openError) => {
      if (openError) {
        reject(openError);
        return;
      }
      port.write(bytes, (writeError) => {
        if (writeError) {
          reject(writeError);
          return;
        }
        // drain: the slip has left the UART buffer, not just Node's.
        port.drain((drainError) => {
          if (drainError) reject(drainError);
          else resolve();
        });
      });
    });
  });
}

function afterwards(kind: DocumentKind): string {
  return kind === 'sale-slip'
    ? ' The sale is saved; press Reprint.'
    : ' Nothing is lost; press Reprint.';
}

function explain(target: PrinterTarget, failure: PrintError, kind: DocumentKind): string {
  const who = describeTarget(target);
  const then = afterwards(kind);
  switch (failure.code) {
    case 'offline':
      if (target.kind === 'tcp') {
        return `${who} does not answer: check that it is switched on and connected.${then}`;
      }
      return `${who} cannot be reached: check that it is switched on and its cable is plugged in.${then}`;
    case 'timeout':
      return `${who} did not respond in time: check for a paper jam or an open cover, or switch it off and on.${then}`;
    case 'paper-out':
      return `${who} is out of paper: load a new roll.${then}`;
    case 'error':
      return `${who} reported a problem (${failure.message}).${then}`;
  }
}

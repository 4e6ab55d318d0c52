/**
 * Serial (RS-232 or USB-CDC) barcode scanners: each scan arrives as one line of text on the port.
 * The adapter opens the port, splits lines, classifies each code, reports its state in words a
 * cashier or IT person can act on, and reopens the port by itself after it goes away.
 */
import { EventEmitter } from 'node:events';
import type { TransformCallback } from 'node:stream';
import { ReadlineParser, SerialPort } from 'serialport';
import { classifyCode, type ScannedCode } from './codes.ts';

/** The scanner's line suffix, as set in its configuration (most ship with CR). */
export type LineTerminator = 'CR' | 'LF' | 'CRLF';

/** Where and how to read the scanner; only `path` is required. */
export type SerialScannerOptions = {
  /** The port, e.g. `/dev/ttyUSB0` or `COM3` (the terminal reads it from SCANNER_PORT). */
  path: string;
  /** Defaults to 9600, the factory setting of most scanners. */
  baudRate?: number;
  dataBits?: 5 | 6 | 7 | 8;
  parity?: 'none' | 'even' | 'odd' | 'mark' | 'space';
  stopBits?: 1 | 1.5 | 2;
  /** Defaults to CR. With CR, a CRLF scanner also works (the LF is stripped as whitespace). */
  terminator?: LineTerminator;
  /** How often to try reopening a port that went away; defaults to 1000 ms. */
  reconnectIntervalMs?: number;
  /** How many reopen attempts in a row before giving up; defaults to unlimited. */
  maxReconnectAttempts?: number;
  /** Longest line accepted, in characters; defaults to 256. */
  maxLineLength?: number;
};

/** A state change or a problem, with a message meant for the status bar. */
export type ScannerStatus =
  | { state: 'connected'; message: string }
  | { state: 'disconnected'; message: string }
  | { state: 'error'; message: string };

/** One line read from the scanner, with what it means. */
export type SerialScan = { text: string; code: ScannedCode };

/** The events a serial scanner emits. */
export type SerialScannerEvents = {
  scan: [SerialScan];
  status: [ScannerStatus];
};

/** Where the adapter is: 'connecting' until the first open, 'closed' after `close()`. */
export type SerialScannerState = 'connecting' | 'connected' | 'disconnected' | 'closed';

const TERMINATORS: Record<LineTerminator, string> = { CR: '\r', LF: '\n', CRLF: '\r\n' };

/** A serial scanner adapter; create it with `openSerialScanner`. */
export class SerialScanner extends EventEmitter<SerialScannerEvents> {
  readonly #options: Required<SerialScannerOptions>;
  #port: SerialPort | undefined;
  #parser: BoundedLineParser | undefined;
  #timer: NodeJS.Timeout | undefined;
  #state: SerialScannerState = 'connecting';
  #failedAttempts = 0;
  #lastFailure: string | undefined;
  // Strict decoding: a wrong baud rate or parity shows up as invalid UTF-8, never as a scan.
  readonly #decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(options: SerialScannerOptions) {
    super();
    this.#options = {
      baudRate: 9600,
      dataBits: 8,
      parity: 'none',
      stopBits: 1,
      terminator: 'CR',
      reconnectIntervalMs: 1000,
      maxReconnectAttempts: Number.POSITIVE_INFINITY,
      maxLineLength: 256,
      ...options,
    };
  }

  /** The current state, for the status bar. */
  get state(): SerialScannerState {
    return this.#state;
  }

  /** Starts opening the port; status events follow. Called by `openSerialScanner`. */
  start(): void {
    this.#tryOpen();
  }

  /** Closes the port and stops reconnecting; no events follow. */
  async close(): Promise<void> {
    this.#state = 'closed';
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const port = this.#port;
    this.#detach();
    if (port?.isOpen === true) {
      await new Promise<void>((resolve) => {
        port.close(() => {
          resolve();
        });
      });
    }
  }

  #tryOpen(): void {
    this.#timer = undefined;
    if (this.#state === 'closed') return;
    const { path, baudRate, dataBits, parity, stopBits } = this.#options;
    const port = new SerialPort({ path, baudRate, dataBits, parity, stopBits, autoOpen: false });
    port.open((error) => {
      if (this.#state === 'closed') {
        if (!error) port.close();
        return;
      }
      if (error) {
        this.#onOpenFailed(error);
      } else {
        this.#attach(port);
      }
    });
  }

  #onOpenFailed(error: Error): void {
    this.#failedAttempts++;
    if (this.#state === 'connecting') this.#state = 'disconnected';
    const message = describeOpenError(this.#options.path, error);
    // While polling, the same failure every second would drown the status bar: say it once.
    if (message !== this.#lastFailure) {
      this.#lastFailure = message;
      this.#emitStatus({ state: 'error', message });
    }
    if (this.#failedAttempts >= this.#options.maxReconnectAttempts) {
      this.#emitStatus({
        state: 'error',
        message: `Gave up opening scanner port ${this.#options.path} after ${this.#failedAttempts} attempts: fix the cable or SCANNER_PORT and restart the terminal.`,
      });
      return;
    }
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#state === 'closed' || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#tryOpen();
    }, this.#options.reconnectIntervalMs);
    // A scanner being polled must not keep the process alive on its own.
    this.#timer.unref();
  }

  #attach(port: SerialPort): void {
    const { path, terminator, maxLineLength } = this.#options;
    this.#port = port;
    this.#failedAttempts = 0;
    this.#lastFailure = undefined;
    // Not piped: a pipe would end the parser on close and flush a half-received line as a scan.
    const parser = new BoundedLineParser(TERMINATORS[terminator], maxLineLength * 4, () => {
      this.#note(
        `Scanner on ${path} sent over ${maxLineLength} characters without a line end; ignored. Check that its suffix setting (CR/LF) matches the terminal's (${terminator}).`,
      );
    });
    this.#parser = parser;
    parser.on('data', (line: string) => {
      this.#onLine(line);
    });
    port.on('data', (chunk: Buffer) => {
      parser.write(chunk);
    });
    port.on('error', (error) => {
      this.#note(`Scanner port ${path} reported an error: ${error.message}`);
    });
    port.on('close', () => {
      if (this.#port !== port || this.#state === 'closed') return;
      this.#detach();
      this.#emitStatus({
        state: 'disconnected',
        message: `Scanner on ${path} was disconnected; reconnecting by itself. Check the cable if this lasts.`,
      });
      this.#scheduleRetry();
    });
    this.#emitStatus({ state: 'connected', message: `Scanner connected on ${path}.` });
  }

  #detach(): void {
    this.#port?.removeAllListeners('data');
    this.#parser?.destroy();
    this.#parser = undefined;
    this.#port = undefined;
  }

  #onLine(latin1: string): void {
    const { path, maxLineLength } = this.#options;
    const bytes = Buffer.from(latin1, 'latin1');
    let text: string;
    try {
      text = this.#decoder.decode(bytes).trim();
    } catch {
      this.#note(
        `Scanner on ${path} sent ${bytes.length} bytes that are not text; ignored. Check its baud rate (${this.#options.baudRate}) and parity.`,
      );
      return;
    }
    if (text.length === 0) return;
    if (text.length > maxLineLength) {
      this.#note(
        `Scanner on ${path} sent a line over ${maxLineLength} characters; ignored. Scan the product barcode or member card only.`,
      );
      return;
    }
    this.emit('scan', { text, code: classifyCode(text) });
  }

  // A note about bad input: reported as 'error' but the connection state does not change.
  #note(message: string): void {
    this.emit('status', { state: 'error', message });
  }

  #emitStatus(status: ScannerStatus): void {
    if (status.state !== 'error') this.#state = status.state;
    this.emit('status', status);
  }
}

/** Creates a serial scanner and starts opening its port; listen for 'scan' and 'status'. */
export function openSerialScanner(options: SerialScannerOptions): SerialScanner {
  const scanner = new SerialScanner(options);
  // Deferred so that listeners attached right after this call see the first status.
  queueMicrotask(() => {
    scanner.start();
  });
  return scanner;
}

/** Turns an open failure into what to do about it. */
export function describeOpenError(path: string, error: Error): string {
  const text = error.message;
  if (/ENOENT|No such file|File not found|cannot find/i.test(text)) {
    return `Scanner port ${path} not found: check the cable and SCANNER_PORT.`;
  }
  if (/EACCES|Permission denied|Access denied/i.test(text)) {
    return `No permission to open scanner port ${path}: on Linux add the terminal's user to the dialout group; check SCANNER_PORT.`;
  }
  if (/EBUSY|lock|Resource temporarily unavailable|in use/i.test(text)) {
    return `Scanner port ${path} is in use by another program: close it, or check SCANNER_PORT.`;
  }
  return `Scanner port ${path} could not be opened (${text}): check the cable and SCANNER_PORT.`;
}

/**
 * The library's line parser with a bound: bytes piling up without a line end (a wrong suffix
 * setting, line noise) are dropped once over `maxBytes`, up to the next line end, instead of
 * growing without limit. Lines come out as latin1 strings, one char per byte, so the adapter can
 * check them as UTF-8 itself: the stream's own decoder would carry a broken sequence into the
 * next line.
 */
class BoundedLineParser extends ReadlineParser {
  readonly #maxBytes: number;
  readonly #onOverflow: () => void;
  #isDiscarding = false;
  #carry: Buffer = Buffer.alloc(0);

  constructor(delimiter: string, maxBytes: number, onOverflow: () => void) {
    super({ delimiter, encoding: 'latin1' });
    this.#maxBytes = maxBytes;
    this.#onOverflow = onOverflow;
  }

  override _transform(chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback): void {
    let rest = chunk;
    if (this.#isDiscarding) {
      // The carry keeps a delimiter split across two chunks findable.
      const data = Buffer.concat([this.#carry, chunk]);
      const end = data.indexOf(this.delimiter);
      if (end === -1) {
        this.#carry = data.subarray(Math.max(0, data.length - (this.delimiter.length - 1)));
        callback();
        return;
      }
      this.#isDiscarding = false;
      this.#carry = Buffer.alloc(0);
      rest = data.subarray(end + this.delimiter.length);
    }
    super._transform(rest, encoding, (error?: Error | null) => {
      if (this.buffer.length > this.#maxBytes) {
        this.buffer = Buffer.alloc(0);
        this.#isDiscarding = true;
        this.#onOverflow();
      }
      callback(error);
    });
  }
}

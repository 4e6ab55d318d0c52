import { EventEmitter } from 'node:events';
import {
  ReceiptPrinter,
  parsePrinterAddress,
  type CommandSet,
  type PrintResult,
} from '../devices/printer/printer.ts';
import type { DocumentKind, PrintDocument } from '../devices/printer/documents.ts';
import {
  openSerialScanner,
  type ScannerStatus,
  type SerialScanner,
} from '../devices/scanner/serial.ts';
import { createHidScanner, type HidScanner } from '../devices/scanner/hid.ts';
import type { PrintOutcome, PrinterStatus } from './contract.ts';

/** How the counter's devices are configured (from the command line or the environment). */
export interface DeviceConfig {
  /** `tcp://host:9100`, a device path, or `serial:/dev/ttyUSB0?baud=9600`; none → no printer. */
  printer?: string;
  printerCommandSet?: CommandSet;
  printerWidthChars?: 32 | 48;
  printerDevanagari?: boolean;
  /** `serial:/dev/ttyUSB0?baud=9600` or `hid` (any HID-POS scanner) or `hid:VID:PID` (hex). */
  scanners?: string[];
}

export interface ScannerState {
  name: string;
  kind: 'serial' | 'hid';
  state: 'connected' | 'connecting' | 'disconnected' | 'not-found';
  message: string | null;
}

type Scanner = SerialScanner | HidScanner;

/** A parsed scanner setting, or why it cannot be used. */
export type ScannerSpec =
  | { kind: 'serial'; path: string; baudRate: number }
  | { kind: 'hid'; vendorId?: number; productId?: number }
  | { kind: 'invalid'; message: string };

/** Reads one scanner setting; a typo gets a sentence naming the accepted forms. */
export function parseScannerSpec(text: string): ScannerSpec {
  const serial = /^serial:([^?]+)(?:\?baud=(\d{3,7}))?$/i.exec(text.trim());
  if (serial) {
    return { kind: 'serial', path: serial[1] ?? '', baudRate: Number(serial[2] ?? '9600') };
  }
  const hid = /^hid(?::([0-9a-f]{4}):([0-9a-f]{4}))?$/i.exec(text.trim());
  if (hid) {
    return hid[1] && hid[2]
      ? { kind: 'hid', vendorId: parseInt(hid[1], 16), productId: parseInt(hid[2], 16) }
      : { kind: 'hid' };
  }
  return {
    kind: 'invalid',
    message: `Scanner setting "${text}" is not understood: use serial:/dev/ttyUSB0?baud=9600 (COM3 on Windows), hid, or hid:VVVV:PPPP.`,
  };
}

/**
 * The counter's printer and scanners, with the state the status bar shows. Scans are emitted as
 * ('scan', text, source); any state change as 'status'. Nothing here ever throws at the caller:
 * a missing or broken device is a state with a message.
 */
export class CounterDevices extends EventEmitter {
  readonly printer: ReceiptPrinter | undefined;
  private printerState: PrinterStatus['state'];
  private printerMessage: string | null;
  private readonly scanners: { spec: string; scanner?: Scanner; state: ScannerState }[] = [];
  private printing = 0;

  constructor(config: DeviceConfig) {
    super();
    if (!config.printer) {
      this.printer = undefined;
      this.printerState = 'not-configured';
      this.printerMessage = 'No receipt printer is set up for this counter.';
    } else if (!parsePrinterAddress(config.printer)) {
      this.printer = undefined;
      this.printerState = 'error';
      this.printerMessage = `Printer address "${config.printer}" is not understood: use tcp://192.168.1.50:9100, a device path like /dev/usb/lp0, or serial:/dev/ttyUSB0?baud=9600.`;
    } else {
      this.printer = new ReceiptPrinter({
        address: config.printer,
        commandSet: config.printerCommandSet ?? 'epson',
        widthChars: config.printerWidthChars ?? 48,
        canPrintDevanagari: config.printerDevanagari ?? false,
      });
      this.printerState = 'ready';
      this.printerMessage = null;
    }
    for (const text of config.scanners ?? []) this.addScanner(text);
  }

  private addScanner(text: string): void {
    const spec = parseScannerSpec(text);
    if (spec.kind === 'invalid') {
      this.scanners.push({
        spec: text,
        state: { name: text, kind: 'serial', state: 'not-found', message: spec.message },
      });
      return;
    }
    if (spec.kind === 'serial') {
      const entry: (typeof this.scanners)[number] = {
        spec: text,
        state: { name: spec.path, kind: 'serial', state: 'connecting', message: null },
      };
      const scanner = openSerialScanner({ path: spec.path, baudRate: spec.baudRate });
      entry.scanner = scanner;
      scanner.on('scan', (scan) => this.emit('scan', scan.text, `serial:${spec.path}`));
      scanner.on('status', (status) => {
        this.onScannerStatus(entry, status);
      });
      this.scanners.push(entry);
      return;
    }
    const entry: (typeof this.scanners)[number] = {
      spec: text,
      state: { name: 'HID-POS', kind: 'hid', state: 'connecting', message: null },
    };
    this.scanners.push(entry);
    void createHidScanner({
      ...(spec.vendorId === undefined ? {} : { vendorId: spec.vendorId }),
      ...(spec.productId === undefined ? {} : { productId: spec.productId }),
    }).then((result) => {
      if (!result.scanner) {
        entry.state = { ...entry.state, state: 'not-found', message: result.reason };
      } else {
        entry.scanner = result.scanner;
        entry.state = { ...entry.state, state: 'connected', message: null };
        result.scanner.on('scan', (scan) => this.emit('scan', scan.text, 'hid'));
        result.scanner.on('status', (status) => {
          this.onScannerStatus(entry, status);
        });
      }
      this.emit('status');
    });
  }

  private onScannerStatus(entry: { state: ScannerState }, status: ScannerStatus): void {
    entry.state = {
      ...entry.state,
      state: status.state === 'error' ? 'disconnected' : status.state,
      message: status.message,
    };
    this.emit('status');
  }

  printerStatus(): PrinterStatus {
    const reprintable: DocumentKind[] = [];
    if (this.printer) {
      for (const kind of ['sale-slip', 'point-slip', 'ledger-statement', 'member-card'] as const) {
        if (this.printer.lastBytes(kind)) reprintable.push(kind);
      }
    }
    return {
      state: this.printing > 0 ? 'printing' : this.printerState,
      message: this.printerMessage,
      reprintable,
    };
  }

  scannerStates(): ScannerState[] {
    return this.scanners.map((s) => s.state);
  }

  /** Prints a document; the outcome says what the cashier should do if it failed. */
  async print(document: PrintDocument): Promise<PrintOutcome> {
    if (!this.printer) return this.noPrinter(document.kind);
    return this.track(this.printer.print(document));
  }

  /** Sends the last document of this kind again, byte for byte. */
  async reprint(kind: DocumentKind): Promise<PrintOutcome> {
    if (!this.printer) return this.noPrinter(kind);
    return this.track(this.printer.reprint(kind));
  }

  private noPrinter(kind: string): PrintOutcome {
    return { ok: false, kind, message: this.printerMessage, canReprint: false };
  }

  private async track(job: Promise<PrintResult>): Promise<PrintOutcome> {
    this.printing += 1;
    this.emit('status');
    const result = await job.finally(() => {
      this.printing -= 1;
    });
    if (result.ok) {
      this.printerState = result.warning === 'paper-low' ? 'paper-low' : 'ready';
      this.printerMessage =
        result.warning === 'paper-low'
          ? 'The paper roll is nearly finished; change it soon.'
          : null;
    } else {
      this.printerState =
        result.code === 'paper-out' ? 'paper-out' : result.code === 'error' ? 'error' : 'offline';
      this.printerMessage = result.message;
    }
    this.emit('status');
    return result.ok
      ? { ok: true, kind: result.kind, message: this.printerMessage, canReprint: true }
      : { ok: false, kind: result.kind, message: result.message, canReprint: result.canReprint };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.scanners.map(async (s) => {
        await s.scanner?.close();
      }),
    );
  }
}

/**
 * USB HID-POS barcode scanners (HID usage page 0x8C) through `node-hid`, an optional dependency:
 * the packaging step adds it where its native build is available. Without it, keyboard-wedge and
 * serial scanners still work, and `createHidScanner` says so instead of throwing.
 *
 * Report format implemented (the "scanned data" input report most HID-POS firmwares send;
 * vendors differ, so check the scanner's manual if codes come out wrong):
 *
 *   byte 0          report ID (0x02), present when `hasReportId` (node-hid passes it through)
 *   byte 1          L, the number of data bytes in this report
 *   bytes 2–4       AIM symbology identifier, e.g. "]E0" for EAN-13; NUL bytes when not sent
 *   bytes 5…5+L−1   the symbol data (ASCII/UTF-8), zero padded up to the report size
 *   last byte       bit 0 set: more reports follow for the same symbol (long QR codes)
 *
 * Offsets above are with the report ID; without it every offset is one less.
 */
import { EventEmitter } from 'node:events';
import { classifyCode, type ScannedCode } from './codes.ts';
import type { ScannerStatus } from './serial.ts';

/** The HID usage page of point-of-sale barcode scanners. */
export const HID_POS_USAGE_PAGE = 0x8c;

/** The report ID of the scanned-data report. */
export const HID_POS_SCAN_REPORT_ID = 0x02;

/** One decoded report: part or all of a symbol. */
export type HidPosReport = { data: string; symbologyId: string; hasMore: boolean };

/** The outcome of decoding one report. */
export type HidPosDecodeResult = { ok: true; report: HidPosReport } | { ok: false; reason: string };

/** Decodes one HID-POS scanned-data report (format in this module's header). Pure. */
export function decodeHidPosReport(
  bytes: Uint8Array,
  options: { hasReportId?: boolean } = {},
): HidPosDecodeResult {
  const hasReportId = options.hasReportId ?? true;
  const base = hasReportId ? 1 : 0;
  if (hasReportId && bytes[0] !== HID_POS_SCAN_REPORT_ID) {
    return { ok: false, reason: `Not a scanned-data report (report ID ${bytes[0] ?? 'missing'}).` };
  }
  const length = bytes[base];
  if (length === undefined) return { ok: false, reason: 'The report is empty.' };
  const dataStart = base + 4;
  // The last byte holds the continuation flag, so the data must end before it.
  if (dataStart + length > bytes.length - 1) {
    return {
      ok: false,
      reason: `The report says ${length} data bytes but has room for ${Math.max(0, bytes.length - 1 - dataStart)}.`,
    };
  }
  let data: string;
  try {
    data = new TextDecoder('utf-8', { fatal: true }).decode(
      bytes.subarray(dataStart, dataStart + length),
    );
  } catch {
    return { ok: false, reason: 'The report data is not text.' };
  }
  const symbologyId = String.fromCharCode(...bytes.subarray(base + 1, base + 4)).replace(/\0/g, '');
  const hasMore = ((bytes.at(-1) ?? 0) & 0x01) === 1;
  return { ok: true, report: { data, symbologyId, hasMore } };
}

/** One whole symbol read from a HID-POS scanner, with what it means. */
export type HidScan = { text: string; symbologyId: string; code: ScannedCode };

/** The events a HID-POS scanner emits. */
export type HidScannerEvents = { scan: [HidScan]; status: [ScannerStatus] };

/** Which scanner to open: the first HID-POS device, or one picked by ids or path. */
export type HidScannerOptions = {
  vendorId?: number;
  productId?: number;
  path?: string;
  /** Whether reports start with a report ID byte; defaults to true. */
  hasReportId?: boolean;
  /** Longest symbol accepted across continued reports; defaults to 4096 characters. */
  maxSymbolLength?: number;
};

/** The part of node-hid's device listing this module reads. */
export type HidDeviceInfo = {
  path?: string;
  vendorId: number;
  productId: number;
  usagePage?: number;
  product?: string;
};

/** The part of a node-hid device this module uses. */
export type HidDeviceHandle = {
  on(event: 'data', listener: (data: Uint8Array) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  close(): void;
};

/** The part of the node-hid module this module uses, declared here since its types are absent. */
export type NodeHidModule = {
  devices(): HidDeviceInfo[];
  HID: new (path: string) => HidDeviceHandle;
};

/** A HID-POS scanner, or why there is none. */
export type HidScannerResult =
  { scanner: HidScanner; reason: undefined } | { scanner: undefined; reason: string };

/** Loads node-hid; replaceable in tests. Resolves to the module namespace. */
export type HidLoader = () => Promise<unknown>;

// Held in a variable so TypeScript does not look for the types of a package that may be absent.
const NODE_HID = 'node-hid';
const loadNodeHid: HidLoader = () => import(NODE_HID);

/** Opens a HID-POS scanner, or resolves `scanner: undefined` with a reason for the status bar. */
export async function createHidScanner(
  options: HidScannerOptions = {},
  load: HidLoader = loadNodeHid,
): Promise<HidScannerResult> {
  let hid: NodeHidModule | undefined;
  try {
    hid = asNodeHid(await load());
  } catch {
    hid = undefined;
  }
  if (hid === undefined) {
    return {
      scanner: undefined,
      reason:
        'node-hid is not installed; USB HID-POS scanners are unavailable, keyboard-wedge and serial scanners still work.',
    };
  }
  const device = hid
    .devices()
    .find(
      (info) =>
        (options.path === undefined || info.path === options.path) &&
        (options.vendorId === undefined || info.vendorId === options.vendorId) &&
        (options.productId === undefined || info.productId === options.productId) &&
        (options.path !== undefined || info.usagePage === HID_POS_USAGE_PAGE),
    );
  if (device?.path === undefined) {
    return {
      scanner: undefined,
      reason:
        'No HID-POS barcode scanner found: check the cable, or set the scanner to USB HID-POS mode (its manual has the barcode to scan).',
    };
  }
  let handle: HidDeviceHandle;
  try {
    handle = new hid.HID(device.path);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return {
      scanner: undefined,
      reason: `The HID-POS scanner at ${device.path} could not be opened (${why}); on Linux check the udev rule for hidraw access.`,
    };
  }
  return { scanner: new HidScanner(handle, device.path, options), reason: undefined };
}

/** A HID-POS scanner: joins continued reports into symbols and classifies them. */
export class HidScanner extends EventEmitter<HidScannerEvents> {
  readonly #handle: HidDeviceHandle;
  #parts: string[] = [];
  #isClosed = false;

  constructor(handle: HidDeviceHandle, path: string, options: HidScannerOptions = {}) {
    super();
    this.#handle = handle;
    const hasReportId = options.hasReportId ?? true;
    const maxSymbolLength = options.maxSymbolLength ?? 4096;
    handle.on('data', (bytes) => {
      const decoded = decodeHidPosReport(bytes, { hasReportId });
      if (!decoded.ok) {
        this.#parts = [];
        this.emit('status', { state: 'error', message: `HID-POS scanner: ${decoded.reason}` });
        return;
      }
      const { data, symbologyId, hasMore } = decoded.report;
      this.#parts.push(data);
      if (this.#parts.join('').length > maxSymbolLength) {
        this.#parts = [];
        this.emit('status', {
          state: 'error',
          message: `HID-POS scanner sent a symbol over ${maxSymbolLength} characters; ignored.`,
        });
        return;
      }
      if (hasMore) return;
      const text = this.#parts.join('').trim();
      this.#parts = [];
      if (text.length > 0) this.emit('scan', { text, symbologyId, code: classifyCode(text) });
    });
    handle.on('error', (error) => {
      if (this.#isClosed) return;
      this.emit('status', {
        state: 'disconnected',
        message: `HID-POS scanner at ${path} stopped (${error.message}); check the cable and restart the terminal.`,
      });
    });
  }

  /** Closes the device. */
  close(): void {
    this.#isClosed = true;
    this.#handle.close();
  }
}

function asNodeHid(value: unknown): NodeHidModule | undefined {
  // An ES import of a CommonJS package puts its exports on `default` as well as, maybe, by name.
  for (const candidate of [value, isRecord(value) ? value.default : undefined]) {
    if (
      isRecord(candidate) &&
      typeof candidate.devices === 'function' &&
      typeof candidate.HID === 'function'
    ) {
      return candidate as NodeHidModule;
    }
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * A small decoder of the byte streams node-thermal-printer emits for its EPSON (ESC/POS) and STAR
 * (Star Line mode) types, back to styled text lines, QR data and cuts. Commands it does not know
 * are reported in `unknown` with their offset, never silently taken for text.
 */

/** Which command set to read the bytes as: ESC E, ESC d and ESC i mean different things in each. */
export type Dialect = 'epson' | 'star';

/** One printed line with the style in force when it was printed. */
export interface DecodedLine {
  text: string;
  align: 'left' | 'center' | 'right';
  bold: boolean;
  /** Character magnification, 1 or 2 (from GS !, ESC ! or ESC i). */
  width: number;
  height: number;
}

/** One thing on the paper, in order. */
export type DecodedItem =
  ({ kind: 'line' } & DecodedLine) | { kind: 'qr'; data: string } | { kind: 'cut' };

/** The decoded stream. */
export interface Decoded {
  items: DecodedItem[];
  /** Text of the lines, blank lines included. */
  lines: string[];
  qrCodes: string[];
  cuts: number;
  /** Code pages selected, as the raw n of ESC t / ESC GS t. */
  codePages: number[];
  /** Status queries (DLE EOT n) seen; they print nothing. */
  statusQueries: number[];
  unknown: { offset: number; hex: string }[];
}

const ESC = 0x1b;
const GS = 0x1d;
const DLE = 0x10;
const LF = 0x0a;

/** ESC x → total length, for the ESC/POS commands with fixed parameters we may meet. */
const EPSON_ESC_FIXED: Record<number, number> = {
  0x20: 3, // ESC SP n: right-side spacing
  0x21: 3, // ESC ! n: print mode (handled)
  0x2d: 3, // ESC - n: underline
  0x32: 2, // ESC 2: default line spacing
  0x33: 3, // ESC 3 n: line spacing
  0x3d: 3, // ESC = n: select peripheral
  0x40: 2, // ESC @ (handled)
  0x42: 4, // ESC B n t: beep
  0x45: 3, // ESC E n: emphasis (handled)
  0x47: 3, // ESC G n: double strike
  0x4a: 3, // ESC J n: feed n dots
  0x4d: 3, // ESC M n: font
  0x52: 3, // ESC R n: international character set
  0x61: 3, // ESC a n: alignment (handled)
  0x64: 3, // ESC d n: print and feed n lines
  0x70: 5, // ESC p m t1 t2: drawer kick
  0x74: 3, // ESC t n: code page (handled)
  0x7b: 3, // ESC { n: upside down
};

/** GS x → total length, for fixed-length ESC/POS GS commands. */
const EPSON_GS_FIXED: Record<number, number> = {
  0x21: 3, // GS ! n: character size (handled)
  0x42: 3, // GS B n: reverse
  0x48: 3, // GS H n: HRI position
  0x66: 3, // GS f n: HRI font
  0x68: 3, // GS h n: barcode height
  0x72: 3, // GS r n: transmit status
  0x77: 3, // GS w n: barcode width
  0x7c: 3, // GS | n: print density
};

/** ESC x → total length, for fixed-length Star Line mode commands. */
const STAR_ESC_FIXED: Record<number, number> = {
  0x07: 5, // ESC BEL n1 n2 + BEL: drawer kick as node-thermal-printer sends it
  0x2d: 3, // ESC - n: underline
  0x34: 2, // ESC 4: invert on
  0x35: 2, // ESC 5: invert off
  0x40: 2, // ESC @ (handled)
  0x45: 2, // ESC E: bold on (handled)
  0x46: 2, // ESC F: bold off (handled)
  0x52: 3, // ESC R n: international character set
  0x64: 3, // ESC d n: cut (handled)
  0x69: 4, // ESC i n1 n2: size (handled)
};

/** Decodes a whole stream; text bytes are read as UTF-8 per line (ASCII is a subset). */
export function decodeEscPos(input: Uint8Array, dialect: Dialect): Decoded {
  const bytes = Buffer.from(input);
  const out: Decoded = {
    items: [],
    lines: [],
    qrCodes: [],
    cuts: 0,
    codePages: [],
    statusQueries: [],
    unknown: [],
  };
  let style = { align: 'left' as DecodedLine['align'], bold: false, width: 1, height: 1 };
  let pending: number[] = [];
  let lineStyle = { ...style };
  let epsonQrData: string | undefined;
  let starQrData: string | undefined;

  const setStyle = (change: Partial<typeof style>): void => {
    style = { ...style, ...change };
    // A line prints with the style of its first character; alignment applies to the whole line.
    if (pending.length === 0) lineStyle = { ...style };
  };
  const flush = (force: boolean): void => {
    if (pending.length === 0 && !force) return;
    const text = Buffer.from(pending).toString('utf8');
    out.items.push({ kind: 'line', text, ...lineStyle });
    out.lines.push(text);
    pending = [];
    lineStyle = { ...style };
  };
  const report = (offset: number, length: number): number => {
    out.unknown.push({
      offset,
      hex: bytes.subarray(offset, offset + length).toString('hex'),
    });
    return offset + length;
  };

  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    const b1 = bytes[i + 1] ?? -1;
    if (b === LF) {
      flush(true);
      i += 1;
    } else if (b === 0x0d) {
      i += 1;
    } else if (b === 0x0b || b === 0x0c) {
      // VT / FF: feed (Star's vertical tab); prints what is pending.
      flush(false);
      i += 1;
    } else if (b === 0x09) {
      pending.push(0x20);
      i += 1;
    } else if (b === DLE && b1 === 0x04) {
      out.statusQueries.push(bytes[i + 2] ?? -1);
      i += 3;
    } else if (b === ESC && dialect === 'epson') {
      i = decodeEpsonEsc(i);
    } else if (b === GS && dialect === 'epson') {
      i = decodeEpsonGs(i);
    } else if (b === ESC && dialect === 'star') {
      i = decodeStarEsc(i);
    } else if (b < 0x20) {
      i = report(i, 1);
    } else {
      if (pending.length === 0) lineStyle = { ...style };
      pending.push(b);
      i += 1;
    }
  }
  flush(false);
  return out;

  function decodeEpsonEsc(at: number): number {
    const cmd = bytes[at + 1] ?? -1;
    const n = bytes[at + 2] ?? 0;
    const length = EPSON_ESC_FIXED[cmd];
    if (length === undefined) return report(at, 2);
    switch (cmd) {
      case 0x40:
        style = { align: 'left', bold: false, width: 1, height: 1 };
        setStyle({});
        break;
      case 0x21:
        setStyle({ bold: (n & 0x08) !== 0, height: n & 0x10 ? 2 : 1, width: n & 0x20 ? 2 : 1 });
        break;
      case 0x45:
        setStyle({ bold: (n & 1) === 1 });
        break;
      case 0x61:
        setStyle({ align: alignOf(n) });
        break;
      case 0x74:
        out.codePages.push(n);
        break;
      case 0x64:
        flush(false);
        break;
    }
    return at + length;
  }

  function decodeEpsonGs(at: number): number {
    const cmd = bytes[at + 1] ?? -1;
    if (cmd === 0x56) {
      // GS V m [n]: cut; m 65/66 carry a feed amount.
      const m = bytes[at + 2] ?? 0;
      flush(false);
      out.items.push({ kind: 'cut' });
      out.cuts += 1;
      return at + (m === 65 || m === 66 ? 4 : 3);
    }
    if (cmd === 0x28 && bytes[at + 2] === 0x6b) {
      // GS ( k pL pH cn fn ...: 2D symbols; pL + 256 pH bytes follow pH.
      const size = (bytes[at + 3] ?? 0) + 256 * (bytes[at + 4] ?? 0);
      const cn = bytes[at + 5];
      const fn = bytes[at + 6];
      const end = at + 5 + size;
      if (cn === 0x31 && fn === 0x50) {
        epsonQrData = bytes.subarray(at + 8, end).toString('latin1');
      } else if (cn === 0x31 && fn === 0x51) {
        flush(false);
        const data = epsonQrData ?? '';
        out.items.push({ kind: 'qr', data });
        out.qrCodes.push(data);
      }
      return end;
    }
    if (cmd === 0x28) {
      // Any other GS ( x pL pH: skip by its declared length.
      return at + 5 + (bytes[at + 3] ?? 0) + 256 * (bytes[at + 4] ?? 0);
    }
    const length = EPSON_GS_FIXED[cmd];
    if (length === undefined) return report(at, 2);
    if (cmd === 0x21) {
      const n = bytes[at + 2] ?? 0;
      setStyle({ width: (n >> 4) + 1, height: (n & 0x0f) + 1 });
    }
    return at + length;
  }

  function decodeStarEsc(at: number): number {
    const cmd = bytes[at + 1] ?? -1;
    if (cmd === GS) return decodeStarEscGs(at);
    if (cmd === 0x1e && bytes[at + 2] === 0x46) return at + 4; // ESC RS F n: font
    const length = STAR_ESC_FIXED[cmd];
    if (length === undefined) return report(at, 2);
    const n1 = bytes[at + 2] ?? 0;
    switch (cmd) {
      case 0x40:
        style = { align: 'left', bold: false, width: 1, height: 1 };
        setStyle({});
        break;
      case 0x45:
        setStyle({ bold: true });
        break;
      case 0x46:
        setStyle({ bold: false });
        break;
      case 0x69:
        setStyle({ height: n1 + 1, width: (bytes[at + 3] ?? 0) + 1 });
        break;
      case 0x64:
        flush(false);
        out.items.push({ kind: 'cut' });
        out.cuts += 1;
        break;
    }
    return at + length;
  }

  function decodeStarEscGs(at: number): number {
    const cmd = bytes[at + 2] ?? -1;
    const n = bytes[at + 3] ?? 0;
    if (cmd === 0x61) {
      setStyle({ align: alignOf(n) });
      return at + 4;
    }
    if (cmd === 0x74) {
      out.codePages.push(n);
      return at + 4;
    }
    if (cmd === 0x79) {
      // ESC GS y: QR code. S 0/1/2 n set model, correction, cell size; D 1 0 nL nH d… stores data
      // (auto mode); P prints the stored symbol.
      const sub = n;
      if (sub === 0x53) return at + 6;
      if (sub === 0x44) {
        const size = (bytes[at + 6] ?? 0) + 256 * (bytes[at + 7] ?? 0);
        starQrData = bytes.subarray(at + 8, at + 8 + size).toString('latin1');
        return at + 8 + size;
      }
      if (sub === 0x50) {
        flush(false);
        const data = starQrData ?? '';
        out.items.push({ kind: 'qr', data });
        out.qrCodes.push(data);
        return at + 4;
      }
    }
    return report(at, 3);
  }
}

function alignOf(n: number): DecodedLine['align'] {
  if (n === 1 || n === 0x31) return 'center';
  if (n === 2 || n === 0x32) return 'right';
  return 'left';
}

/** The decoded lines without the blank ones, for assertions on content. */
export function textLines(decoded: Decoded): string[] {
  return decoded.lines.filter((line) => line.trim().length > 0);
}

import { formatMemberCardQr } from '../member-card.ts';
import { maskMobile } from '../../../shared/mobile.ts';
import { formatRupees } from '../../../shared/money.ts';

/** The slips the counter prints; a printer keeps the last one of each kind for Reprint. */
export type DocumentKind = 'sale-slip' | 'point-slip' | 'ledger-statement' | 'member-card';

/** Horizontal placement of a text block. */
export type Align = 'left' | 'center' | 'right';

/** normal: one cell per character; tall: double height; large: double height and width (half the columns). */
export type TextSize = 'normal' | 'tall' | 'large';

/** One printer-independent piece of a slip; every text already fits the paper's width. */
export type Block =
  | { kind: 'text'; text: string; align?: Align; bold?: boolean; size?: TextSize }
  | { kind: 'columns'; left: string; right: string; bold?: boolean }
  | { kind: 'rule' }
  | { kind: 'qr'; data: string }
  | { kind: 'cut' };

/** A slip described as blocks, ready for any command set. */
export interface PrintDocument {
  kind: DocumentKind;
  blocks: readonly Block[];
}

/** What the paper and the printer's fonts allow. */
export interface PaperProfile {
  /** 48 columns on 80 mm paper, 32 on 58 mm (font A). */
  widthChars: 32 | 48;
  /**
   * True only for a printer set up to print Devanagari from UTF-8 text (a few Indian-market
   * models); most ESC/POS code pages have no Devanagari, so names then fall back to the member id.
   */
  canPrintDevanagari: boolean;
}

/** The member as a slip shows them; the full mobile is only used to mask it. */
export interface MemberOnSlip {
  id: number;
  name: string;
  mobileE164: string;
}

/** Where and by whom a slip is printed. */
export interface SlipHeader {
  chainName: string;
  showroomName: string;
  showroomCode: string;
}

/** Input of the sale slip. */
export interface SaleSlipInput extends SlipHeader {
  billNumber: string;
  at: Date;
  member: MemberOnSlip;
  billAmountPaise?: number;
  pointsEarned: number;
  pointsRedeemed: number;
  /** Discount the redeemed points gave on this bill. */
  redeemedValuePaise?: number;
  newBalance: number;
  /** Points earned while the counter was offline, not yet confirmed by central. */
  pendingPoints?: number;
}

/** Input of the point slip printed for a balance inquiry. */
export interface PointSlipInput extends SlipHeader {
  at: Date;
  member: MemberOnSlip;
  balance: number;
  pendingPoints?: number;
  /** What the balance is worth at the counter today, if known. */
  balanceValuePaise?: number;
}

/** A ledger entry as the statement prints it. */
export interface StatementEntry {
  at: Date;
  kind: 'earn' | 'redeem' | 'reverse' | 'adjust' | 'expire' | 'bonus';
  showroomCode: string | null;
  points: number;
  balanceAfter: number;
}

/** Input of the member's ledger statement. */
export interface LedgerStatementInput extends SlipHeader {
  member: MemberOnSlip;
  /** Inclusive calendar dates, YYYY-MM-DD, in India time. */
  from: string;
  to: string;
  openingBalance: number;
  entries: readonly StatementEntry[];
  printedBy: string;
  printedAt: Date;
}

/** Input of the member card. */
export interface MemberCardInput {
  chainName: string;
  member: MemberOnSlip;
  issuedAt: Date;
}

/** Prefix of the member card's QR data; the version lets a later card format coexist. */
export { formatMemberCardQr, parseMemberCardQr, MEMBER_CARD_QR_PREFIX } from '../member-card.ts';

const ASCII_PRINTABLE = /^[\x20-\x7E]*$/;

/** Paper shows 'Rs': most thermal printers' code pages (PC437 and kin) have no '₹'. */
export function formatRupeesForPaper(amountPaise: number): string {
  return formatRupees(amountPaise).replace('₹', 'Rs ');
}

const indianGrouping = new Intl.NumberFormat('en-IN', { maximumFractionDigits: 0 });

/** Points grouped the Indian way: 123456 → "1,23,456". */
export function formatPoints(points: number): string {
  return indianGrouping.format(points);
}

function formatSignedPoints(points: number): string {
  return points > 0 ? `+${formatPoints(points)}` : formatPoints(points);
}

// Slips are read by customers and auditors in India: always India time, whatever the PC's zone.
const kolkataParts = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Asia/Kolkata',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

function kolkata(at: Date): { date: string; shortDate: string; time: string } {
  const part = (type: Intl.DateTimeFormatPartTypes): string =>
    kolkataParts.formatToParts(at).find((p) => p.type === type)?.value ?? '';
  const year = part('year');
  const date = `${part('day')}-${part('month')}-${year}`;
  return {
    date,
    shortDate: `${part('day')}-${part('month')}-${year.slice(-2)}`,
    time: `${part('hour')}:${part('minute')}`,
  };
}

/** "05-03-2026 14:07 IST". */
export function formatIndiaDateTime(at: Date): string {
  const { date, time } = kolkata(at);
  return `${date} ${time} IST`;
}

function isoToSlipDate(iso: string): string {
  const [y, m, d] = iso.split('-');
  return `${d ?? ''}-${m ?? ''}-${y ?? ''}`;
}

/** Non-ASCII would print as '?' on a PC437 printer: say so honestly rather than garble. */
function toPaperText(text: string): string {
  return ASCII_PRINTABLE.test(text) ? text : text.replace(/[^\x20-\x7E]/g, '?');
}

function columnsFor(size: TextSize | undefined, profile: PaperProfile): number {
  return size === 'large' ? profile.widthChars / 2 : profile.widthChars;
}

const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

// Columns count user-perceived characters: a Devanagari syllable with its vowel sign is one cell.
function graphemes(value: string): string[] {
  return Array.from(segmenter.segment(value), (s) => s.segment);
}

/** Word-wraps to `width` columns, cutting words longer than a line; never returns an empty list. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line: string[] = [];
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    let rest = graphemes(word);
    while (rest.length > width) {
      if (line.length > 0) lines.push(line.join(''));
      line = [];
      lines.push(rest.slice(0, width).join(''));
      rest = rest.slice(width);
    }
    if (line.length === 0) line = rest;
    else if (line.length + 1 + rest.length <= width) line = [...line, ' ', ...rest];
    else {
      lines.push(line.join(''));
      line = rest;
    }
  }
  if (line.length > 0 || lines.length === 0) lines.push(line.join(''));
  return lines;
}

function text(
  profile: PaperProfile,
  value: string,
  style: { align?: Align; bold?: boolean; size?: TextSize } = {},
): Block[] {
  return wrapText(toPaperText(value), columnsFor(style.size, profile)).map((line) => ({
    kind: 'text',
    text: line,
    ...style,
  }));
}

/** Left and right on one line when they fit, else the label wrapped and the value right-aligned below. */
function columns(profile: PaperProfile, left: string, right: string, bold?: boolean): Block[] {
  const l = toPaperText(left);
  const r = toPaperText(right);
  const style = bold === undefined ? {} : { bold };
  if (l.length + 1 + r.length <= profile.widthChars) {
    return [{ kind: 'columns', left: l, right: r, ...style }];
  }
  return [...text(profile, l, style), ...text(profile, r, { ...style, align: 'right' as const })];
}

/**
 * The member's name when this printer can print it, else "Member #<id>" and a note: text-mode
 * ESC/POS has no Devanagari, and a row of '?' helps nobody.
 */
function memberLines(profile: PaperProfile, member: MemberOnSlip): Block[] {
  const canPrintName =
    ASCII_PRINTABLE.test(member.name) ||
    (profile.canPrintDevanagari && /^(?:[\x20-\x7E]|\p{Script=Devanagari})*$/u.test(member.name));
  const nameBlocks = canPrintName
    ? wrapText(member.name, profile.widthChars).map((line): Block => ({
        kind: 'text',
        text: line,
        bold: true,
      }))
    : [
        ...text(profile, `Member #${member.id}`, { bold: true }),
        ...text(profile, '(name is on file in a script this printer cannot print)'),
      ];
  return [
    ...nameBlocks,
    ...columns(profile, 'Mobile', maskMobile(member.mobileE164)),
    ...columns(profile, 'Member ID', String(member.id)),
  ];
}

function header(profile: PaperProfile, slip: SlipHeader, title: string): Block[] {
  return [
    ...text(profile, slip.chainName, { align: 'center', bold: true, size: 'large' }),
    ...text(profile, `${slip.showroomName} (${slip.showroomCode})`, { align: 'center' }),
    ...text(profile, title, { align: 'center', bold: true }),
    { kind: 'rule' },
  ];
}

const CUT: Block[] = [{ kind: 'cut' }];

/** The slip handed over with the bill: points earned or redeemed and the new balance. */
export function describeSaleSlip(input: SaleSlipInput, profile: PaperProfile): PrintDocument {
  const { date, time } = kolkata(input.at);
  const blocks: Block[] = [
    ...header(profile, input, 'LOYALTY POINTS'),
    ...columns(profile, 'Bill', input.billNumber),
    ...columns(profile, 'Date', `${date} ${time}`),
    ...(input.billAmountPaise === undefined
      ? []
      : columns(profile, 'Bill amount', formatRupeesForPaper(input.billAmountPaise))),
    { kind: 'rule' },
    ...memberLines(profile, input.member),
    { kind: 'rule' },
    ...columns(profile, 'Points earned', formatSignedPoints(input.pointsEarned)),
  ];
  if (input.pointsRedeemed > 0) {
    blocks.push(...columns(profile, 'Points redeemed', formatSignedPoints(-input.pointsRedeemed)));
    if (input.redeemedValuePaise !== undefined) {
      blocks.push(
        ...columns(profile, 'Discount on bill', formatRupeesForPaper(input.redeemedValuePaise)),
      );
    }
  }
  blocks.push(...columns(profile, 'New balance', `${formatPoints(input.newBalance)} pts`, true));
  if (input.pendingPoints !== undefined && input.pendingPoints > 0) {
    blocks.push(
      ...columns(profile, 'Pending', `${formatPoints(input.pendingPoints)} pts`),
      ...text(
        profile,
        'Earned while this counter was offline: the points are added to the balance when it reconnects.',
      ),
    );
  }
  blocks.push(
    { kind: 'rule' },
    ...text(profile, 'Thank you for shopping with us', { align: 'center' }),
    ...CUT,
  );
  return { kind: 'sale-slip', blocks };
}

/** The slip for a balance inquiry at the counter. */
export function describePointSlip(input: PointSlipInput, profile: PaperProfile): PrintDocument {
  const { date, time } = kolkata(input.at);
  const blocks: Block[] = [
    ...header(profile, input, 'POINTS BALANCE'),
    ...columns(profile, 'Date', `${date} ${time}`),
    { kind: 'rule' },
    ...memberLines(profile, input.member),
    { kind: 'rule' },
    ...columns(profile, 'Balance', `${formatPoints(input.balance)} pts`, true),
  ];
  if (input.balanceValuePaise !== undefined) {
    blocks.push(...columns(profile, 'Worth', formatRupeesForPaper(input.balanceValuePaise)));
  }
  if (input.pendingPoints !== undefined && input.pendingPoints > 0) {
    blocks.push(
      ...columns(profile, 'Pending', `${formatPoints(input.pendingPoints)} pts`),
      ...text(profile, 'Pending points are added when the counter reconnects.'),
    );
  }
  blocks.push(...CUT);
  return { kind: 'point-slip', blocks };
}

const KIND_LABEL: Record<StatementEntry['kind'], string> = {
  earn: 'Earn',
  redeem: 'Redeem',
  reverse: 'Reverse',
  adjust: 'Adjust',
  expire: 'Expire',
  bonus: 'Bonus',
};

function pad(value: string, width: number, align: 'left' | 'right'): string {
  const cut = value.length > width ? value.slice(0, width) : value;
  return align === 'left' ? cut.padEnd(width) : cut.padStart(width);
}

/**
 * One statement row. 80 mm: date, kind, showroom, points, balance on one 48-column line.
 * 58 mm has too few columns for five fields, so the balance goes on a second line.
 */
function statementRows(profile: PaperProfile, entry: StatementEntry): Block[] {
  const { date, shortDate } = kolkata(entry.at);
  const showroom = toPaperText(entry.showroomCode ?? '-');
  const kind = KIND_LABEL[entry.kind];
  const points = formatSignedPoints(entry.points);
  const balance = formatPoints(entry.balanceAfter);
  if (profile.widthChars === 48) {
    const row = `${pad(date, 10, 'left')} ${pad(kind, 7, 'left')} ${pad(showroom, 8, 'left')} ${pad(points, 9, 'right')} ${pad(balance, 10, 'right')}`;
    return [{ kind: 'text', text: row }];
  }
  const first = `${pad(shortDate, 8, 'left')} ${pad(kind, 7, 'left')} ${pad(showroom, 6, 'left')} ${pad(points, 8, 'right')}`;
  return [
    { kind: 'text', text: first },
    { kind: 'text', text: `= ${balance}`, align: 'right' },
  ];
}

/** The member's ledger for a date range, with the running balance, for a manager to hand over. */
export function describeLedgerStatement(
  input: LedgerStatementInput,
  profile: PaperProfile,
): PrintDocument {
  const printed = kolkata(input.printedAt);
  const heading =
    profile.widthChars === 48
      ? `${pad('Date', 10, 'left')} ${pad('Type', 7, 'left')} ${pad('Showroom', 8, 'left')} ${pad('Points', 9, 'right')} ${pad('Balance', 10, 'right')}`
      : `${pad('Date', 8, 'left')} ${pad('Type', 7, 'left')} ${pad('Shop', 6, 'left')} ${pad('Points', 8, 'right')}`;
  const closing = input.entries.at(-1)?.balanceAfter ?? input.openingBalance;
  const blocks: Block[] = [
    ...header(profile, input, 'POINTS STATEMENT'),
    ...memberLines(profile, input.member),
    ...columns(profile, 'Period', `${isoToSlipDate(input.from)} to ${isoToSlipDate(input.to)}`),
    { kind: 'rule' },
    ...columns(profile, 'Opening balance', `${formatPoints(input.openingBalance)} pts`, true),
    { kind: 'text', text: heading, bold: true },
    ...input.entries.flatMap((entry) => statementRows(profile, entry)),
  ];
  if (input.entries.length === 0) blocks.push(...text(profile, 'No entries in this period.'));
  blocks.push(
    { kind: 'rule' },
    ...columns(profile, 'Closing balance', `${formatPoints(closing)} pts`, true),
    ...text(profile, `Printed by ${input.printedBy} at ${printed.date} ${printed.time} IST`),
    ...CUT,
  );
  return { kind: 'ledger-statement', blocks };
}

/** A card the member keeps; its QR code opens the member at any counter screen. */
export function describeMemberCard(input: MemberCardInput, profile: PaperProfile): PrintDocument {
  const blocks: Block[] = [
    ...text(profile, input.chainName, { align: 'center', bold: true, size: 'large' }),
    ...text(profile, 'MEMBER CARD', { align: 'center', bold: true }),
    { kind: 'rule' },
    ...memberLines(profile, input.member),
    { kind: 'qr', data: formatMemberCardQr(input.member) },
    ...text(profile, `Issued ${kolkata(input.issuedAt).date}`, { align: 'center' }),
    ...text(profile, 'Show this card at the counter to earn points.', { align: 'center' }),
    ...CUT,
  ];
  return { kind: 'member-card', blocks };
}

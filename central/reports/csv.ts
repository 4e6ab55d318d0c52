import type {
  LiabilityReport,
  MembersReport,
  PatternsReport,
  PatternsSection,
  SalesReport,
  SmsReport,
} from '../../shared/protocol/reports.ts';

/** How a column's values are written: text (guarded), whole numbers, or paise as rupees. */
type Kind = 'text' | 'int' | 'rupees';

interface Column<R> {
  header: string;
  kind: Kind;
  value: (row: R) => string | number | null;
}

/** Paise as rupees with two decimals, by integer arithmetic (no float ever touches money). */
export function rupeesOf(paise: number): string {
  if (!Number.isSafeInteger(paise)) throw new RangeError(`not whole paise: ${paise}`);
  const sign = paise < 0 ? '-' : '';
  const abs = Math.abs(paise);
  const rupees = (abs - (abs % 100)) / 100;
  return `${sign}${rupees}.${String(abs % 100).padStart(2, '0')}`;
}

/**
 * A text cell as a spreadsheet will not run it: a leading = + - @ (or tab, CR) would start a
 * formula, so it gets a leading apostrophe (OWASP's CSV-injection advice).
 */
export function guardText(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/** RFC 4180: quoted when it holds a comma, quote, CR or LF; quotes doubled. */
function field(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function cell(kind: Kind, value: string | number | null): string {
  if (value === null) return '';
  if (kind === 'rupees') return rupeesOf(value as number);
  if (kind === 'int') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`not a whole number: ${value}`);
    return String(value);
  }
  return field(guardText(String(value)));
}

/** A CSV document (CRLF line ends, a header row, then the rows, then an optional totals row). */
export function toCsv<R>(columns: Column<R>[], rows: readonly R[], totals?: R): string {
  const lines = [columns.map((c) => field(c.header)).join(',')];
  for (const row of [...rows, ...(totals === undefined ? [] : [totals])]) {
    lines.push(columns.map((c) => cell(c.kind, c.value(row))).join(','));
  }
  // A BOM so that spreadsheet programs read UTF-8 (Hindi names) as UTF-8.
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

const text = <R>(header: string, value: (r: R) => string | null): Column<R> => ({
  header,
  kind: 'text',
  value,
});
const int = <R>(header: string, value: (r: R) => number | null): Column<R> => ({
  header,
  kind: 'int',
  value,
});
const rupees = <R>(header: string, value: (r: R) => number | null): Column<R> => ({
  header,
  kind: 'rupees',
  value,
});

type SalesRow = SalesReport['rows'][number];

/** The sales report as CSV: its rows, then a Total row. */
export function salesCsv(report: SalesReport): string {
  const key: Column<SalesRow>[] =
    report.dimension === 'time'
      ? [text('period', (r) => r.period), text('period_end', (r) => r.periodEnd)]
      : report.dimension === 'showroom'
        ? [text('showroom_code', (r) => r.showroomCode), text('showroom', (r) => r.showroomName)]
        : [text('category_code', (r) => r.categoryCode), text('category', (r) => r.categoryName)];
  const columns: Column<SalesRow>[] = [
    ...key,
    int('bills', (r) => r.bills),
    int('lines', (r) => r.lines),
    rupees('sales_rupees', (r) => r.salesPaise),
    rupees('returned_rupees', (r) => r.returnedPaise),
    rupees('net_sales_rupees', (r) => r.netSalesPaise),
    int('points_earned', (r) => r.pointsEarned),
    int('points_reversed', (r) => r.pointsReversed),
    int('points_redeemed', (r) => r.pointsRedeemed),
    rupees('redeemed_value_rupees', (r) => r.redeemedValuePaise),
  ];
  const totals: SalesRow = {
    period: 'Total',
    periodEnd: null,
    showroomCode: 'Total',
    showroomName: null,
    categoryCode: 'Total',
    categoryName: null,
    ...report.totals,
  };
  return toCsv(columns, report.rows, totals);
}

type LiabilityRow = LiabilityReport['rows'][number];

/** The liability report as CSV, periods then a Total row (opening at from, closing at to). */
export function liabilityCsv(report: LiabilityReport): string {
  const columns: Column<LiabilityRow>[] = [
    text('period', (r) => r.period),
    text('period_end', (r) => r.periodEnd),
    int('opening_points', (r) => r.openingPoints),
    int('earn_points', (r) => r.earnPoints),
    int('redeem_points', (r) => r.redeemPoints),
    int('reverse_points', (r) => r.reversePoints),
    int('adjust_points', (r) => r.adjustPoints),
    int('expire_points', (r) => r.expirePoints),
    int('bonus_points', (r) => r.bonusPoints),
    int('net_points', (r) => r.netPoints),
    int('closing_points', (r) => r.closingPoints),
    rupees('closing_value_rupees', (r) => r.closingValuePaise),
    int('entries', (r) => r.entries),
  ];
  return toCsv(columns, report.rows, { period: 'Total', periodEnd: report.to, ...report.totals });
}

type MembersRow = MembersReport['rows'][number];

/** The members report as CSV; the Total row's active members counts each member once. */
export function membersCsv(report: MembersReport): string {
  const key: Column<MembersRow>[] =
    report.dimension === 'time'
      ? [text('period', (r) => r.period), text('period_end', (r) => r.periodEnd)]
      : [text('showroom_code', (r) => r.showroomCode), text('showroom', (r) => r.showroomName)];
  const columns: Column<MembersRow>[] = [
    ...key,
    int('enrolments', (r) => r.enrolments),
    int('active_members', (r) => r.activeMembers),
    int('bills', (r) => r.bills),
  ];
  return toCsv(columns, report.rows, {
    period: 'Total',
    periodEnd: null,
    showroomCode: 'Total',
    showroomName: null,
    ...report.totals,
  });
}

/** One section of the patterns report as CSV. */
export function patternsCsv(report: PatternsReport, section: PatternsSection): string {
  switch (section) {
    case 'category-mix':
      return toCsv<PatternsReport['categoryMix'][number]>(
        [
          text('category_code', (r) => r.categoryCode),
          text('category', (r) => r.categoryName),
          int('lines', (r) => r.lines),
          rupees('sales_rupees', (r) => r.salesPaise),
          int('share_basis_points', (r) => r.shareBasisPoints),
        ],
        report.categoryMix,
      );
    case 'visit-frequency':
      return toCsv<PatternsReport['visitFrequency'][number]>(
        [
          text('visits', (r) => r.visits),
          int('members', (r) => r.members),
          rupees('sales_rupees', (r) => r.salesPaise),
        ],
        report.visitFrequency,
      );
    case 'rfm':
      return toCsv<PatternsReport['rfm'][number]>(
        [
          text('segment', (r) => r.segment),
          int('members', (r) => r.members),
          int('visits', (r) => r.visits),
          rupees('sales_rupees', (r) => r.salesPaise),
          text('definition', (r) => r.definition),
        ],
        report.rfm,
      );
    case 'showrooms-per-member':
      return toCsv<PatternsReport['showroomsPerMember'][number]>(
        [
          text('showrooms', (r) => r.showrooms),
          int('members', (r) => r.members),
          rupees('spend_rupees', (r) => r.salesPaise),
        ],
        report.showroomsPerMember,
      );
    case 'churn-risk':
      return toCsv<PatternsReport['churnRisk']['rows'][number]>(
        [
          text('showroom_code', (r) => r.showroomCode),
          text('showroom', (r) => r.showroomName),
          int('members_with_history', (r) => r.membersWithHistory),
          int('members_at_risk', (r) => r.membersAtRisk),
          rupees('at_risk_spend_rupees', (r) => r.atRiskSpendPaise),
        ],
        report.churnRisk.rows,
        {
          showroomCode: 'Total',
          showroomName: null,
          ...report.churnRisk.totals,
        },
      );
  }
}

type SmsRow = SmsReport['rows'][number];

/** The SMS report as CSV. */
export function smsCsv(report: SmsReport): string {
  const columns: Column<SmsRow>[] = [
    text('kind', (r) => r.kind),
    int('total', (r) => r.total),
    int('pending', (r) => r.pending),
    int('sent', (r) => r.sent),
    int('failed', (r) => r.failed),
    int('refused', (r) => r.refused),
    int('unknown', (r) => r.unknown),
    int('expired', (r) => r.expired),
    int('sent_segments', (r) => r.sentSegments),
  ];
  return toCsv(columns, report.rows, { kind: 'Total', ...report.totals });
}

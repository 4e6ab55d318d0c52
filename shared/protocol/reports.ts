import { z } from 'zod';
import { CalendarDate, Code } from './api.ts';
import { daysInRange } from './ledger.ts';

/**
 * Reports read the ledger by central's clock: a sale, a redemption or an enrolment falls on the
 * calendar day (in the chain's time zone) on which central recorded it, so every figure here
 * adds up to the ledger to the point and the paisa. A sale a counter kept offline counts on the
 * day it reached central.
 */

/** Longest report range, in calendar days (both ends included); the same rule as statements. */
export const MAX_REPORT_DAYS = 366;

/** Most showroom codes one query may name. */
export const MAX_REPORT_SHOWROOMS = 200;

/** How rows over time are grouped: calendar days, ISO weeks (Monday first) or calendar months. */
export const ReportGranularity = z.enum(['day', 'week', 'month']);
export type ReportGranularity = z.infer<typeof ReportGranularity>;

/** What the sales report's rows are: one per period, per showroom or per category. */
export const SalesDimension = z.enum(['time', 'showroom', 'category']);
export type SalesDimension = z.infer<typeof SalesDimension>;

/** What the members report's rows are: one per period or per showroom. */
export const MembersDimension = z.enum(['time', 'showroom']);
export type MembersDimension = z.infer<typeof MembersDimension>;

/** JSON (the default) or a CSV download; `Accept: text/csv` asks for CSV too. */
export const ReportFormat = z.enum(['json', 'csv']);
export type ReportFormat = z.infer<typeof ReportFormat>;

/**
 * Showroom codes to include: `?showrooms=MUM-01,PUN-02` or the parameter repeated. Absent or
 * empty means the whole chain (and, in the liability report, entries made at no showroom).
 */
export const ShowroomFilter = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((value) =>
    value === undefined
      ? []
      : [
          ...new Set(
            (Array.isArray(value) ? value : [value])
              .flatMap((v) => v.split(','))
              .map((v) => v.trim())
              .filter((v) => v !== ''),
          ),
        ],
  )
  .pipe(
    z
      .array(Code)
      .max(MAX_REPORT_SHOWROOMS, `at most ${MAX_REPORT_SHOWROOMS} showroom codes in one query`),
  )
  .meta({ description: 'Showroom codes, comma-separated or repeated; none means all.' });

const rangeFields = {
  from: CalendarDate.meta({
    description: 'First day, in the chain time zone',
    examples: ['2026-11-01'],
  }),
  to: CalendarDate.meta({ description: 'Last day, included', examples: ['2026-11-30'] }),
  showrooms: ShowroomFilter,
  format: ReportFormat.optional(),
};

type Range = { from: string; to: string };
const checkRange = <T extends z.ZodType<Range>>(schema: T) =>
  schema
    .refine((r) => r.from <= r.to, { message: '"from" is after "to"', path: ['from'] })
    .refine((r) => r.from > r.to || daysInRange(r.from, r.to) <= MAX_REPORT_DAYS, {
      message: `a report covers at most ${MAX_REPORT_DAYS} days`,
      path: ['from'],
    });

/** The date range and showroom filter every report takes. */
export const ReportRangeQuery = checkRange(z.object(rangeFields));
export type ReportRangeQuery = z.infer<typeof ReportRangeQuery>;

/** Loyalty sales vs redemption. */
export const SalesReportQuery = checkRange(
  z.object({
    ...rangeFields,
    granularity: ReportGranularity.default('day'),
    dimension: SalesDimension.default('time'),
  }),
);
export type SalesReportQuery = z.infer<typeof SalesReportQuery>;

/** Points liability: opening, movements by kind, closing, per period. */
export const LiabilityReportQuery = checkRange(
  z.object({ ...rangeFields, granularity: ReportGranularity.default('month') }),
);
export type LiabilityReportQuery = z.infer<typeof LiabilityReportQuery>;

/** Enrolments and active members. */
export const MembersReportQuery = checkRange(
  z.object({
    ...rangeFields,
    granularity: ReportGranularity.default('month'),
    dimension: MembersDimension.default('showroom'),
  }),
);
export type MembersReportQuery = z.infer<typeof MembersReportQuery>;

/** The parts of the buying-patterns report; a CSV download holds one of them. */
export const PatternsSection = z.enum([
  'category-mix',
  'visit-frequency',
  'rfm',
  'showrooms-per-member',
  'churn-risk',
]);
export type PatternsSection = z.infer<typeof PatternsSection>;

/** Buying patterns; `section` picks the table a CSV download holds (default category-mix). */
export const PatternsReportQuery = checkRange(
  z.object({ ...rangeFields, section: PatternsSection.optional() }),
);
export type PatternsReportQuery = z.infer<typeof PatternsReportQuery>;

/** SMS by kind and status. */
export const SmsReportQuery = ReportRangeQuery;
export type SmsReportQuery = z.infer<typeof SmsReportQuery>;

/** Today's figures: optional showroom filter only. */
export const TodayQuery = z.object({ showrooms: ShowroomFilter });
export type TodayQuery = z.infer<typeof TodayQuery>;

/** What every report answers besides its rows: the query as understood. */
const ReportHeader = {
  from: z.string(),
  to: z.string(),
  /** Showroom codes included; empty means the whole chain. */
  showrooms: z.array(z.string()),
  timeZone: z.string(),
  generatedAt: z.string(),
  /** Plain-language notes on how to read the figures (e.g. redemption has no category). */
  notes: z.array(z.string()),
};

/** A period's first and last day (inclusive), clipped to the query's range. */
const PeriodKey = {
  period: z.string().meta({ description: 'First day of the period within the range, YYYY-MM-DD' }),
  periodEnd: z.string().meta({ description: 'Last day of the period within the range' }),
};

const salesFigures = {
  /** Bills (sales) to members; null in the category view (a bill spans categories). */
  bills: z.int().nullable(),
  /** Sale lines. */
  lines: z.int(),
  /** Gross sales to members, paise. */
  salesPaise: z.int(),
  /** Refunded by returns recorded in the period, paise (a return counts when it is recorded). */
  returnedPaise: z.int(),
  /** salesPaise - returnedPaise. */
  netSalesPaise: z.int(),
  /** Points earned by sales (earn entries). */
  pointsEarned: z.int(),
  /** Points taken back by returns (reverse entries), as a positive number. */
  pointsReversed: z.int(),
  /** Points redeemed, positive; null on category rows: a redemption pays for a bill, not a category. */
  pointsRedeemed: z.int().nullable(),
  /** Rupee value of the redeemed points, paise, at the point value in force when redeemed. */
  redeemedValuePaise: z.int().nullable(),
};

/**
 * One row of the sales report. The key fields that do not apply to the dimension are null. In
 * the category view one extra row with categoryCode null carries the redemptions, which have no
 * category; rows always add up to the totals.
 */
export const SalesReportRow = z
  .object({
    period: z.string().nullable(),
    periodEnd: z.string().nullable(),
    showroomCode: z.string().nullable(),
    showroomName: z.string().nullable(),
    categoryCode: z.string().nullable(),
    categoryName: z.string().nullable(),
    ...salesFigures,
  })
  .meta({ id: 'SalesReportRow' });
export type SalesReportRow = z.infer<typeof SalesReportRow>;

export const SalesReportTotals = z
  .object({
    ...salesFigures,
    bills: z.int(),
    pointsRedeemed: z.int(),
    redeemedValuePaise: z.int(),
  })
  .meta({ id: 'SalesReportTotals' });
export type SalesReportTotals = z.infer<typeof SalesReportTotals>;

export const SalesReport = z
  .object({
    ...ReportHeader,
    granularity: ReportGranularity,
    dimension: SalesDimension,
    rows: z.array(SalesReportRow),
    totals: SalesReportTotals,
  })
  .meta({ id: 'SalesReport' });
export type SalesReport = z.infer<typeof SalesReport>;

/** Ledger entry kinds; movements are signed sums of each kind's points. */
export const LedgerKind = z.enum(['earn', 'redeem', 'reverse', 'adjust', 'expire', 'bonus']);
export type LedgerKind = z.infer<typeof LedgerKind>;

const liabilityFigures = {
  /** Sum of all entries before the period: the points outstanding at its start. */
  openingPoints: z.int(),
  /** Signed points moved by each kind (earn and bonus positive, redeem and expire negative). */
  earnPoints: z.int(),
  redeemPoints: z.int(),
  reversePoints: z.int(),
  adjustPoints: z.int(),
  expirePoints: z.int(),
  bonusPoints: z.int(),
  /** Sum of the six movements. */
  netPoints: z.int(),
  /** openingPoints + netPoints: the points outstanding at the period's end. */
  closingPoints: z.int(),
  /** closingPoints × pointValuePaise. */
  closingValuePaise: z.int(),
  /** Ledger entries in the period. */
  entries: z.int(),
};

export const LiabilityReportRow = z
  .object({ ...PeriodKey, ...liabilityFigures })
  .meta({ id: 'LiabilityReportRow' });
export type LiabilityReportRow = z.infer<typeof LiabilityReportRow>;

export const LiabilityReport = z
  .object({
    ...ReportHeader,
    granularity: ReportGranularity,
    /** Rupee value of one point in the program settings now, paise. */
    pointValuePaise: z.int(),
    rows: z.array(LiabilityReportRow),
    /** Opening at `from`, movements over the range, closing at the end of `to`. */
    totals: z.object(liabilityFigures),
  })
  .meta({ id: 'LiabilityReport' });
export type LiabilityReport = z.infer<typeof LiabilityReport>;

export const MembersReportRow = z
  .object({
    period: z.string().nullable(),
    periodEnd: z.string().nullable(),
    showroomCode: z.string().nullable(),
    showroomName: z.string().nullable(),
    /** Members enrolled (at this showroom, in this period). */
    enrolments: z.int(),
    /** Distinct members with at least one purchase (at this showroom, in this period). */
    activeMembers: z.int(),
    /** Bills in the period (a member may have several). */
    bills: z.int(),
  })
  .meta({ id: 'MembersReportRow' });
export type MembersReportRow = z.infer<typeof MembersReportRow>;

export const MembersReport = z
  .object({
    ...ReportHeader,
    granularity: ReportGranularity,
    dimension: MembersDimension,
    rows: z.array(MembersReportRow),
    /**
     * Over the whole range and the filter: activeMembers counts each member once even when they
     * bought at several showrooms or in several periods, so it is not the sum of the rows.
     */
    totals: z.object({
      enrolments: z.int(),
      activeMembers: z.int(),
      bills: z.int(),
      /** Members enrolled by the end of `to` (whole chain, or at the filtered showrooms). */
      membersAtEnd: z.int(),
    }),
  })
  .meta({ id: 'MembersReport' });
export type MembersReport = z.infer<typeof MembersReport>;

export const CategoryMixRow = z.object({
  categoryCode: z.string(),
  categoryName: z.string(),
  lines: z.int(),
  salesPaise: z.int(),
  /** Share of the range's gross sales, in basis points (1/100 of a percent), for display. */
  shareBasisPoints: z.int(),
});
export type CategoryMixRow = z.infer<typeof CategoryMixRow>;

/** Members of the range by how many visits (days with a bill) they made in it. */
export const VisitFrequencyRow = z.object({
  /** Label of the bucket, e.g. "1", "2", "3", "4-5", "6-10", "11+". */
  visits: z.string(),
  minVisits: z.int(),
  /** null for the last, open bucket. */
  maxVisits: z.int().nullable(),
  members: z.int(),
  salesPaise: z.int(),
});
export type VisitFrequencyRow = z.infer<typeof VisitFrequencyRow>;

/** The RFM segments, from best to lost; each member of the range is in exactly one. */
export const RfmSegment = z.enum([
  'champions',
  'loyal',
  'new',
  'promising',
  'at-risk',
  'hibernating',
  'lost',
]);
export type RfmSegment = z.infer<typeof RfmSegment>;

export const RfmRow = z.object({
  segment: RfmSegment,
  /** How the segment is defined, in words. */
  definition: z.string(),
  members: z.int(),
  salesPaise: z.int(),
  visits: z.int(),
});
export type RfmRow = z.infer<typeof RfmRow>;

/**
 * Members who have bought at the filtered showrooms (all members without a filter), by how many
 * of the chain's showrooms they have bought at over their whole history to now.
 */
export const ShowroomsPerMemberRow = z.object({
  /** "1", "2", "3", "4+". */
  showrooms: z.string(),
  members: z.int(),
  /** Their whole spend at every showroom, paise (gross). */
  salesPaise: z.int(),
});
export type ShowroomsPerMemberRow = z.infer<typeof ShowroomsPerMemberRow>;

/** Churn risk, by the showroom of the member's last visit. */
export const ChurnRiskRow = z.object({
  showroomCode: z.string().nullable(),
  showroomName: z.string().nullable(),
  /** Members with enough visits to have a usual interval. */
  membersWithHistory: z.int(),
  /** Of those, members whose days since their last visit exceed k × their usual interval. */
  membersAtRisk: z.int(),
  /** Lifetime spend of the members at risk, paise. */
  atRiskSpendPaise: z.int(),
});
export type ChurnRiskRow = z.infer<typeof ChurnRiskRow>;

export const PatternsReport = z
  .object({
    ...ReportHeader,
    categoryMix: z.array(CategoryMixRow),
    visitFrequency: z.array(VisitFrequencyRow),
    rfm: z.array(RfmRow),
    showroomsPerMember: z.array(ShowroomsPerMemberRow),
    churnRisk: z.object({
      /** The day the risk is judged on: today (from each member's whole history to now). */
      asOf: z.string(),
      /** A member is at risk when days since last visit > k × usual interval. */
      k: z.number(),
      /** Visits needed before a member has a usual interval. */
      minVisits: z.int(),
      rows: z.array(ChurnRiskRow),
      totals: z.object({
        membersWithHistory: z.int(),
        membersAtRisk: z.int(),
        atRiskSpendPaise: z.int(),
      }),
    }),
    totals: z.object({
      /** Distinct members with a bill in the range (at the filtered showrooms). */
      activeMembers: z.int(),
      visits: z.int(),
      bills: z.int(),
      salesPaise: z.int(),
      /** Of the members in showroomsPerMember, those who have bought at 2 or more showrooms. */
      multiShowroomMembers: z.int(),
    }),
  })
  .meta({ id: 'PatternsReport' });
export type PatternsReport = z.infer<typeof PatternsReport>;

/** SMS statuses as the outbox keeps them; `sent` means the provider accepted the message. */
export const SmsStatus = z.enum([
  'queued',
  'sending',
  'retrying',
  'sent',
  'failed',
  'refused',
  'unknown',
  'expired',
]);
export type SmsStatus = z.infer<typeof SmsStatus>;

const smsFigures = {
  /** Messages created in the range. */
  total: z.int(),
  /** Still waiting: queued, sending or retrying. */
  pending: z.int(),
  sent: z.int(),
  failed: z.int(),
  refused: z.int(),
  unknown: z.int(),
  expired: z.int(),
  /** SMS segments of the sent messages (what the provider bills). */
  sentSegments: z.int(),
};

export const SmsReportRow = z
  .object({ kind: z.string(), ...smsFigures })
  .meta({ id: 'SmsReportRow' });
export type SmsReportRow = z.infer<typeof SmsReportRow>;

export const SmsReport = z
  .object({ ...ReportHeader, rows: z.array(SmsReportRow), totals: z.object(smsFigures) })
  .meta({ id: 'SmsReport' });
export type SmsReport = z.infer<typeof SmsReport>;

/** The dashboard's figures for today (in the chain's time zone), pushed live after each sale. */
export const TodaySummary = z
  .object({
    date: z.string(),
    timeZone: z.string(),
    showrooms: z.array(z.string()),
    generatedAt: z.string(),
    bills: z.int(),
    salesPaise: z.int(),
    returnedPaise: z.int(),
    /** Distinct members with a bill today. */
    members: z.int(),
    pointsEarned: z.int(),
    pointsRedeemed: z.int(),
    redeemedValuePaise: z.int(),
    enrolments: z.int(),
    smsSent: z.int(),
    smsFailed: z.int(),
    smsPending: z.int(),
  })
  .meta({ id: 'TodaySummary' });
export type TodaySummary = z.infer<typeof TodaySummary>;

/** Name of the server-sent event carrying a TodaySummary on GET /api/reports/live. */
export const LIVE_TODAY_EVENT = 'today';

/** Route paths, for the console. */
export const REPORT_PATHS = {
  sales: '/api/reports/sales',
  liability: '/api/reports/liability',
  members: '/api/reports/members',
  patterns: '/api/reports/patterns',
  sms: '/api/reports/sms',
  today: '/api/reports/today',
  live: '/api/reports/live',
} as const;

import { z } from 'zod';
import { OtpDelivery, QuoteResponse, RedemptionView } from '../../shared/protocol/redeem.ts';
import { StatementEntry } from '../../shared/protocol/ledger.ts';

/**
 * The counter's local HTTP API: what the UI and the chain's billing software (POS API) send and
 * receive. One file, so the server validates with the same schemas the UI is typed against.
 *
 * Every request needs `Authorization: Bearer <local token>` (the token lives in the terminal's
 * data folder; the UI gets it in its URL's #fragment). UI requests that act for a cashier also
 * carry `X-Staff-Session`. Errors are `{ code, message }` with an HTTP status; `message` is a
 * sentence a cashier can act on.
 */

export const STAFF_SESSION_HEADER = 'x-staff-session';

export const ApiError = z.object({ code: z.string(), message: z.string() });
export type ApiError = z.infer<typeof ApiError>;

export const StaffRole = z.enum(['cashier', 'manager', 'admin']);
export type StaffRole = z.infer<typeof StaffRole>;

export const StaffView = z.object({
  id: z.int(),
  username: z.string(),
  name: z.string(),
  role: StaffRole,
});
export type StaffView = z.infer<typeof StaffView>;

/** A member as the counter shows them; `mobile` (E.164) identifies them in requests. */
export const MemberCard = z.object({
  id: z.int().nullable(),
  mobile: z.string(),
  maskedMobile: z.string(),
  name: z.string(),
  balance: z.int(),
  pendingPoints: z.int(),
  tier: z.string(),
  smsConsent: z.boolean(),
  lastVisitAt: z.string().nullable(),
  /** Enrolled at this counter and not yet confirmed by central. */
  isPending: z.boolean(),
});
export type MemberCard = z.infer<typeof MemberCard>;

export const PrinterState = z.enum([
  'not-configured',
  'ready',
  'printing',
  'offline',
  'paper-out',
  'paper-low',
  'error',
]);
export const PrinterStatus = z.object({
  state: PrinterState,
  message: z.string().nullable(),
  /** Kinds of document that can be printed again. */
  reprintable: z.array(z.string()),
});
export type PrinterStatus = z.infer<typeof PrinterStatus>;

export const ScannerStatusView = z.object({
  name: z.string(),
  kind: z.enum(['serial', 'hid', 'keyboard']),
  state: z.enum(['connected', 'connecting', 'disconnected', 'not-found']),
  message: z.string().nullable(),
});

export const StatusView = z.object({
  terminalId: z.string(),
  showroomCode: z.string(),
  showroomName: z.string(),
  chainName: z.string(),
  link: z.enum(['online', 'offline', 'connecting', 'refused']),
  linkMessage: z.string().nullable(),
  lastSyncAt: z.string().nullable(),
  pending: z.int(),
  refused: z.int(),
  members: z.int(),
  pointValuePaise: z.int(),
  printer: PrinterStatus,
  scanners: z.array(ScannerStatusView),
  staff: StaffView.nullable(),
});
export type StatusView = z.infer<typeof StatusView>;

export const SignIn = z.strictObject({
  username: z.string().min(1).max(64),
  pin: z.string().regex(/^\d{4,8}$/, 'the PIN is 4 to 8 digits'),
});
export const SignedIn = z.object({ session: z.string(), staff: StaffView });

export const Suggestions = z.object({ members: z.array(MemberCard) });

export const Enrolment = z.strictObject({
  mobile: z.string().min(1).max(32),
  name: z.string().trim().min(1).max(120),
  birthday: z.iso.date().optional(),
  anniversary: z.iso.date().optional(),
  /** Asked at the counter and answered explicitly: no default. */
  smsConsent: z.boolean(),
});
export const Enrolled = z.object({ member: MemberCard, created: z.boolean() });

export const Category = z.object({
  code: z.string(),
  name: z.string(),
  pointsPer100Rupees: z.int(),
});
export const Catalogue = z.object({ categories: z.array(Category) });

export const Product = z.object({
  sku: z.string(),
  name: z.string(),
  categoryCode: z.string(),
  categoryName: z.string(),
});
export type Product = z.infer<typeof Product>;

/** A code from a scanner, resolved: a member (card, QR or mobile), a product, or why neither. */
export const ScanResult = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('member'), member: MemberCard }),
  z.object({ kind: z.literal('product'), product: Product }),
  z.object({ kind: z.literal('unknown'), text: z.string(), message: z.string() }),
]);
export type ScanResult = z.infer<typeof ScanResult>;
export const ScanInput = z.strictObject({ text: z.string().min(1).max(256) });

export const SaleLine = z.strictObject({
  sku: z.string().min(1).max(64),
  categoryCode: z.string().min(1).max(16),
  quantity: z.int().min(1).max(10_000),
  amountPaise: z.int().min(1),
});
export type SaleLine = z.infer<typeof SaleLine>;

export const SalePreviewInput = z.strictObject({ lines: z.array(SaleLine).max(500) });
export const SalePreview = z.object({
  points: z.int(),
  linePoints: z.array(z.int()),
  billAmountPaise: z.int(),
});
export type SalePreview = z.infer<typeof SalePreview>;

export const BillNumberInput = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[\w./-]+$/, 'letters, digits and . / - _ only');

export const CompleteSale = z.strictObject({
  billNumber: BillNumberInput,
  mobile: z.string().min(1).max(32),
  lines: z.array(SaleLine).min(1).max(500),
  /** A confirmed redemption on this bill, printed on the slip. */
  redemptionId: z.int().min(1).optional(),
  shouldPrint: z.boolean().default(true),
});

/** What happened at the printer: never an error for the sale, which is already saved. */
export const PrintOutcome = z.object({
  ok: z.boolean(),
  kind: z.string(),
  message: z.string().nullable(),
  canReprint: z.boolean(),
});
export type PrintOutcome = z.infer<typeof PrintOutcome>;

export const SaleDone = z.object({
  key: z.string(),
  billNumber: z.string(),
  pendingPoints: z.int(),
  member: MemberCard,
  /** 'queued' until central has it; the points count as pending meanwhile. */
  delivery: z.enum(['queued', 'applied']),
  print: PrintOutcome.nullable(),
  nextBillNumber: z.string(),
});
export type SaleDone = z.infer<typeof SaleDone>;

export const NextBill = z.object({ billNumber: z.string() });

export const QuoteInput = z.strictObject({
  mobile: z.string().min(1).max(32),
  billNumber: BillNumberInput,
  billAmountPaise: z.int().min(1),
});
export const RedeemInput = QuoteInput.extend({ points: z.int().min(1) });
export const ConfirmInput = z.strictObject({ otp: z.string().trim().min(1).max(12) });
export const CancelInput = z.strictObject({ reason: z.string().trim().min(1).max(200).optional() });
export { QuoteResponse, RedemptionView, OtpDelivery };

export const LedgerQuery = z.strictObject({ from: z.iso.date(), to: z.iso.date() });
/** One entry of a member's statement, as central sends it (shared/protocol/ledger.ts). */
export const LedgerEntryView = StatementEntry;
export const LedgerView = z.object({
  member: MemberCard,
  from: z.string(),
  to: z.string(),
  openingBalance: z.int(),
  closingBalance: z.int(),
  entries: z.array(LedgerEntryView),
  truncated: z.boolean(),
});
export type LedgerView = z.infer<typeof LedgerView>;

export const PrintLedgerInput = z.strictObject({
  mobile: z.string().min(1).max(32),
  from: z.iso.date(),
  to: z.iso.date(),
});
export const PrintMemberInput = z.strictObject({ mobile: z.string().min(1).max(32) });
export const ReprintInput = z.strictObject({
  kind: z.enum(['sale-slip', 'point-slip', 'ledger-statement', 'member-card']),
});

/** Server-sent events on GET /api/events (read with fetch; the token goes in the header). */
export type CounterEvent =
  | { type: 'status'; status: StatusView }
  | { type: 'scan'; source: string; result: ScanResult }
  | { type: 'member'; mobile: string }
  | {
      type: 'redeem:sms';
      redemptionId: number;
      delivery: z.infer<typeof OtpDelivery>;
      error: string | null;
    };

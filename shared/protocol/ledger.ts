import { z } from 'zod';
import { CalendarDate, MobileInput } from './api.ts';

/**
 * Ledger requests over the terminal's sync socket, answered with an acknowledgement like the
 * redemption requests: the answer, or `{ error: Problem }`. They need central (online only).
 */
export const LEDGER_EVENTS = {
  /** A member's statement for a range of days, for the screen and the thermal printer. */
  statement: 'ledger:statement',
} as const;

/** Longest statement range, in calendar days (both ends included). */
export const MAX_STATEMENT_DAYS = 366;

/** Most entries in one statement; beyond it the statement says it is truncated. */
export const MAX_STATEMENT_ENTRIES = 5_000;

/** Days from `from` to `to`, both included (dates as YYYY-MM-DD). */
export function daysInRange(from: string, to: string): number {
  return (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1;
}

/** `ledger:statement` request: the member by mobile, and inclusive dates in the chain's time zone. */
export const StatementRequest = z
  .strictObject({ mobile: MobileInput, from: CalendarDate, to: CalendarDate })
  .refine((r) => r.from <= r.to, { message: '"from" is after "to"', path: ['from'] })
  .refine((r) => daysInRange(r.from, r.to) <= MAX_STATEMENT_DAYS, {
    message: `a statement covers at most ${MAX_STATEMENT_DAYS} days`,
    path: ['from'],
  });
export type StatementRequest = z.infer<typeof StatementRequest>;

/** One ledger entry as a statement shows it, with the balance it left. */
export const StatementEntry = z.object({
  /** When central wrote the entry (ISO, UTC). */
  at: z.string(),
  kind: z.enum(['earn', 'redeem', 'reverse', 'adjust', 'expire', 'bonus']),
  /** Signed: positive credits the member, negative debits. */
  points: z.int(),
  balanceAfter: z.int(),
  showroomCode: z.string().nullable(),
  billNumber: z.string().nullable(),
  /** The entry's reason (an adjustment's, a return's, a wish's), if any. */
  note: z.string().nullable(),
});
export type StatementEntry = z.infer<typeof StatementEntry>;

/**
 * A member's statement: the balance before `from`, the entries of the range in the order they
 * were written (each with its running balance), and the balance at the end of `to`. When the
 * range holds more than MAX_STATEMENT_ENTRIES entries, only the first are listed and
 * `truncated` is true; the closing balance is still the one at the end of `to`.
 */
export const LedgerStatement = z.object({
  member: z.object({ id: z.int(), name: z.string(), mobile: z.string(), balance: z.int() }),
  from: z.string(),
  to: z.string(),
  openingBalance: z.int(),
  closingBalance: z.int(),
  entries: z.array(StatementEntry),
  truncated: z.boolean(),
});
export type LedgerStatement = z.infer<typeof LedgerStatement>;

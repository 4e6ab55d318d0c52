import { maskMobile } from '../../shared/mobile.ts';
import {
  MAX_STATEMENT_ENTRIES,
  StatementRequest,
  type LedgerStatement,
} from '../../shared/protocol/ledger.ts';
import type { Db } from '../db/connect.ts';
import { statementFor } from '../db/ledger-store.ts';
import { AppError } from '../errors.ts';
import { nextDay, startOfDay } from '../time.ts';

/**
 * `ledger:statement` from a paired terminal: a member's statement for inclusive calendar days
 * in the chain's time zone, for the counter's screen and printer.
 */
export async function ledgerStatement(
  deps: { db: Db; timeZone: string },
  raw: unknown,
): Promise<LedgerStatement> {
  const parsed = StatementRequest.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    throw new AppError(
      'validation',
      `ledger:statement: ${issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ')}`,
      issues.map((i) => ({ pointer: `/${i.path.join('/')}`, message: i.message })),
    );
  }
  const { mobile, from, to } = parsed.data;
  const found = await statementFor(
    deps.db,
    mobile,
    startOfDay(from, deps.timeZone),
    startOfDay(nextDay(to), deps.timeZone),
    MAX_STATEMENT_ENTRIES,
  );
  if (!found) {
    throw new AppError(
      'member-not-found',
      `No member has the mobile ${maskMobile(mobile)}; enrol the customer first.`,
    );
  }
  return {
    member: found.member,
    from,
    to,
    openingBalance: found.opening,
    closingBalance: found.closing,
    entries: found.entries,
    truncated: found.truncated,
  };
}

import {
  LiabilityReportQuery,
  MembersReportQuery,
  PatternsReportQuery,
  SalesReportQuery,
} from '../../shared/protocol/reports.ts';
import {
  liabilityReport,
  membersReport,
  patternsReport,
  salesReport,
  type ReportDeps,
} from './queries.ts';
import { ledgerSource } from './sources.ts';

/** One report whose figures from the rollups differ from those computed from the ledger. */
export interface ReportDifference {
  report: string;
  query: Record<string, unknown>;
  fromRollups: unknown;
  fromLedger: unknown;
}

/** The first path at which two JSON values differ, for a readable message. */
function firstDifference(a: unknown, b: unknown, path = ''): string | undefined {
  if (Object.is(a, b)) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return `${path || '/'}: ${JSON.stringify(a)} ≠ ${JSON.stringify(b)}`;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const d = firstDifference(
      (a as Record<string, unknown>)[k],
      (b as Record<string, unknown>)[k],
      `${path}/${k}`,
    );
    if (d) return d;
  }
  return undefined;
}

/**
 * Runs every report over [from, to] (whole chain, and each showroom in `showrooms`) from the
 * rollups and straight from the ledger, and lists where they differ (nothing when all agree).
 */
export async function checkReports(
  deps: ReportDeps,
  range: { from: string; to: string },
  showroomFilters: string[][] = [[]],
): Promise<{ checked: number; differences: (ReportDifference & { where: string })[] }> {
  const truth = ledgerSource(deps.db, deps.timeZone, { to: range.to });
  const differences: (ReportDifference & { where: string })[] = [];
  let checked = 0;
  const compare = async (
    report: string,
    query: Record<string, unknown>,
    run: (source?: typeof truth) => Promise<{ generatedAt: string }>,
  ) => {
    const fromRollups = { ...(await run()), generatedAt: '' };
    const fromLedger = { ...(await run(truth)), generatedAt: '' };
    checked += 1;
    const where = firstDifference(fromRollups, fromLedger);
    if (where) differences.push({ report, query, fromRollups, fromLedger, where });
  };
  for (const showrooms of showroomFilters) {
    const base = { ...range, showrooms };
    for (const granularity of ['day', 'week', 'month'] as const) {
      for (const dimension of ['time', 'showroom', 'category'] as const) {
        const q = SalesReportQuery.parse({ ...base, granularity, dimension });
        await compare('sales', q, (s) => salesReport(deps, q, s));
      }
      const l = LiabilityReportQuery.parse({ ...base, granularity });
      await compare('liability', l, (s) => liabilityReport(deps, l, s));
      for (const dimension of ['time', 'showroom'] as const) {
        const m = MembersReportQuery.parse({ ...base, granularity, dimension });
        await compare('members', m, (s) => membersReport(deps, m, s));
      }
    }
    const p = PatternsReportQuery.parse(base);
    await compare('patterns', p, (s) => patternsReport(deps, p, s));
  }
  return { checked, differences };
}

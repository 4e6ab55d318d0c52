import { rateAt } from '../../shared/points/earn.ts';
import type {
  RatePreview,
  RatePreviewCategory,
  RatePreviewRequest,
} from '../../shared/protocol/admin.ts';
import * as adminStore from '../db/admin-store.ts';
import type { Db } from '../db/connect.ts';
import { loadProgramSettings } from '../db/settings-store.ts';
import { AppError } from '../errors.ts';
import { localDateTime, nextDay, startOfDay } from '../time.ts';

/** Longest period one preview covers. */
export const MAX_PREVIEW_DAYS = 366;

/** The calendar month before the one `now` falls in, in `zone`: first and last day. */
export function lastMonth(now: Date, zone: string): { from: string; to: string } {
  const today = localDateTime(now, zone).date;
  const [y, m] = today.split('-').map(Number) as [number, number];
  const first = new Date(Date.UTC(y, m - 2, 1)).toISOString().slice(0, 10);
  const last = new Date(Date.UTC(y, m - 1, 0)).toISOString().slice(0, 10);
  return { from: first, to: last };
}

/**
 * What proposed rates would have earned on a period's sales (default: last month), category
 * by category, against what was earned: the same per-line rounding as the earn rule, summed
 * by the database in one pass over the period's lines. Saves nothing.
 */
export async function previewRates(
  deps: { db: Db; timeZone: string; now: Date },
  request: RatePreviewRequest,
): Promise<RatePreview> {
  const { db, timeZone, now } = deps;
  const period =
    request.from !== undefined && request.to !== undefined
      ? { from: request.from, to: request.to }
      : lastMonth(now, timeZone);
  const from = startOfDay(period.from, timeZone);
  const to = startOfDay(nextDay(period.to), timeZone);
  if (to.getTime() - from.getTime() > MAX_PREVIEW_DAYS * 86_400_000 + 3_600_000) {
    throw new AppError('validation', `A preview covers at most ${MAX_PREVIEW_DAYS} days.`, [
      { pointer: '/from', message: `at most ${MAX_PREVIEW_DAYS} days before "to"` },
    ]);
  }
  const categories = await adminStore.listCategoryIds(db);
  const byCode = new Map(categories.map((c) => [c.code, c]));
  const unknown = request.changes.flatMap((c, i) =>
    byCode.has(c.categoryCode) ? [] : [{ i, code: c.categoryCode }],
  );
  if (unknown.length > 0) {
    throw new AppError(
      'unknown-category',
      `There is no category ${unknown.map((u) => u.code).join(', ')}.`,
      unknown.map((u) => ({
        pointer: `/changes/${u.i}/categoryCode`,
        message: 'no such category',
      })),
    );
  }
  const proposed = new Map(
    request.changes.map((c) => [byCode.get(c.categoryCode)?.id ?? 0, c.pointsPer100Rupees]),
  );
  const [aggregate, history, settings] = await Promise.all([
    adminStore.previewAggregate(db, from, to, proposed),
    adminStore.listRateHistory(db),
    loadProgramSettings(db.knex),
  ]);
  const { pointValuePaise } = settings;
  const figures = new Map(aggregate.rows.map((r) => [r.categoryId, r]));
  const rows: RatePreviewCategory[] = categories
    .filter((c) => figures.has(c.id) || proposed.has(c.id))
    .map((c) => {
      const f = figures.get(c.id);
      const pointsEarned = f?.pointsEarned ?? 0;
      const pointsProposed = f?.pointsProposed ?? 0;
      const difference = pointsProposed - pointsEarned;
      return {
        categoryCode: c.code,
        name: c.name,
        currentRate: rateAt(history.rates, c.code, now) ?? null,
        proposedRate: proposed.get(c.id) ?? null,
        lines: f?.lines ?? 0,
        amountPaise: f?.amountPaise ?? 0,
        pointsEarned,
        pointsProposed,
        pointsDifference: difference,
        differenceValuePaise: difference * pointValuePaise,
      };
    });
  const sum = (pick: (r: RatePreviewCategory) => number) => rows.reduce((t, r) => t + pick(r), 0);
  return {
    from: period.from,
    to: period.to,
    timeZone,
    pointValuePaise,
    categories: rows,
    totals: {
      sales: aggregate.sales,
      lines: sum((r) => r.lines),
      amountPaise: sum((r) => r.amountPaise),
      pointsEarned: sum((r) => r.pointsEarned),
      pointsProposed: sum((r) => r.pointsProposed),
      pointsDifference: sum((r) => r.pointsDifference),
      differenceValuePaise: sum((r) => r.differenceValuePaise),
    },
  };
}

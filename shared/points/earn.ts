import { MAX_LINE_PAISE } from '../money.ts';

/** One earn rate of a category, in force from `effectiveFrom` until the next rate of that category. */
export interface EarnRate {
  categoryCode: string;
  /** Whole points earned for every ₹100 (10,000 paise) spent. */
  pointsPer100Rupees: number;
  /** ISO-8601 instant from which the rate applies. */
  effectiveFrom: string;
}

/** A line of a bill as the points rules see it. */
export interface SaleLine {
  sku: string;
  categoryCode: string;
  quantity: number;
  /** The line's total (quantity × unit price, after line discounts), in paise. */
  amountPaise: number;
}

/** A sale line with the rate applied and the points it earned. */
export interface EarnedLine extends SaleLine {
  pointsPer100Rupees: number;
  points: number;
}

/** What a sale earns: per line and in total, or the categories that have no rate at that time. */
export type SaleEarning =
  | { ok: true; lines: EarnedLine[]; points: number; amountPaise: number }
  | { ok: false; unknownCategories: string[] };

/**
 * Points for an amount at a rate, rounded down to a whole point:
 * floor(amountPaise × pointsPer100Rupees / 10,000). Rounding down means a member never
 * receives more than the advertised rate; the fraction of a point is not carried over.
 */
export function pointsForAmount(amountPaise: number, pointsPer100Rupees: number): number {
  if (!Number.isSafeInteger(amountPaise) || amountPaise < 0 || amountPaise > MAX_LINE_PAISE) {
    throw new RangeError(`amountPaise must be a whole number from 0 to ${MAX_LINE_PAISE}`);
  }
  if (!Number.isSafeInteger(pointsPer100Rupees) || pointsPer100Rupees < 0) {
    throw new RangeError('pointsPer100Rupees must be a whole number ≥ 0');
  }
  // amountPaise ≤ 1e9 and a rate ≤ 1e4 keep the product below 2^53, so this is exact.
  return Math.floor((amountPaise * pointsPer100Rupees) / 10_000);
}

/** The rate of `categoryCode` in force at instant `at`: the latest rate whose effectiveFrom ≤ at. */
export function rateAt(
  rates: readonly EarnRate[],
  categoryCode: string,
  at: Date,
): number | undefined {
  const atMs = at.getTime();
  let best: { fromMs: number; points: number } | undefined;
  for (const rate of rates) {
    if (rate.categoryCode !== categoryCode) continue;
    const fromMs = Date.parse(rate.effectiveFrom);
    if (fromMs > atMs) continue;
    if (best === undefined || fromMs >= best.fromMs) {
      best = { fromMs, points: rate.pointsPer100Rupees };
    }
  }
  return best?.points;
}

/**
 * Points a sale earns at instant `at`, line by line. Each line is rounded on its own, so the
 * result never depends on the order of the lines, and a return can reverse exactly what
 * each line earned.
 */
export function earnForSale(
  lines: readonly SaleLine[],
  rates: readonly EarnRate[],
  at: Date,
): SaleEarning {
  const unknown = new Set<string>();
  const earned: EarnedLine[] = [];
  let points = 0;
  let amountPaise = 0;
  for (const line of lines) {
    const rate = rateAt(rates, line.categoryCode, at);
    if (rate === undefined) {
      unknown.add(line.categoryCode);
      continue;
    }
    const linePoints = pointsForAmount(line.amountPaise, rate);
    earned.push({ ...line, pointsPer100Rupees: rate, points: linePoints });
    points += linePoints;
    amountPaise += line.amountPaise;
  }
  if (unknown.size > 0) return { ok: false, unknownCategories: [...unknown].sort() };
  return { ok: true, lines: earned, points, amountPaise };
}

/** What a partial or whole return of one line takes back. */
export interface LineReversal {
  points: number;
  amountPaise: number;
}

/**
 * Points and amount taken back when `returnQuantity` more units of a line come back after
 * `returnedBefore` units already did. Shares are cut at floor(total × returned / quantity),
 * so however a line is returned in pieces, returning every unit reverses exactly what the
 * line earned and never more.
 */
export function reverseLine(
  line: { quantity: number; points: number; amountPaise: number },
  returnedBefore: number,
  returnQuantity: number,
): LineReversal {
  if (
    !Number.isSafeInteger(returnedBefore) ||
    !Number.isSafeInteger(returnQuantity) ||
    returnedBefore < 0 ||
    returnQuantity < 1 ||
    returnedBefore + returnQuantity > line.quantity
  ) {
    throw new RangeError(
      `cannot return ${returnQuantity} of a line of ${line.quantity} after ${returnedBefore} came back`,
    );
  }
  const share = (total: number, units: number): number =>
    Math.floor((total * units) / line.quantity);
  const after = returnedBefore + returnQuantity;
  return {
    points: share(line.points, after) - share(line.points, returnedBefore),
    amountPaise: share(line.amountPaise, after) - share(line.amountPaise, returnedBefore),
  };
}

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { earnForSale, pointsForAmount, rateAt, reverseLine, type EarnRate } from './earn.ts';
import { MAX_LINE_PAISE } from '../money.ts';

const categories = ['ELEC', 'APPL', 'BOOK', 'LAMP'] as const;
const at = new Date('2026-06-01T10:00:00Z');
const rates: EarnRate[] = [
  { categoryCode: 'ELEC', pointsPer100Rupees: 1, effectiveFrom: '2026-01-01T00:00:00Z' },
  { categoryCode: 'ELEC', pointsPer100Rupees: 3, effectiveFrom: '2026-05-01T00:00:00Z' },
  { categoryCode: 'ELEC', pointsPer100Rupees: 9, effectiveFrom: '2026-07-01T00:00:00Z' },
  { categoryCode: 'APPL', pointsPer100Rupees: 2, effectiveFrom: '2026-01-01T00:00:00Z' },
  { categoryCode: 'BOOK', pointsPer100Rupees: 5, effectiveFrom: '2026-01-01T00:00:00Z' },
  { categoryCode: 'LAMP', pointsPer100Rupees: 0, effectiveFrom: '2026-01-01T00:00:00Z' },
];

const line = fc.record({
  sku: fc.string({ minLength: 1, maxLength: 8 }),
  categoryCode: fc.constantFrom(...categories),
  quantity: fc.integer({ min: 1, max: 10_000 }),
  amountPaise: fc.integer({ min: 0, max: MAX_LINE_PAISE }),
});

describe('pointsForAmount', () => {
  it('rounds down to whole points per ₹100', () => {
    expect(pointsForAmount(10_000, 1)).toBe(1);
    expect(pointsForAmount(9_999, 1)).toBe(0);
    expect(pointsForAmount(1_23_456_00, 2)).toBe(2_469);
  });
  it('refuses fractional, negative and absurd amounts', () => {
    expect(() => pointsForAmount(10.5, 1)).toThrow(RangeError);
    expect(() => pointsForAmount(-1, 1)).toThrow(RangeError);
    expect(() => pointsForAmount(MAX_LINE_PAISE + 1, 1)).toThrow(RangeError);
  });
});

describe('rateAt', () => {
  it('uses the rate in force at the sale time, never a later one', () => {
    expect(rateAt(rates, 'ELEC', new Date('2026-04-30T23:59:59Z'))).toBe(1);
    expect(rateAt(rates, 'ELEC', new Date('2026-05-01T00:00:00Z'))).toBe(3);
    expect(rateAt(rates, 'ELEC', at)).toBe(3);
    expect(rateAt(rates, 'ELEC', new Date('2025-12-31T00:00:00Z'))).toBeUndefined();
    expect(rateAt(rates, 'TOYS', at)).toBeUndefined();
  });
});

describe('earnForSale', () => {
  it('names every category that has no rate', () => {
    const result = earnForSale(
      [
        { sku: 'a', categoryCode: 'TOYS', quantity: 1, amountPaise: 100 },
        { sku: 'b', categoryCode: 'ELEC', quantity: 1, amountPaise: 100 },
        { sku: 'c', categoryCode: 'GAMES', quantity: 1, amountPaise: 100 },
      ],
      rates,
      at,
    );
    expect(result).toEqual({ ok: false, unknownCategories: ['GAMES', 'TOYS'] });
  });

  it('never earns negative points and never more than the best rate allows', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 40 }), (lines) => {
        const result = earnForSale(lines, rates, at);
        if (!result.ok) return false;
        const total = lines.reduce((sum, l) => sum + l.amountPaise, 0);
        expect(result.points).toBeGreaterThanOrEqual(0);
        expect(result.points).toBeLessThanOrEqual(Math.floor((total * 5) / 10_000));
        expect(Number.isSafeInteger(result.points)).toBe(true);
        expect(result.amountPaise).toBe(total);
        return true;
      }),
    );
  });

  it('does not depend on the order of the lines', () => {
    fc.assert(
      fc.property(
        fc
          .array(line, { maxLength: 30 })
          .chain((lines) =>
            fc.tuple(fc.constant(lines), fc.shuffledSubarray(lines, { minLength: lines.length })),
          ),
        ([lines, shuffled]) => {
          const a = earnForSale(lines, rates, at);
          const b = earnForSale(shuffled, rates, at);
          expect(a.ok && b.ok && a.points === b.points).toBe(true);
        },
      ),
    );
  });

  it('returning every line, in any pieces, reverses exactly what the sale earned', () => {
    const returnPlan = fc.array(line, { minLength: 1, maxLength: 12 }).chain((lines) =>
      fc.tuple(
        fc.constant(lines),
        // For each line, a random split of its quantity into return batches.
        fc.tuple(
          ...lines.map((l) =>
            fc
              .array(fc.integer({ min: 1, max: l.quantity }), { maxLength: 5 })
              .map((cuts) => splitQuantity(l.quantity, cuts)),
          ),
        ),
      ),
    );
    fc.assert(
      fc.property(returnPlan, ([lines, plans]) => {
        const earned = earnForSale(lines, rates, at);
        if (!earned.ok) return false;
        let reversedPoints = 0;
        earned.lines.forEach((earnedLine, i) => {
          let returned = 0;
          let reversedAmount = 0;
          for (const qty of plans[i] ?? []) {
            const back = reverseLine(earnedLine, returned, qty);
            expect(back.points).toBeGreaterThanOrEqual(0);
            reversedPoints += back.points;
            reversedAmount += back.amountPaise;
            returned += qty;
          }
          expect(returned).toBe(earnedLine.quantity);
          expect(reversedAmount).toBe(earnedLine.amountPaise);
        });
        expect(reversedPoints).toBe(earned.points);
        return true;
      }),
    );
  });

  it('refuses to return more units than the line had', () => {
    const l = { quantity: 2, points: 10, amountPaise: 2000 };
    expect(() => reverseLine(l, 1, 2)).toThrow(RangeError);
    expect(() => reverseLine(l, 0, 0)).toThrow(RangeError);
  });
});

function splitQuantity(quantity: number, cuts: number[]): number[] {
  const points = [...new Set(cuts.filter((c) => c < quantity))].sort((a, b) => a - b);
  const parts: number[] = [];
  let previous = 0;
  for (const p of [...points, quantity]) {
    parts.push(p - previous);
    previous = p;
  }
  return parts;
}

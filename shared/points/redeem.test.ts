import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, ProgramSettings, quoteRedemption, refuseRedemption } from './redeem.ts';

describe('quoteRedemption', () => {
  const settings = ProgramSettings.parse({
    pointValuePaise: 50,
    minRedeemPoints: 100,
    maxBillSharePercent: 20,
  });

  it('caps by the bill share and by the balance, in whole points', () => {
    // 20% of ₹999.99 = 19,999.8 paise → 399 points at 50 paise (not 399.996).
    expect(quoteRedemption(settings, 10_000, 99_999)).toMatchObject({
      maxPoints: 399,
      maxValuePaise: 19_950,
      allowed: true,
    });
    expect(quoteRedemption(settings, 250, 99_999)).toMatchObject({ maxPoints: 250, allowed: true });
  });

  it('says why nothing may be redeemed', () => {
    const low = quoteRedemption(settings, 99, 1_000_000);
    expect(low).toMatchObject({ allowed: false, maxPoints: 0 });
    expect(low.reason).toMatch(/99 points; at least 100/);
    const small = quoteRedemption(settings, 5_000, 10_000);
    expect(small.allowed).toBe(false);
    expect(small.reason).toMatch(/20% of a bill; this bill allows 40 points/);
    expect(quoteRedemption(settings, -30, 1_000_000).allowed).toBe(false);
  });

  it('refuses amounts outside the quote, each with its own reason', () => {
    const quote = quoteRedemption(settings, 300, 1_000_000);
    expect(refuseRedemption(quote, 99)?.code).toBe('below-minimum');
    expect(refuseRedemption(quote, 301)?.code).toBe('above-balance');
    expect(refuseRedemption(quote, 300)).toBeUndefined();
    const capped = quoteRedemption(settings, 10_000, 100_000);
    expect(refuseRedemption(capped, 401)?.code).toBe('above-bill-share');
    expect(refuseRedemption(capped, 400)).toBeUndefined();
  });

  it('refuses a bill that is not a whole positive number of paise', () => {
    expect(() => quoteRedemption(DEFAULT_SETTINGS, 100, 10.5)).toThrow(RangeError);
    expect(() => quoteRedemption(DEFAULT_SETTINGS, 100, 0)).toThrow(RangeError);
  });

  it('fills every default and refuses nonsense settings', () => {
    expect(DEFAULT_SETTINGS.otp).toMatchObject({ ttlSeconds: 300, maxAttempts: 5, maxResends: 3 });
    expect(DEFAULT_SETTINGS.wishes.sendAt).toBe('10:00');
    expect(ProgramSettings.safeParse({ maxBillSharePercent: 101 }).success).toBe(false);
    expect(ProgramSettings.safeParse({ pointValuePaise: 0.5 }).success).toBe(false);
    expect(ProgramSettings.safeParse({ wishes: { sendAt: '25:00' } }).success).toBe(false);
  });
});

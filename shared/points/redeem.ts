import { z } from 'zod';
import { MAX_BILL_PAISE } from '../money.ts';
import { NOT_STORABLE, storable } from '../protocol/api.ts';

const int = (min: number, max: number, fallback: number) =>
  z.int().min(min).max(max).default(fallback);

/** Limits of one-time passwords; every one configurable, with defaults a chain can live with. */
export const OtpSettings = z.object({
  /** How long an OTP may be used after it was (re)sent. */
  ttlSeconds: int(60, 1800, 300),
  /** Wrong codes before the OTP is dead. */
  maxAttempts: int(1, 10, 5),
  /** Least time between two sends of one OTP. */
  resendIntervalSeconds: int(0, 600, 30),
  /** Resends after the first send. */
  maxResends: int(0, 10, 3),
  /** OTPs one member may be sent in an hour, from all counters together. */
  perMemberPerHour: int(1, 100, 6),
  /** And in a day: bounds how many codes anyone can guess at for one member (5 tries each). */
  perMemberPerDay: int(1, 1_000, 20),
  /** OTPs one terminal may ask for in an hour. */
  perTerminalPerHour: int(1, 10_000, 120),
});

/** Daily wishes: when they go out (local time of the chain) and any bonus points they bring. */
export const WishSettings = z.object({
  birthday: z.boolean().default(true),
  anniversary: z.boolean().default(true),
  sendAt: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day as HH:MM, e.g. 10:00')
    .default('10:00'),
  birthdayBonusPoints: int(0, 100_000, 0),
  anniversaryBonusPoints: int(0, 100_000, 0),
});

/** The program's redemption and notice rules, as the chain configures them. */
export const ProgramSettings = z.object({
  /** The chain's name as the counter shows it and slips print it. */
  chainName: z
    .string()
    .trim()
    .min(1, 'the chain needs a name')
    .max(80, 'a chain name has at most 80 characters')
    .refine(storable, NOT_STORABLE)
    .default('Showroom Loyalty'),
  /** What one point is worth off a bill, in paise (100 = ₹1). */
  pointValuePaise: int(1, 100_000, 100),
  /** Fewest points a member may redeem at once. */
  minRedeemPoints: int(1, 1_000_000, 100),
  /** Largest share of a bill that points may pay, in percent. */
  maxBillSharePercent: int(1, 100, 50),
  /** How long after its confirmation a redemption may be cancelled (its bill still open). */
  cancelWithinMinutes: int(1, 24 * 60, 240),
  /** SMS after each sale that earns points (to members who consented). */
  earnNotices: z.boolean().default(true),
  /** SMS after each redemption (to members who consented). */
  redeemNotices: z.boolean().default(true),
  otp: OtpSettings.prefault({}),
  wishes: WishSettings.prefault({}),
});
export type ProgramSettings = z.infer<typeof ProgramSettings>;

/** The defaults: what a chain gets before it sets anything. */
export const DEFAULT_SETTINGS: ProgramSettings = ProgramSettings.parse({});

/** What a member may redeem against one bill, and why not when nothing. */
export interface RedemptionQuote {
  balance: number;
  pointValuePaise: number;
  minPoints: number;
  /** Most points this bill may take: the balance, or the bill's share payable with points. */
  maxPoints: number;
  maxValuePaise: number;
  allowed: boolean;
  /** When not allowed: a sentence the cashier can read to the customer. */
  reason?: string;
}

/**
 * The most a member may redeem on a bill: whole points, no more than the balance and no more
 * than `maxBillSharePercent` of the bill at `pointValuePaise` a point. Integers throughout.
 */
export function quoteRedemption(
  settings: ProgramSettings,
  balance: number,
  billAmountPaise: number,
): RedemptionQuote {
  if (!Number.isSafeInteger(billAmountPaise) || billAmountPaise < 1) {
    throw new RangeError('billAmountPaise must be a whole number of paise above zero');
  }
  if (billAmountPaise > MAX_BILL_PAISE) throw new RangeError('billAmountPaise is beyond any bill');
  const { pointValuePaise, minRedeemPoints, maxBillSharePercent } = settings;
  const byBill = Math.floor((billAmountPaise * maxBillSharePercent) / (100 * pointValuePaise));
  const maxPoints = Math.max(0, Math.min(balance, byBill));
  const quote: RedemptionQuote = {
    balance,
    pointValuePaise,
    minPoints: minRedeemPoints,
    maxPoints,
    maxValuePaise: maxPoints * pointValuePaise,
    allowed: maxPoints >= minRedeemPoints,
  };
  if (quote.allowed) return quote;
  quote.maxPoints = 0;
  quote.maxValuePaise = 0;
  quote.reason =
    balance < minRedeemPoints
      ? `The member has ${balance} points; at least ${minRedeemPoints} are needed to redeem.`
      : `Points may pay up to ${maxBillSharePercent}% of a bill; this bill allows ${byBill} points, below the minimum of ${minRedeemPoints}.`;
  return quote;
}

/** Checks a wish to redeem `points`; returns the refusal to show, or undefined when allowed. */
export function refuseRedemption(
  quote: RedemptionQuote,
  points: number,
): { code: 'below-minimum' | 'above-balance' | 'above-bill-share'; message: string } | undefined {
  if (points < quote.minPoints) {
    return {
      code: 'below-minimum',
      message: `At least ${quote.minPoints} points must be redeemed at once, not ${points}.`,
    };
  }
  if (points > quote.balance) {
    return {
      code: 'above-balance',
      message: `The member has ${quote.balance} points; ${points} cannot be redeemed.`,
    };
  }
  if (points > quote.maxPoints) {
    return {
      code: 'above-bill-share',
      message: `This bill allows at most ${quote.maxPoints} points (${quote.maxValuePaise} paise); ${points} is too many.`,
    };
  }
  return undefined;
}

import { z } from 'zod';
import { MAX_BILL_PAISE } from '../money.ts';
import { BillNumber, MobileInput, NOT_STORABLE, storable } from './api.ts';
import { MemberState } from './sync.ts';

/**
 * Redemption over the terminal's sync socket. Each event is a request with an acknowledgement:
 * the answer is the event's response, or `{ error: Problem }` (RFC 9457 fields: type, title,
 * status, detail, code). Redemption needs central: a terminal offline says so and keeps earning.
 */
export const REDEEM_EVENTS = {
  quote: 'redeem:quote',
  request: 'redeem:request',
  resend: 'redeem:resend',
  confirm: 'redeem:confirm',
  cancel: 'redeem:cancel',
  status: 'redeem:status',
  /** Pushed by central to the terminal that asked for the OTP as its SMS moves on. */
  sms: 'redeem:sms',
} as const;

const BillAmount = z.int().min(1).max(MAX_BILL_PAISE);

/** What may be redeemed against a bill. */
export const QuoteRequest = z.strictObject({
  mobile: MobileInput,
  billNumber: BillNumber,
  billAmountPaise: BillAmount,
});

/** Ask to redeem: central checks the rules, then sends the member an OTP. */
export const RedeemRequest = z.strictObject({
  mobile: MobileInput,
  billNumber: BillNumber,
  billAmountPaise: BillAmount,
  points: z.int().min(1).max(100_000_000),
});

export const RedemptionRef = z.strictObject({ redemptionId: z.int().min(1) });

export const ConfirmRequest = z.strictObject({
  redemptionId: z.int().min(1),
  otp: z.string().regex(/^\d{6}$/, 'the OTP is six digits'),
});

export const CancelRequest = z.strictObject({
  redemptionId: z.int().min(1),
  reason: z.string().trim().min(1).max(200).refine(storable, NOT_STORABLE).optional(),
});

export const QuoteResponse = z.object({
  memberId: z.int(),
  name: z.string(),
  maskedMobile: z.string(),
  balance: z.int(),
  pointValuePaise: z.int(),
  minPoints: z.int(),
  maxPoints: z.int(),
  maxValuePaise: z.int(),
  allowed: z.boolean(),
  reason: z.string().optional(),
});

/** How the OTP's SMS is doing, in words a cashier can act on. */
export const OtpDelivery = z.enum(['sending', 'sent', 'delayed', 'failed', 'unknown']);

export const RedemptionView = z.object({
  id: z.int(),
  memberId: z.int(),
  maskedMobile: z.string(),
  billNumber: z.string(),
  billAmountPaise: z.int(),
  points: z.int(),
  valuePaise: z.int(),
  status: z.enum(['awaiting-otp', 'confirmed', 'cancelled', 'abandoned']),
  requestedAt: z.string(),
  confirmedAt: z.string().nullable(),
  cancelledAt: z.string().nullable(),
  balanceAfter: z.int().nullable(),
  otp: z
    .object({
      expiresAt: z.string(),
      delivery: OtpDelivery,
      deliveryError: z.string().nullable(),
      triesLeft: z.int(),
      resendsLeft: z.int(),
      /** When the cashier may ask for a resend; null when no resend is left. */
      resendAt: z.string().nullable(),
    })
    .nullable(),
});

/** A confirmation or cancellation: the redemption and the member's state after it. */
export const RedemptionOutcome = z.object({
  redemption: RedemptionView,
  state: MemberState.optional(),
});

export const SmsPush = z.object({
  redemptionId: z.int(),
  /** The message this is about: after a resend, only the latest message's news matters. */
  outboxId: z.int(),
  delivery: OtpDelivery,
  error: z.string().nullable(),
});

export type QuoteRequest = z.infer<typeof QuoteRequest>;
export type RedeemRequest = z.infer<typeof RedeemRequest>;
export type ConfirmRequest = z.infer<typeof ConfirmRequest>;
export type CancelRequest = z.infer<typeof CancelRequest>;
export type QuoteResponse = z.infer<typeof QuoteResponse>;
export type RedemptionView = z.infer<typeof RedemptionView>;
export type RedemptionOutcome = z.infer<typeof RedemptionOutcome>;
export type OtpDelivery = z.infer<typeof OtpDelivery>;
export type SmsPush = z.infer<typeof SmsPush>;

import { z } from 'zod';
import { normaliseMobile } from '../mobile.ts';
import {
  AdjustRequest,
  Member,
  MemberIdParams,
  MobileInput,
  NOT_STORABLE,
  storable,
} from './api.ts';
import { AuditEntry } from './console.ts';
import { OtpDelivery } from './redeem.ts';

/**
 * Members in the head-office console: search, profile, merge, change of mobile, audit. Ledger
 * and purchase history come from `GET /api/members/:id/ledger` and `/sales` (api.ts
 * LedgerStatement, PurchaseHistory); an adjustment is `POST /api/members/:id/adjustments`
 * (api.ts AdjustRequest, AdjustResult).
 */

/** Fewest digits a mobile search takes: the last four, as receipts print them. */
export const MIN_SEARCH_DIGITS = 4;
/** Fewest letters a name search takes. */
export const MIN_SEARCH_LETTERS = 2;
/** Most members one search lists. */
export const MAX_SEARCH_LIMIT = 50;
/** Most characters a reason (adjustment, merge) may hold; the fewest is AdjustRequest's. */
export const MAX_REASON_LENGTH = 500;

/** How a search text was read. */
export const MemberSearchMatch = z.enum(['mobile-exact', 'mobile-suffix', 'name']);
export type MemberSearchMatch = z.infer<typeof MemberSearchMatch>;

/** A search text read as what it asks for. */
export type MemberSearchTerm =
  | { match: 'mobile-exact'; mobile: string }
  | { match: 'mobile-suffix'; digits: string }
  | { match: 'name'; text: string };

/**
 * Reads a search text: a whole mobile number (10 digits, +91 optional) is an exact lookup; 4–9
 * digits are the number's last digits (as a receipt's masked number shows them); letters are the
 * start of the name or of any word in it, in any case. Returns a message when it is neither.
 */
export function readSearchTerm(raw: string): MemberSearchTerm | { error: string } {
  const text = raw.normalize('NFC').trim().replace(/\s+/g, ' ');
  if (/^[+\d\s().-]+$/.test(text)) {
    const digits = text.replace(/\D/g, '');
    if (digits.length >= 10) {
      const result = normaliseMobile(text);
      return result.ok ? { match: 'mobile-exact', mobile: result.e164 } : { error: result.message };
    }
    if (digits.length < MIN_SEARCH_DIGITS || text.includes('+')) {
      return {
        error: `type a whole mobile number or at least its last ${MIN_SEARCH_DIGITS} digits`,
      };
    }
    return { match: 'mobile-suffix', digits };
  }
  if (/\d/.test(text)) {
    return { error: 'search by a mobile number (digits) or by a name (letters), not both at once' };
  }
  if (!/^[\p{L}\p{M}][\p{L}\p{M} .'-]*$/u.test(text)) {
    return { error: "a name holds letters of any script, spaces and . ' - only" };
  }
  if (text.replace(/[\s.'-]/g, '').length < MIN_SEARCH_LETTERS) {
    return { error: `type at least ${MIN_SEARCH_LETTERS} letters of the name` };
  }
  return { match: 'name', text };
}

/** `GET /api/members/search?q=&limit=` (manager). */
export const MemberSearchQuery = z.object({
  q: z
    .string()
    .max(64, 'a search is at most 64 characters')
    .refine(storable, NOT_STORABLE)
    .transform((q, ctx) => {
      const term = readSearchTerm(q);
      if ('error' in term) {
        ctx.addIssue({ code: 'custom', message: term.error });
        return z.NEVER;
      }
      return term;
    })
    .meta({
      description:
        'A whole mobile (exact), its last 4–9 digits, or the start of the name or of a word in it (any case).',
      examples: ['98765 43210', '3210', 'raj'],
    }),
  limit: z
    .string()
    .regex(/^[1-9]\d{0,1}$/, `a limit is 1–${MAX_SEARCH_LIMIT}`)
    .transform(Number)
    .pipe(z.number().max(MAX_SEARCH_LIMIT, `a limit is 1–${MAX_SEARCH_LIMIT}`))
    .optional()
    .meta({ description: `Default 20, at most ${MAX_SEARCH_LIMIT}.` }),
});

/** One member found by a search. */
export const MemberSearchHit = z
  .object({
    id: z.int(),
    name: z.string(),
    mobile: z.string(),
    maskedMobile: z.string(),
    balance: z.int(),
    tier: z.string(),
    enrolledAt: z.string(),
    enrolledShowroomCode: z.string().nullable(),
    lastVisitAt: z.string().nullable(),
    mergedIntoMemberId: z.int().nullable().meta({
      description: 'Set when this record was merged into another: open that member instead.',
    }),
  })
  .meta({ id: 'MemberSearchHit' });
export type MemberSearchHit = z.infer<typeof MemberSearchHit>;

export const MemberSearchResult = z
  .object({
    match: MemberSearchMatch,
    members: z.array(MemberSearchHit),
    truncated: z.boolean().meta({ description: 'More members match than were listed.' }),
  })
  .meta({ id: 'MemberSearchResult' });
export type MemberSearchResult = z.infer<typeof MemberSearchResult>;

/** A merge as the target's profile lists it (and as the merge answers). */
export const MergeRecord = z
  .object({
    id: z.int(),
    sourceMemberId: z.int(),
    targetMemberId: z.int(),
    sourceName: z.string(),
    sourceMobile: z.string(),
    sourceMaskedMobile: z.string(),
    pointsMoved: z
      .int()
      .meta({ description: "The source's balance on merging (may be negative)." }),
    sourceEntryId: z.int().nullable().meta({ description: 'The ledger entry taking them out.' }),
    targetEntryId: z.int().nullable().meta({ description: 'The ledger entry putting them in.' }),
    reason: z.string(),
    mergedAt: z.string(),
    staffUsername: z.string().nullable(),
  })
  .meta({ id: 'MergeRecord' });
export type MergeRecord = z.infer<typeof MergeRecord>;

/** The state of a change of mobile; both numbers get their own code. */
export const MobileChangeStatus = z.enum([
  'awaiting-otp',
  'confirmed',
  'cancelled',
  'expired',
  'failed',
]);
export type MobileChangeStatus = z.infer<typeof MobileChangeStatus>;

export const MobileChangeView = z
  .object({
    id: z.int(),
    memberId: z.int(),
    oldMobile: z.string(),
    oldMaskedMobile: z.string(),
    newMobile: z.string(),
    newMaskedMobile: z.string(),
    status: MobileChangeStatus,
    requestedAt: z.string(),
    expiresAt: z.string(),
    confirmedAt: z.string().nullable(),
    closedAt: z.string().nullable(),
    triesLeft: z.int(),
    resendsLeft: z.int(),
    resendAt: z.string().nullable().meta({ description: 'When a resend is allowed.' }),
    delivery: z.object({ old: OtpDelivery, new: OtpDelivery }),
    staffUsername: z.string().nullable(),
  })
  .meta({ id: 'MobileChangeView' });
export type MobileChangeView = z.infer<typeof MobileChangeView>;

/** `GET /api/members/:memberId/profile` (manager). */
export const MemberProfile = z
  .object({
    member: Member,
    consent: z.object({
      smsConsent: z.boolean(),
      at: z.string(),
      showroomCode: z.string().nullable(),
      staffUsername: z.string().nullable(),
    }),
    balance: z.object({
      points: z.int(),
      debtPoints: z.int(),
      valuePaise: z.int().meta({ description: 'What the points are worth at the current value.' }),
    }),
    lastVisitAt: z.string().nullable(),
    stats: z
      .object({
        sales: z.int(),
        amountPaise: z.int(),
        returnedAmountPaise: z.int(),
        pointsEarned: z.int(),
        pointsRedeemed: z.int(),
        showrooms: z.int().meta({ description: 'Showrooms the member bought in.' }),
        firstSaleAt: z.string().nullable(),
        lastSaleAt: z.string().nullable(),
      })
      .meta({ description: 'Lifetime, including the records merged into this one.' }),
    pendingRedemption: z
      .object({
        redemptionId: z.int(),
        points: z.int(),
        billNumber: z.string(),
        showroomCode: z.string(),
        terminalId: z.string(),
        requestedAt: z.string(),
        expiresAt: z.string().nullable(),
      })
      .nullable(),
    pendingMobileChange: MobileChangeView.nullable(),
    mergedInto: z
      .object({
        memberId: z.int(),
        name: z.string(),
        maskedMobile: z.string(),
        mergedAt: z.string(),
      })
      .nullable(),
    mergedFrom: z.array(MergeRecord),
  })
  .meta({ id: 'MemberProfile' });
export type MemberProfile = z.infer<typeof MemberProfile>;

/** A reason, as long as an adjustment's. */
const Reason = AdjustRequest.shape.reason;

/** `POST /api/members/:targetId/merge` (manager): the source's history and points join the target. */
export const MergeRequest = z
  .strictObject({
    sourceMemberId: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
    reason: Reason,
  })
  .meta({ id: 'MergeRequest' });
export type MergeRequest = z.infer<typeof MergeRequest>;

export const MergeParams = z.object({ targetId: MemberIdParams.shape.memberId });

export const MergeResult = z
  .object({ merge: MergeRecord, target: Member, source: Member })
  .meta({ id: 'MergeResult' });
export type MergeResult = z.infer<typeof MergeResult>;

/** `POST /api/members/:memberId/mobile-change` (manager): a code goes to each number. */
export const MobileChangeRequest = z
  .strictObject({ newMobile: MobileInput })
  .meta({ id: 'MobileChangeRequest' });
export type MobileChangeRequest = z.input<typeof MobileChangeRequest>;

export const MobileChangeParams = z.object({
  memberId: MemberIdParams.shape.memberId,
  changeId: MemberIdParams.shape.memberId,
});

const Code = (which: string) =>
  z.string().regex(/^\d{6}$/, `the code sent to the ${which} is six digits`);

/** `POST /api/members/:memberId/mobile-change/:changeId/confirm`. */
export const MobileChangeConfirmRequest = z
  .strictObject({ oldCode: Code('old number'), newCode: Code('new number') })
  .meta({ id: 'MobileChangeConfirmRequest' });
export type MobileChangeConfirmRequest = z.infer<typeof MobileChangeConfirmRequest>;

export const MobileChangeConfirmResult = z
  .object({ change: MobileChangeView, member: Member })
  .meta({ id: 'MobileChangeConfirmResult' });
export type MobileChangeConfirmResult = z.infer<typeof MobileChangeConfirmResult>;

/** Answer of request, resend and cancel. */
export const MobileChangeResult = z
  .object({ change: MobileChangeView })
  .meta({ id: 'MobileChangeResult' });
export type MobileChangeResult = z.infer<typeof MobileChangeResult>;

/** The audit actions of member changes (AuditEntry.action), with what the console may call them. */
export const MEMBER_AUDIT_ACTIONS = {
  'member.adjust': 'Points adjusted',
  'member.merge': 'Another record merged in',
  'member.merged-into': 'Merged into another member',
  'member.mobile-change.request': 'Change of mobile asked (codes sent)',
  'member.mobile-change.resend': 'Change-of-mobile codes resent',
  'member.mobile-change.cancel': 'Change of mobile cancelled',
  'member.mobile-change': 'Mobile changed',
} as const;

/**
 * `GET /api/members/:memberId/audit?beforeId=&limit=` (manager): the audit rows of the member
 * and of the records merged into it, newest first.
 */
export const MemberAuditQuery = z.object({
  beforeId: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const MemberAuditPage = z
  .object({ entries: z.array(AuditEntry) })
  .meta({ id: 'MemberAuditPage' });
export type MemberAuditPage = z.infer<typeof MemberAuditPage>;

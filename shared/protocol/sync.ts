import { z } from 'zod';
import { EnrolRequest, INTERNAL_KEY_PREFIX, SaleRequest } from './api.ts';

/**
 * Version of the terminal ↔ central sync protocol. Central refuses a terminal whose version
 * differs, with a message naming both; see docs/protocol.md.
 */
export const PROTOCOL_VERSION = 3;

/** How often central tells every terminal its head, so an idle terminal notices a missed push. */
export const HEARTBEAT_MS = 5_000;

/** Most member states in one pull answer. */
export const MAX_PULL = 10_000;

/** Most products in one `catalogue:pull` answer. */
export const MAX_CATALOGUE_PAGE = 5_000;

/** A member's replicated state, stamped with the change number that produced it. */
export const MemberState = z.object({
  id: z.int().positive(),
  mobile: z.string(),
  name: z.string(),
  balance: z.int(),
  tier: z.string(),
  smsConsent: z.boolean(),
  seq: z.int().positive(),
  /** When the member's latest sale anywhere was made (ISO, UTC); null before the first. */
  lastVisitAt: z.iso.datetime().nullable(),
  /**
   * Set when this record was merged into another member: the counter shows that member for this
   * mobile instead, and never this one on its own (central always sends it; absent reads as null).
   */
  mergedIntoId: z.int().positive().nullable().optional(),
});
export type MemberState = z.infer<typeof MemberState>;

/** A staff member who may sign in at a terminal, with the scrypt hash of their PIN. */
export const StaffRule = z.object({
  id: z.int().positive(),
  username: z.string(),
  name: z.string(),
  role: z.enum(['cashier', 'manager', 'admin']),
  /** `scrypt$N$r$p$salt$key` (shared/secret-hash.ts): slow to guess, never the PIN itself. */
  pinHash: z.string(),
});
export type StaffRule = z.infer<typeof StaffRule>;

/** A product of the chain's catalogue: a scanned SKU (often an EAN-13) becomes a bill line. */
export const ProductRule = z.object({
  sku: z.string(),
  name: z.string(),
  categoryCode: z.string(),
});
export type ProductRule = z.infer<typeof ProductRule>;

/**
 * What a terminal needs at the counter while offline: showrooms, categories and their rates,
 * the program's name and point value, the staff who may sign in there, and which catalogue is
 * current (the products themselves come by `catalogue:pull`, page by page). Rules are per
 * showroom (the staff differ); `version` changes whenever anything in them does.
 */
export const Rules = z.object({
  version: z.string(),
  /** The chain's name as slips print it. */
  chainName: z.string(),
  /** What one point is worth off a bill, in paise. */
  pointValuePaise: z.int().positive(),
  showrooms: z.array(z.object({ code: z.string(), name: z.string(), city: z.string() })),
  categories: z.array(z.object({ code: z.string(), name: z.string() })),
  rates: z.array(
    z.object({
      categoryCode: z.string(),
      pointsPer100Rupees: z.int(),
      effectiveFrom: z.string(),
    }),
  ),
  /**
   * Active staff with a PIN of the terminal's own showroom, and chain-wide managers and admins;
   * nobody else's PIN hash leaves central.
   */
  staff: z.array(StaffRule),
  /**
   * The version of the catalogue (active products). A terminal holding another one fetches it
   * with `catalogue:pull` in the background; the catalogue never rides inside the rules.
   */
  catalogueVersion: z.string(),
});
export type Rules = z.infer<typeof Rules>;

/** The event a terminal fetches the catalogue with, one page per acknowledgement. */
export const CATALOGUE_PULL = 'catalogue:pull';

/** `catalogue:pull` request: active products with a SKU after `afterSku` (from the first when absent). */
export const CataloguePullRequest = z.object({
  afterSku: z.string().min(1).max(64).optional(),
  limit: z.int().min(1).max(MAX_CATALOGUE_PAGE),
});
export type CataloguePullRequest = z.infer<typeof CataloguePullRequest>;

/**
 * `catalogue:pull` answer: up to `limit` active products in SKU order (keyset: the next page
 * starts after `nextAfterSku`), all read in one snapshot with the catalogue's `version`. A page
 * whose version differs from the previous page's means the catalogue changed mid-way: start over.
 */
export const CataloguePage = z.object({
  version: z.string(),
  products: z.array(ProductRule),
  hasMore: z.boolean(),
  /** The last SKU of this page when `hasMore`; null on the last page. */
  nextAfterSku: z.string().nullable(),
});
export type CataloguePage = z.infer<typeof CataloguePage>;

/** The handshake a terminal sends when it connects (Socket.IO `auth`). */
export const Hello = z.object({
  protocolVersion: z.int(),
  terminalId: z.string().min(1).max(64),
  secret: z.string().min(20).max(200),
  appVersion: z.string().max(40).optional(),
});
export type Hello = z.infer<typeof Hello>;

/** `sync:pull` request: states changed after `after`, at most `limit`. */
export const PullRequest = z.object({
  after: z.int().min(0),
  limit: z.int().min(1).max(MAX_PULL),
  rulesVersion: z.string().optional(),
});
export type PullRequest = z.infer<typeof PullRequest>;

/** Columns of a state row in a pull answer's `states` text, in this order. */
export const STATE_ROW = [
  'id',
  'mobile',
  'name',
  'balance',
  'tier',
  'smsConsent',
  'seq',
  'lastVisitAt',
  'mergedIntoId',
] as const;

/**
 * One state row: [id, mobile, name, balance, tier, smsConsent (0 or 1), seq, lastVisitAt,
 * mergedIntoId].
 */
export const StateRow = z.tuple([
  z.int().positive(),
  z.string(),
  z.string(),
  z.int(),
  z.string(),
  z.union([z.literal(0), z.literal(1)]),
  z.int().positive(),
  z.iso.datetime().nullable(),
  z.int().positive().nullable().optional(),
]);

/**
 * Parses a pull answer's `states` text into member states (validating every row). A terminal
 * may instead hand the text straight to its database, as ours does with SQLite's json_each.
 */
export function parseStateRows(text: string): MemberState[] {
  const rows = z.array(StateRow).parse(JSON.parse(text));
  return rows.map(([id, mobile, name, balance, tier, smsConsent, seq, lastVisitAt, merged]) => ({
    id,
    mobile,
    name,
    balance,
    tier,
    smsConsent: smsConsent === 1,
    seq,
    lastVisitAt,
    mergedIntoId: merged ?? null,
  }));
}

/**
 * `sync:pull` answer. `states` is JSON text (as bytes) of up to `limit` state rows (STATE_ROW order) in
 * change order; `count` rows, the last with change number `lastSeq`. `head` is central's newest
 * change number in the same snapshot. When `hasMore` is false the terminal's cursor becomes
 * `head`, else `lastSeq`.
 */
export const PullResponse = z.object({
  epoch: z.string(),
  head: z.int().min(0),
  /** UTF-8 JSON text of state rows, sent as a binary attachment (text is accepted too). */
  states: z.union([z.string(), z.instanceof(Uint8Array)]),
  count: z.int().min(0),
  lastSeq: z.int().min(0),
  hasMore: z.boolean(),
  rules: Rules.optional(),
  /** Central's clock when it answered, so a terminal can measure how far off its own clock is. */
  serverTime: z.iso.datetime(),
});
export type PullResponse = z.infer<typeof PullResponse>;

/**
 * `member:changed` push after each commit: the states whose change numbers are
 * (fromSeq, toSeq]. A terminal ignores it when toSeq ≤ its cursor; applies it and moves the
 * cursor to toSeq when fromSeq ≤ cursor < toSeq; and otherwise holds it briefly (pushes from
 * several central processes can arrive out of order) and pulls if the gap does not fill.
 */
export const ChangePush = z.object({
  epoch: z.string(),
  fromSeq: z.int().min(0),
  toSeq: z.int().min(0),
  changes: z.array(MemberState),
});
export type ChangePush = z.infer<typeof ChangePush>;

/** `sync:head` heartbeat. */
export const HeadBeat = z.object({
  epoch: z.string(),
  head: z.int().min(0),
  /** The version of the rules of the receiving terminal's showroom. */
  rulesVersion: z.string(),
  serverTime: z.iso.datetime(),
});
export type HeadBeat = z.infer<typeof HeadBeat>;

/** One queued write from a terminal's outbox. */
/** An outbox item's idempotency key: the terminal's own, never one of central's (see api.ts). */
const ItemKey = z
  .string()
  .min(8)
  .max(128)
  .refine((key) => !key.startsWith(INTERNAL_KEY_PREFIX), {
    message: `keys beginning with ${INTERNAL_KEY_PREFIX} are central's own`,
  });

export const OutboxItem = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sale'), key: ItemKey, body: SaleRequest }),
  z.object({ kind: z.literal('enrol'), key: ItemKey, body: EnrolRequest }),
]);
export type OutboxItem = z.input<typeof OutboxItem>;

/** `outbox:submit` request: items in the order the cashier made them. */
/** Most items in one `outbox:submit`; a terminal also keeps a submit under 1 MB. */
export const MAX_SUBMIT = 1_000;

export const SubmitRequest = z.object({ items: z.array(z.unknown()).min(1).max(MAX_SUBMIT) });

/** The fate of one submitted item: written (or written before), or refused with a reason. */
export const SubmitResult = z.object({
  key: z.string(),
  outcome: z.enum(['applied', 'replayed', 'refused']),
  status: z.int(),
  body: z.unknown(),
  /**
   * For a written item: its member's state after the commit. The terminal applies it (if newer)
   * as it removes the item, so a new member or a sale's points never vanish from the counter
   * while their push is still on its way.
   */
  state: MemberState.optional(),
});
export type SubmitResult = z.infer<typeof SubmitResult>;

/** Why central closed or refused a sync connection. */
export const SyncRefusal = z.object({
  code: z.enum(['bad-hello', 'protocol-version', 'unknown-terminal', 'revoked']),
  message: z.string(),
});
export type SyncRefusal = z.infer<typeof SyncRefusal>;

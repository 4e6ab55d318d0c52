import { maskMobile } from '../../shared/mobile.ts';
import type {
  MemberSearchHit,
  MemberSearchTerm,
  MergeRecord,
  MobileChangeStatus,
} from '../../shared/protocol/members-admin.ts';
import { fromDbTime, toDbTime, type Db } from './connect.ts';
import type { Q } from './ledger-store.ts';

const isoOrNull = (v: unknown): string | null =>
  v === null || v === undefined ? null : fromDbTime(v);

/**
 * The redemption and SMS tables bind instants as Date objects, which SQLite stores as epoch
 * milliseconds (PostgreSQL as timestamptz): they are compared with a Date and read back so.
 */
const instant = (v: unknown): string => new Date(v as Date | string | number).toISOString();

// --- search ---------------------------------------------------------------------------------

interface HitRow {
  id: number;
  name: string;
  mobile: string;
  balance: number;
  tier: string;
  enrolled_at: unknown;
  enrolled_code: string | null;
  last_visit_at: unknown;
  merged_into_id: number | null;
}

function hitQuery(q: Q) {
  return q('members as m')
    .leftJoin('showrooms as es', 'es.id', 'm.enrolled_showroom_id')
    .select(
      'm.id',
      'm.name',
      'm.mobile',
      'm.balance',
      'm.tier',
      'm.enrolled_at',
      'es.code as enrolled_code',
      'm.last_visit_at',
      'm.merged_into_id',
    );
}

function toHit(r: HitRow): MemberSearchHit {
  return {
    id: r.id,
    name: r.name,
    mobile: r.mobile,
    maskedMobile: maskMobile(r.mobile),
    balance: r.balance,
    tier: r.tier,
    enrolledAt: fromDbTime(r.enrolled_at),
    enrolledShowroomCode: r.enrolled_code,
    lastVisitAt: isoOrNull(r.last_visit_at),
    mergedIntoMemberId: r.merged_into_id,
  };
}

/** SQLite's lower() folds ASCII letters only; a pattern is folded the same way. */
const asciiLower = (text: string) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * Members matching a search (see readSearchTerm), at most `limit`, and whether more match.
 * Mobile: the exact number, or numbers ending with the digits, in number order. Name: names
 * starting with the text first (in name order), then names with a later word starting with it.
 * Each branch is one index range on PostgreSQL (reverse(mobile); lower(name) in byte order;
 * pg_trgm for a word inside a name); SQLite uses the last four digits and the folded name, and
 * scans for a word inside a name.
 */
export async function searchMembers(
  db: Db,
  term: MemberSearchTerm,
  limit: number,
): Promise<{ members: MemberSearchHit[]; truncated: boolean }> {
  const q = db.knex;
  let rows: HitRow[];
  if (term.match === 'mobile-exact') {
    rows = await hitQuery(q).where('m.mobile', term.mobile).limit(1);
  } else if (term.match === 'mobile-suffix') {
    const query = hitQuery(q)
      .orderBy('m.mobile')
      .limit(limit + 1);
    if (db.dialect === 'pg') {
      void query.whereRaw('reverse(m.mobile) like ?', [
        `${Array.from(term.digits).reverse().join('')}%`,
      ]);
    } else {
      void query
        .whereRaw('substr(m.mobile, -4) = ?', [term.digits.slice(-4)])
        .andWhere('m.mobile', 'like', `%${term.digits}`);
    }
    rows = await query;
  } else {
    rows = await searchNames(db, term.text, limit);
  }
  return { members: rows.slice(0, limit).map(toHit), truncated: rows.length > limit };
}

async function searchNames(db: Db, text: string, limit: number): Promise<HitRow[]> {
  const q = db.knex;
  // Names hold letters, spaces and . ' - only (PersonName): nothing a LIKE pattern treats as
  // a wildcard can reach here.
  const prefix = db.dialect === 'pg' ? text.toLowerCase() : asciiLower(text);
  const starts: HitRow[] =
    db.dialect === 'pg'
      ? await hitQuery(q)
          .whereRaw('lower(m.name) collate "C" like ?', [`${prefix}%`])
          .orderByRaw('lower(m.name) collate "C", m.id')
          .limit(limit + 1)
      : await hitQuery(q)
          .whereRaw('lower(m.name) >= ? and lower(m.name) < ?', [prefix, `${prefix}\u{10FFFF}`])
          .orderByRaw('lower(m.name), m.id')
          .limit(limit + 1);
  if (starts.length > limit) return starts;
  // A later word of the name: no order in SQL (it would read every match), sorted here.
  // Up to limit + 1 rows not already found: at most starts.length of these are found already.
  const words: HitRow[] = await hitQuery(q)
    .whereRaw('lower(m.name) like ?', [`% ${prefix}%`])
    .limit(limit + 1);
  const seen = new Set(starts.map((r) => r.id));
  const more = words
    .filter((r) => !seen.has(r.id))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id));
  return [...starts, ...more].slice(0, limit + 1);
}

// --- profile --------------------------------------------------------------------------------

/** What a member's profile shows besides the member itself. */
export interface ProfileFacts {
  consentStaffUsername: string | null;
  lastVisitAt: string | null;
  stats: {
    sales: number;
    amountPaise: number;
    returnedAmountPaise: number;
    pointsEarned: number;
    pointsRedeemed: number;
    showrooms: number;
    firstSaleAt: string | null;
    lastSaleAt: string | null;
  };
  pendingRedemption: {
    redemptionId: number;
    points: number;
    billNumber: string;
    showroomCode: string;
    terminalId: string;
    requestedAt: string;
    expiresAt: string | null;
  } | null;
  mergedInto: { memberId: number; name: string; maskedMobile: string; mergedAt: string } | null;
  mergedFrom: MergeRecord[];
  openMobileChangeId: number | null;
}

/** The facts of a member's profile; `group` is the member and the records merged into it. */
export async function profileFacts(
  db: Db,
  member: { id: number; mergedIntoId: number | null },
  group: number[],
  now: Date,
): Promise<ProfileFacts> {
  const q = db.knex;
  const consent: { username: string | null } | undefined = await q('members as m')
    .leftJoin('staff as s', 's.id', 'm.consent_staff_id')
    .where('m.id', member.id)
    .first('s.username');
  const visits: { last_visit_at: unknown }[] = await q('members')
    .whereIn('id', group)
    .whereNotNull('last_visit_at')
    .select('last_visit_at');
  const lastVisitAt =
    visits
      .map((v) => fromDbTime(v.last_visit_at))
      .sort()
      .at(-1) ?? null;
  const sales: {
    n: number | string;
    amount: number | string;
    points: number | string;
    showrooms: number | string;
    first_at: unknown;
    last_at: unknown;
  } = await q('sales')
    .whereIn('member_id', group)
    .first(
      q.raw('count(*) as n'),
      q.raw('coalesce(sum(amount_paise), 0) as amount'),
      q.raw('coalesce(sum(points), 0) as points'),
      q.raw('count(distinct showroom_id) as showrooms'),
      q.raw('min(sold_at) as first_at'),
      q.raw('max(sold_at) as last_at'),
    );
  const returned: { amount: number | string; points: number | string } = await q(
    'sale_returns as r',
  )
    .join('sales as s', 's.id', 'r.sale_id')
    .whereIn('s.member_id', group)
    .first(
      q.raw('coalesce(sum(r.amount_paise), 0) as amount'),
      q.raw('coalesce(sum(r.points), 0) as points'),
    );
  const redeemed: { points: number | string } = await q('redemptions')
    .whereIn('member_id', group)
    .where('status', 'confirmed')
    .first(q.raw('coalesce(sum(points), 0) as points'));

  const pending:
    | {
        id: number;
        points: number;
        bill_number: string;
        code: string;
        terminal_id: string;
        requested_at: unknown;
        expires_at: unknown;
      }
    | undefined = await q('redemptions as r')
    .join('showrooms as s', 's.id', 'r.showroom_id')
    .join('otps as o', (j) => {
      j.on('o.redemption_id', 'r.id').andOnVal('o.state', '=', 'live');
    })
    .whereIn('r.member_id', group)
    .where('r.status', 'awaiting-otp')
    .where('o.expires_at', '>', now)
    .orderBy('r.id', 'desc')
    .first(
      'r.id',
      'r.points',
      'r.bill_number',
      's.code',
      'r.terminal_id',
      'r.requested_at',
      'o.expires_at',
    );

  let mergedInto: ProfileFacts['mergedInto'] = null;
  if (member.mergedIntoId !== null) {
    const target: { name: string; mobile: string } | undefined = await q('members')
      .where('id', member.mergedIntoId)
      .first('name', 'mobile');
    const own: { merged_at: unknown } | undefined = await q('member_merges')
      .where('source_member_id', member.id)
      .first('merged_at');
    if (target && own) {
      mergedInto = {
        memberId: member.mergedIntoId,
        name: target.name,
        maskedMobile: maskMobile(target.mobile),
        mergedAt: fromDbTime(own.merged_at),
      };
    }
  }
  const open: { id: number } | undefined = await q('mobile_changes')
    .where({ member_id: member.id, status: 'awaiting-otp' })
    .first('id');
  return {
    consentStaffUsername: consent?.username ?? null,
    lastVisitAt,
    stats: {
      sales: Number(sales.n),
      amountPaise: Number(sales.amount),
      returnedAmountPaise: Number(returned.amount),
      pointsEarned: Number(sales.points) - Number(returned.points),
      pointsRedeemed: Number(redeemed.points),
      showrooms: Number(sales.showrooms),
      firstSaleAt: isoOrNull(sales.first_at),
      lastSaleAt: isoOrNull(sales.last_at),
    },
    pendingRedemption: pending
      ? {
          redemptionId: pending.id,
          points: pending.points,
          billNumber: pending.bill_number,
          showroomCode: pending.code,
          terminalId: pending.terminal_id,
          requestedAt: instant(pending.requested_at),
          expiresAt: instant(pending.expires_at),
        }
      : null,
    mergedInto,
    mergedFrom: await mergesOf(
      q,
      group.filter((id) => id !== member.id),
    ),
    openMobileChangeId: open?.id ?? null,
  };
}

// --- merges ---------------------------------------------------------------------------------

/** Central's own keys of a merge's two ledger entries (a caller's key cannot begin with ~). */
export const mergeKeys = (sourceId: number) => ({
  operation: `~merge:${sourceId}`,
  out: `~merge:${sourceId}:out`,
  in: `~merge:${sourceId}:in`,
});

/** The merge records of these (merged) members, oldest first. */
export async function mergesOf(q: Q, sourceIds: number[]): Promise<MergeRecord[]> {
  if (sourceIds.length === 0) return [];
  const rows: {
    id: number;
    source_member_id: number;
    target_member_id: number;
    points_moved: number;
    reason: string;
    merged_at: unknown;
    name: string;
    mobile: string;
    username: string | null;
  }[] = await q('member_merges as mm')
    .join('members as m', 'm.id', 'mm.source_member_id')
    .leftJoin('staff as s', 's.id', 'mm.staff_id')
    .whereIn('mm.source_member_id', sourceIds)
    .orderBy('mm.id')
    .select(
      'mm.id',
      'mm.source_member_id',
      'mm.target_member_id',
      'mm.points_moved',
      'mm.reason',
      'mm.merged_at',
      'm.name',
      'm.mobile',
      's.username',
    );
  const keys = rows.flatMap((r) => {
    const k = mergeKeys(r.source_member_id);
    return [k.out, k.in];
  });
  const entries: { id: number; idempotency_key: string }[] =
    keys.length === 0
      ? []
      : await q('ledger_entries').whereIn('idempotency_key', keys).select('id', 'idempotency_key');
  const entryId = new Map(entries.map((e) => [e.idempotency_key, e.id]));
  return rows.map((r) => ({
    id: r.id,
    sourceMemberId: r.source_member_id,
    targetMemberId: r.target_member_id,
    sourceName: r.name,
    sourceMobile: r.mobile,
    sourceMaskedMobile: maskMobile(r.mobile),
    pointsMoved: r.points_moved,
    sourceEntryId: entryId.get(mergeKeys(r.source_member_id).out) ?? null,
    targetEntryId: entryId.get(mergeKeys(r.source_member_id).in) ?? null,
    reason: r.reason,
    mergedAt: fromDbTime(r.merged_at),
    staffUsername: r.username,
  }));
}

export async function insertMerge(
  db: Db,
  q: Q,
  row: {
    sourceId: number;
    targetId: number;
    pointsMoved: number;
    reason: string;
    staffId: number | null;
  },
  at: Date,
): Promise<number> {
  const [inserted]: { id: number }[] = await q('member_merges')
    .insert({
      source_member_id: row.sourceId,
      target_member_id: row.targetId,
      points_moved: row.pointsMoved,
      reason: row.reason,
      staff_id: row.staffId,
      merged_at: toDbTime(db, at),
    })
    .returning('id');
  if (!inserted) throw new Error('insert into member_merges returned no id');
  return inserted.id;
}

/** Members merged into this one (whose merged_into_id moves with a later merge of it). */
export async function membersMergedInto(q: Q, memberId: number): Promise<number[]> {
  const rows: { id: number }[] = await q('members')
    .where('merged_into_id', memberId)
    .orderBy('id')
    .select('id');
  return rows.map((r) => r.id);
}

/** Whether any of these members waits on a redemption OTP that still works. */
export async function pendingRedemptionOf(
  q: Q,
  memberIds: number[],
  now: Date,
): Promise<{ redemptionId: number; memberId: number; expiresAt: string } | undefined> {
  const row: { id: number; member_id: number; expires_at: unknown } | undefined = await q(
    'redemptions as r',
  )
    .join('otps as o', (j) => {
      j.on('o.redemption_id', 'r.id').andOnVal('o.state', '=', 'live');
    })
    .whereIn('r.member_id', memberIds)
    .where('r.status', 'awaiting-otp')
    .where('o.expires_at', '>', now)
    .first('r.id', 'r.member_id', 'o.expires_at');
  return row
    ? { redemptionId: row.id, memberId: row.member_id, expiresAt: instant(row.expires_at) }
    : undefined;
}

// --- changes of mobile ----------------------------------------------------------------------

/** A change of mobile as stored (code hashes included: never leaves central). */
export interface MobileChangeRow {
  id: number;
  memberId: number;
  oldMobile: string;
  newMobile: string;
  status: MobileChangeStatus;
  oldCodeHash: string;
  newCodeHash: string;
  attempts: number;
  sends: number;
  staffId: number | null;
  staffUsername: string | null;
  requestedAt: Date;
  lastSentAt: Date;
  expiresAt: Date;
  confirmedAt: Date | null;
  closedAt: Date | null;
  oldOutboxId: number | null;
  newOutboxId: number | null;
}

const toDate = (v: unknown) => new Date(fromDbTime(v));
const toDateOrNull = (v: unknown) => (v === null || v === undefined ? null : toDate(v));

export async function findMobileChange(q: Q, id: number): Promise<MobileChangeRow | undefined> {
  const r:
    | {
        id: number;
        member_id: number;
        old_mobile: string;
        new_mobile: string;
        status: MobileChangeStatus;
        old_code_hash: string;
        new_code_hash: string;
        attempts: number;
        sends: number;
        staff_id: number | null;
        username: string | null;
        requested_at: unknown;
        last_sent_at: unknown;
        expires_at: unknown;
        confirmed_at: unknown;
        closed_at: unknown;
        old_outbox_id: number | null;
        new_outbox_id: number | null;
      }
    | undefined = await q('mobile_changes as c')
    .leftJoin('staff as s', 's.id', 'c.staff_id')
    .where('c.id', id)
    .first('c.*', 's.username');
  if (!r) return undefined;
  return {
    id: r.id,
    memberId: r.member_id,
    oldMobile: r.old_mobile,
    newMobile: r.new_mobile,
    status: r.status,
    oldCodeHash: r.old_code_hash,
    newCodeHash: r.new_code_hash,
    attempts: r.attempts,
    sends: r.sends,
    staffId: r.staff_id,
    staffUsername: r.username,
    requestedAt: toDate(r.requested_at),
    lastSentAt: toDate(r.last_sent_at),
    expiresAt: toDate(r.expires_at),
    confirmedAt: toDateOrNull(r.confirmed_at),
    closedAt: toDateOrNull(r.closed_at),
    oldOutboxId: r.old_outbox_id,
    newOutboxId: r.new_outbox_id,
  };
}

/** The member's change of mobile waiting for its codes, if any. */
export async function openMobileChange(
  q: Q,
  memberId: number,
): Promise<MobileChangeRow | undefined> {
  const row: { id: number } | undefined = await q('mobile_changes')
    .where({ member_id: memberId, status: 'awaiting-otp' })
    .first('id');
  return row ? findMobileChange(q, row.id) : undefined;
}

/** Starts a change of mobile; the codes' hashes are set once the id they are bound to exists. */
export async function insertMobileChange(
  db: Db,
  q: Q,
  row: {
    memberId: number;
    oldMobile: string;
    newMobile: string;
    staffId: number | null;
    expiresAt: Date;
  },
  at: Date,
): Promise<number> {
  const [inserted]: { id: number }[] = await q('mobile_changes')
    .insert({
      member_id: row.memberId,
      old_mobile: row.oldMobile,
      new_mobile: row.newMobile,
      status: 'awaiting-otp',
      old_code_hash: '',
      new_code_hash: '',
      attempts: 0,
      sends: 0,
      staff_id: row.staffId,
      requested_at: toDbTime(db, at),
      last_sent_at: toDbTime(db, at),
      expires_at: toDbTime(db, row.expiresAt),
    })
    .returning('id');
  if (!inserted) throw new Error('insert into mobile_changes returned no id');
  return inserted.id;
}

/** Records a (re)send: new code hashes, their messages and a new expiry. */
export async function recordMobileChangeSend(
  db: Db,
  q: Q,
  id: number,
  send: {
    oldCodeHash: string;
    newCodeHash: string;
    oldOutboxId: number | null;
    newOutboxId: number | null;
    sends: number;
    expiresAt: Date;
  },
  at: Date,
): Promise<void> {
  await q('mobile_changes')
    .where({ id, status: 'awaiting-otp' })
    .update({
      old_code_hash: send.oldCodeHash,
      new_code_hash: send.newCodeHash,
      old_outbox_id: send.oldOutboxId,
      new_outbox_id: send.newOutboxId,
      sends: send.sends,
      last_sent_at: toDbTime(db, at),
      expires_at: toDbTime(db, send.expiresAt),
    });
}

export async function countMobileChangeAttempt(q: Q, id: number, attempts: number): Promise<void> {
  await q('mobile_changes').where('id', id).update({ attempts });
}

/** Closes an open change of mobile (confirmed, cancelled, expired or failed). */
export async function closeMobileChange(
  db: Db,
  q: Q,
  id: number,
  status: Exclude<MobileChangeStatus, 'awaiting-otp'>,
  at: Date,
): Promise<void> {
  await q('mobile_changes')
    .where({ id, status: 'awaiting-otp' })
    .update({
      status,
      closed_at: toDbTime(db, at),
      ...(status === 'confirmed' ? { confirmed_at: toDbTime(db, at) } : {}),
    });
}

/** Change-of-mobile codes sent to this member in the window (both numbers' messages count). */
export async function countMobileCodesSince(q: Q, memberId: number, since: Date): Promise<number> {
  const row: { n?: number | string } | undefined = await q('sms_outbox')
    .where({ member_id: memberId, kind: 'mobile-otp' })
    .where('created_at', '>', since)
    .count({ n: '*' })
    .first();
  return Number(row?.n ?? 0);
}

/** The member holding this mobile now (a merged record included), without following merges. */
export async function holderOfMobile(
  q: Q,
  mobile: string,
): Promise<{ id: number; name: string; mergedIntoId: number | null } | undefined> {
  const row: { id: number; name: string; merged_into_id: number | null } | undefined = await q(
    'members',
  )
    .where('mobile', mobile)
    .first('id', 'name', 'merged_into_id');
  return row ? { id: row.id, name: row.name, mergedIntoId: row.merged_into_id } : undefined;
}

/** A member row for a use-case; with `lock`, locked on PostgreSQL until the transaction ends. */
export async function memberRow(
  db: Db,
  q: Q,
  id: number,
  lock = false,
): Promise<
  | { id: number; mobile: string; name: string; balance: number; mergedIntoId: number | null }
  | undefined
> {
  const query = q('members')
    .where('id', id)
    .first('id', 'mobile', 'name', 'balance', 'merged_into_id');
  if (lock && db.dialect === 'pg') void query.forUpdate();
  const row = (await query) as
    | { id: number; mobile: string; name: string; balance: number; merged_into_id: number | null }
    | undefined;
  return row
    ? {
        id: row.id,
        mobile: row.mobile,
        name: row.name,
        balance: row.balance,
        mergedIntoId: row.merged_into_id,
      }
    : undefined;
}

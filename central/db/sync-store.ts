import { createHash, randomUUID } from 'node:crypto';
import type { MemberState, Rules } from '../../shared/protocol/sync.ts';
import { fromDbBool, fromDbTime, toDbTime, type Db } from './connect.ts';
import type { Q } from './ledger-store.ts';

interface StateRow {
  id: number;
  mobile: string;
  name: string;
  balance: number;
  tier: string;
  sms_consent: boolean | number;
  seq: number;
}

/** Columns of a member's replicated state. */
export const STATE_COLUMNS = ['id', 'mobile', 'name', 'balance', 'tier', 'sms_consent', 'seq'];

export function toState(r: StateRow): MemberState {
  return {
    id: r.id,
    mobile: r.mobile,
    name: r.name,
    balance: r.balance,
    tier: r.tier,
    smsConsent: fromDbBool(r.sms_consent),
    seq: r.seq,
  };
}

export async function getEpoch(q: Q): Promise<string> {
  const row: { value: string } | undefined = await q('meta').where('key', 'epoch').first('value');
  if (!row) throw new Error('meta has no epoch: run the migrations');
  return row.value;
}

/** Gives the database a new replication identity: terminals rebuild rather than trust their cache. */
export async function startNewEpoch(q: Q): Promise<string> {
  const epoch = randomUUID();
  await q('meta').where('key', 'epoch').update({ value: epoch });
  return epoch;
}

/** What one pull reads: states after a change number, as JSON text of rows (STATE_ROW). */
export interface PulledPage {
  epoch: string;
  head: number;
  /** JSON text: [[id, mobile, name, balance, tier, smsConsent 0|1, seq], ...] in seq order. */
  states: string;
  count: number;
  lastSeq: number;
}

/**
 * States changed after `after`, in change order, with the head of the same snapshot. Change
 * numbers become visible in order (see stampMembers), so nothing at or below the head can
 * appear later. The database builds the JSON itself: a page of 5,000 rows is one text value.
 */
export async function pullChanges(db: Db, after: number, limit: number): Promise<PulledPage> {
  return db.knex.transaction(
    async (trx) => {
      const head: { head: number } | undefined = await trx('change_seq')
        .where('id', 1)
        .first('head');
      const sql =
        db.dialect === 'pg'
          ? `select count(*)::int as count, coalesce(max(seq), 0) as last_seq,
                    coalesce(json_agg(json_build_array(id, mobile, name, balance, tier, sms_consent::int, seq) order by seq), '[]')::text as states
               from (select id, mobile, name, balance, tier, sms_consent, seq
                       from members where seq > ? order by seq limit ?) t`
          : `select count(*) as count, coalesce(max(seq), 0) as last_seq,
                    coalesce(json_group_array(json_array(id, mobile, name, balance, tier, sms_consent, seq) order by seq), '[]') as states
               from (select id, mobile, name, balance, tier, sms_consent, seq
                       from members where seq > ? order by seq limit ?) t`;
      const result: unknown = await trx.raw(sql, [after, limit]);
      const row = (
        db.dialect === 'pg' ? (result as { rows: unknown[] }).rows[0] : (result as unknown[])[0]
      ) as { count: number | string; last_seq: number | string; states: string };
      return {
        epoch: await getEpoch(trx),
        head: head?.head ?? 0,
        states: row.states,
        count: Number(row.count),
        lastSeq: Number(row.last_seq),
      };
    },
    db.dialect === 'pg' ? { isolationLevel: 'repeatable read', readOnly: true } : {},
  );
}

/** Current replicated states of these members, by id. */
export async function memberStates(db: Db, ids: number[]): Promise<Map<number, MemberState>> {
  if (ids.length === 0) return new Map();
  const rows: StateRow[] = await db
    .knex('members')
    .whereIn('id', [...new Set(ids)])
    .select(STATE_COLUMNS);
  return new Map(rows.map((r) => [r.id, toState(r)]));
}

/** Showrooms, categories and rates, with a version that changes whenever any of them does. */
export async function loadRules(q: Q): Promise<Rules> {
  const showrooms: { code: string; name: string; city: string }[] = await q('showrooms')
    .select('code', 'name', 'city')
    .orderBy('code');
  const categories: { code: string; name: string }[] = await q('categories')
    .select('code', 'name')
    .orderBy('code');
  const rateRows: { code: string; points_per_100_rupees: number; effective_from: unknown }[] =
    await q('category_rates as r')
      .join('categories as c', 'c.id', 'r.category_id')
      .select('c.code', 'r.points_per_100_rupees', 'r.effective_from')
      .orderBy(['c.code', 'r.effective_from']);
  const rates = rateRows.map((r) => ({
    categoryCode: r.code,
    pointsPer100Rupees: r.points_per_100_rupees,
    effectiveFrom: fromDbTime(r.effective_from),
  }));
  const version = createHash('sha256')
    .update(JSON.stringify([showrooms, categories, rates]))
    .digest('hex')
    .slice(0, 16);
  return { version, showrooms, categories, rates };
}

export interface TerminalRecord {
  id: string;
  showroomId: number;
  showroomCode: string;
  name: string;
  secretHash: string;
  revokedAt: string | null;
}

export async function findTerminal(db: Db, id: string): Promise<TerminalRecord | undefined> {
  const row:
    | {
        id: string;
        showroom_id: number;
        code: string;
        name: string;
        secret_hash: string;
        revoked_at: unknown;
      }
    | undefined = await db
    .knex('terminals as t')
    .join('showrooms as s', 's.id', 't.showroom_id')
    .where('t.id', id)
    .first('t.id', 't.showroom_id', 's.code', 't.name', 't.secret_hash', 't.revoked_at');
  if (!row) return undefined;
  return {
    id: row.id,
    showroomId: row.showroom_id,
    showroomCode: row.code,
    name: row.name,
    secretHash: row.secret_hash,
    revokedAt: row.revoked_at === null ? null : fromDbTime(row.revoked_at),
  };
}

export async function listTerminals(db: Db): Promise<
  {
    id: string;
    showroomCode: string;
    name: string;
    pairedAt: string;
    revokedAt: string | null;
    lastSeenAt: string | null;
    appVersion: string | null;
  }[]
> {
  const rows: {
    id: string;
    code: string;
    name: string;
    paired_at: unknown;
    revoked_at: unknown;
    last_seen_at: unknown;
    app_version: string | null;
  }[] = await db
    .knex('terminals as t')
    .join('showrooms as s', 's.id', 't.showroom_id')
    .select(
      't.id',
      's.code',
      't.name',
      't.paired_at',
      't.revoked_at',
      't.last_seen_at',
      't.app_version',
    )
    .orderBy('t.paired_at');
  return rows.map((r) => ({
    id: r.id,
    showroomCode: r.code,
    name: r.name,
    pairedAt: fromDbTime(r.paired_at),
    revokedAt: r.revoked_at === null ? null : fromDbTime(r.revoked_at),
    lastSeenAt: r.last_seen_at === null ? null : fromDbTime(r.last_seen_at),
    appVersion: r.app_version,
  }));
}

export async function insertPairingCode(
  db: Db,
  codeHash: string,
  showroomId: number,
  at: Date,
  expiresAt: Date,
): Promise<void> {
  await db.knex('pairing_codes').insert({
    code_hash: codeHash,
    showroom_id: showroomId,
    created_at: toDbTime(db, at),
    expires_at: toDbTime(db, expiresAt),
  });
}

/**
 * Uses a pairing code once: marks it used and creates the terminal in one transaction.
 * Returns undefined when the code is unknown, used or expired.
 */
export async function pairTerminal(
  db: Db,
  codeHash: string,
  terminal: { id: string; name: string; secretHash: string },
  at: Date,
): Promise<{ showroomCode: string } | undefined> {
  return db.knex.transaction(async (trx) => {
    const used: { showroom_id: number }[] = await trx('pairing_codes')
      .where('code_hash', codeHash)
      .whereNull('used_at')
      .andWhere('expires_at', '>', toDbTime(db, at))
      .update({ used_at: toDbTime(db, at), terminal_id: terminal.id })
      .returning('showroom_id');
    const showroomId = used[0]?.showroom_id;
    if (showroomId === undefined) return undefined;
    await trx('terminals').insert({
      id: terminal.id,
      showroom_id: showroomId,
      name: terminal.name,
      secret_hash: terminal.secretHash,
      paired_at: toDbTime(db, at),
    });
    const showroom: { code: string } | undefined = await trx('showrooms')
      .where('id', showroomId)
      .first('code');
    return { showroomCode: showroom?.code ?? '' };
  });
}

/**
 * Revokes a terminal. Its pending redemptions die with it: their OTPs stop working (and no
 * longer hold their members), and OTP messages not yet sent are not sent.
 */
export async function revokeTerminal(db: Db, id: string, at: Date): Promise<boolean> {
  return db.knex.transaction(async (trx) => {
    const n = await trx('terminals')
      .where('id', id)
      .whereNull('revoked_at')
      .update({ revoked_at: toDbTime(db, at) });
    if (n === 0) return false;
    await trx('otps')
      .where({ terminal_id: id, state: 'live' })
      .update({ state: 'dead', closed_at: toDbTime(db, at) });
    await trx('redemptions')
      .where({ terminal_id: id, status: 'awaiting-otp' })
      .update({ status: 'abandoned', abandoned_reason: 'terminal-revoked' });
    await trx('sms_outbox')
      .where({ terminal_id: id, kind: 'otp' })
      .whereIn('status', ['queued', 'retrying'])
      .update({ status: 'expired', sealed: null, last_error: 'the terminal was revoked' });
    return true;
  });
}

export async function touchTerminal(
  db: Db,
  id: string,
  at: Date,
  appVersion: string | null,
): Promise<void> {
  await db
    .knex('terminals')
    .where('id', id)
    .update({ last_seen_at: toDbTime(db, at), app_version: appVersion });
}

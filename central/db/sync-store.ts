import { createHash, randomUUID } from 'node:crypto';
import type { MemberState, Rules, StaffRule } from '../../shared/protocol/sync.ts';
import { fromDbBool, fromDbTime, toDbTime, type Db } from './connect.ts';
import type { Q } from './ledger-store.ts';
import { RULES_REVISION, readCatalogueVersion, readSyncFacts } from './rules-revision.ts';
import { loadProgramSettings } from './settings-store.ts';
import type { InTransaction } from './admin-store.ts';

interface StateRow {
  id: number;
  mobile: string;
  name: string;
  balance: number;
  tier: string;
  sms_consent: boolean | number;
  seq: number;
  last_visit_at: unknown;
  merged_into_id: number | null;
}

/** Columns of a member's replicated state. */
export const STATE_COLUMNS = [
  'id',
  'mobile',
  'name',
  'balance',
  'tier',
  'sms_consent',
  'seq',
  'last_visit_at',
  'merged_into_id',
];

export function toState(r: StateRow): MemberState {
  return {
    id: r.id,
    mobile: r.mobile,
    name: r.name,
    balance: r.balance,
    tier: r.tier,
    smsConsent: fromDbBool(r.sms_consent),
    seq: r.seq,
    lastVisitAt: r.last_visit_at === null ? null : fromDbTime(r.last_visit_at),
    mergedIntoId: r.merged_into_id,
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
  /** JSON text: [[id, mobile, name, balance, tier, smsConsent 0|1, seq, lastVisitAt, mergedIntoId], ...] in seq order. */
  states: string;
  count: number;
  lastSeq: number;
  /** The rules' revision in the same snapshot (central's own: not sent to the terminal). */
  rulesRevision: string;
}

/**
 * States changed after `after`, in change order, with the head of the same snapshot. Change
 * numbers become visible in order (see stampMembers), so nothing at or below the head can
 * appear later. The database builds the JSON itself: a page of 5,000 rows is one text value.
 *
 * On PostgreSQL the head, the facts and the page are one statement, so one snapshot and one
 * round trip: a pull answered while the writer's batches keep central busy waited for the
 * event loop at each of a transaction's five round trips (136 ms for one page in a traced
 * catch-up, of which the query was 17).
 */
export async function pullChanges(db: Db, after: number, limit: number): Promise<PulledPage> {
  if (db.dialect === 'pg') {
    const result: { rows: PageRow[] } = await db.knex.raw(
      `with t as (select id, mobile, name, balance, tier, sms_consent, seq, last_visit_at, merged_into_id
                    from members where seq > ? order by seq limit ?)
       select (select head from change_seq where id = 1) as head,
              (select value from meta where key = 'epoch') as epoch,
              (select value from meta where key = ?) as rules_revision,
              count(*)::int as count, coalesce(max(seq), 0) as last_seq,
              coalesce(json_agg(json_build_array(id, mobile, name, balance, tier, sms_consent::int, seq,
                to_char(last_visit_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), merged_into_id) order by seq), '[]')::text as states
         from t`,
      [after, limit, RULES_REVISION],
    );
    const row = result.rows[0];
    if (row?.epoch == null) throw new Error('meta has no epoch: run the migrations');
    return pageOf(row, { epoch: row.epoch, rulesRevision: row.rules_revision ?? '0' });
  }
  return db.knex.transaction(async (trx) => {
    const head: { head: number } | undefined = await trx('change_seq').where('id', 1).first('head');
    // Instants as central sends them everywhere (toISOString: UTC, milliseconds, Z); SQLite
    // stores them in that form already.
    const rows: PageRow[] = await trx.raw(
      `select count(*) as count, coalesce(max(seq), 0) as last_seq,
              coalesce(json_group_array(json_array(id, mobile, name, balance, tier, sms_consent, seq, last_visit_at, merged_into_id) order by seq), '[]') as states
         from (select id, mobile, name, balance, tier, sms_consent, seq, last_visit_at, merged_into_id
                 from members where seq > ? order by seq limit ?) t`,
      [after, limit],
    );
    const [row] = rows;
    if (!row) throw new Error('the page query returned no row');
    return pageOf({ ...row, head: head?.head ?? 0 }, await readSyncFacts(trx));
  });
}

/** The one row a page query returns (PostgreSQL also reads the head and facts in it). */
interface PageRow {
  head: number | string | null;
  epoch?: string | null;
  rules_revision?: string | null;
  count: number | string;
  last_seq: number | string;
  states: string;
}

function pageOf(row: PageRow, facts: { epoch: string; rulesRevision: string }): PulledPage {
  return {
    epoch: facts.epoch,
    rulesRevision: facts.rulesRevision,
    head: Number(row.head ?? 0),
    states: row.states,
    count: Number(row.count),
    lastSeq: Number(row.last_seq),
  };
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

/** The chain-wide part of the rules, loaded once for every showroom. */
export interface ChainRules {
  /** The rules revision these were read with (see bumpRulesRevision). */
  revision: string;
  common: Omit<Rules, 'version' | 'staff'>;
  /** Hash of `common`, so a showroom's version is a hash of it and its staff. */
  commonHash: string;
  /** Active staff with a PIN of each showroom, by showroom id, in id order. */
  staffByShowroom: Map<number, StaffRule[]>;
  /** Active chain-wide managers and admins with a PIN, in id order. */
  chainWideStaff: StaffRule[];
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

/**
 * Everything in the terminals' rules that does not depend on the showroom (program settings,
 * showrooms, categories, rates, the catalogue's version), and the staff who may appear in them,
 * grouped by showroom once; all read in one snapshot with the rules' revision.
 */
export async function loadChainRules(db: Db): Promise<ChainRules> {
  return db.knex.transaction(
    (trx) => readChainRules(trx),
    db.dialect === 'pg' ? { isolationLevel: 'repeatable read', readOnly: true } : {},
  );
}

async function readChainRules(q: Q): Promise<ChainRules> {
  const { rulesRevision } = await readSyncFacts(q);
  const settings = await loadProgramSettings(q);
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
  const staffRows: {
    id: number;
    username: string;
    name: string;
    role: StaffRule['role'];
    pin_hash: string;
    showroom_id: number | null;
  }[] = await q('staff')
    .where('active', true)
    .whereNotNull('pin_hash')
    .where((w) => {
      void w.whereNotNull('showroom_id').orWhereIn('role', ['manager', 'admin']);
    })
    .select('id', 'username', 'name', 'role', 'pin_hash', 'showroom_id')
    .orderBy('id');
  const common = {
    chainName: settings.chainName,
    pointValuePaise: settings.pointValuePaise,
    showrooms,
    categories,
    rates,
    catalogueVersion: await readCatalogueVersion(q),
  };
  const staffByShowroom = new Map<number, StaffRule[]>();
  const chainWideStaff: StaffRule[] = [];
  for (const r of staffRows) {
    const staff = {
      id: r.id,
      username: r.username,
      name: r.name,
      role: r.role,
      pinHash: r.pin_hash,
    };
    if (r.showroom_id === null) chainWideStaff.push(staff);
    else {
      let list = staffByShowroom.get(r.showroom_id);
      if (!list) staffByShowroom.set(r.showroom_id, (list = []));
      list.push(staff);
    }
  }
  return {
    revision: rulesRevision,
    common,
    commonHash: hashOf(common),
    staffByShowroom,
    chainWideStaff,
  };
}

/**
 * One showroom's rules: the chain-wide part, and the staff who may sign in there (its own, and
 * chain-wide managers and admins, in id order). The version changes whenever any of it does.
 */
export function rulesForShowroom(chain: ChainRules, showroomId: number): Rules {
  const staff = mergeById(chain.staffByShowroom.get(showroomId) ?? [], chain.chainWideStaff);
  const version = hashOf([chain.commonHash, staff]).slice(0, 16);
  return { version, ...chain.common, staff };
}

/** Two lists in id order merged into one, in id order. */
function mergeById(a: readonly StaffRule[], b: readonly StaffRule[]): StaffRule[] {
  const out: StaffRule[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x !== undefined && (y === undefined || x.id < y.id)) {
      out.push(x);
      i += 1;
    } else if (y !== undefined) {
      out.push(y);
      j += 1;
    }
  }
  return out;
}

/** The rules a terminal of this showroom replicates (see loadChainRules and rulesForShowroom). */
export async function loadRules(db: Db, showroomId: number): Promise<Rules> {
  return rulesForShowroom(await loadChainRules(db), showroomId);
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
  also?: InTransaction,
): Promise<void> {
  await db.knex.transaction(async (trx) => {
    await trx('pairing_codes').insert({
      code_hash: codeHash,
      showroom_id: showroomId,
      created_at: toDbTime(db, at),
      expires_at: toDbTime(db, expiresAt),
    });
    await also?.(trx, undefined);
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
export async function revokeTerminal(
  db: Db,
  id: string,
  at: Date,
  also?: InTransaction,
): Promise<boolean> {
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
    await also?.(trx, undefined);
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

/** Marks connected terminals as seen at `at` (revoked ones are left as they were). */
export async function markTerminalsSeen(db: Db, ids: string[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  await db
    .knex('terminals')
    .whereIn('id', ids)
    .whereNull('revoked_at')
    .update({ last_seen_at: toDbTime(db, at) });
}

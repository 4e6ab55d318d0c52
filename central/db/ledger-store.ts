import type { Knex } from 'knex';
import { maskMobile } from '../../shared/mobile.ts';
import type { LedgerEntryView, Member } from '../../shared/protocol/api.ts';
import type { MemberState } from '../../shared/protocol/sync.ts';
import { STATE_COLUMNS, toState } from './sync-store.ts';
import { fromDbBool, fromDbTime, toDbTime, type Db } from './connect.ts';
import { writeNowOrIn, type Later, type StatementBatch } from './statement-batch.ts';

/** A database handle or an open transaction. */
export type Q = Knex | Knex.Transaction;

/** The stored first answer to an idempotency key. */
export interface IdempotentRecord {
  operation: string;
  requestHash: string;
  status: number;
  response: unknown;
}

export async function findIdempotent(q: Q, keys: string[]): Promise<Map<string, IdempotentRecord>> {
  if (keys.length === 0) return new Map();
  return idempotentRows(await idempotentQuery(q, keys));
}

/** findIdempotent in a statement batch. */
export function findIdempotentIn(
  batch: StatementBatch,
  q: Q,
  keys: string[],
): Later<Map<string, IdempotentRecord>> | undefined {
  return keys.length === 0 ? undefined : batch.add(idempotentQuery(q, keys), idempotentRows);
}

function idempotentQuery(q: Q, keys: string[]) {
  return q('idempotency_keys')
    .whereIn('key', keys)
    .select('key', 'operation', 'request_hash', 'status', 'response');
}

function idempotentRows(raw: unknown[]): Map<string, IdempotentRecord> {
  const found = new Map<string, IdempotentRecord>();
  const rows = raw as {
    key: string;
    operation: string;
    request_hash: string;
    status: number;
    response: string;
  }[];
  for (const row of rows) {
    found.set(row.key, {
      operation: row.operation,
      requestHash: row.request_hash,
      status: row.status,
      response: JSON.parse(row.response) as unknown,
    });
  }
  return found;
}

export async function insertIdempotent(
  db: Db,
  q: Q,
  rows: {
    key: string;
    operation: string;
    requestHash: string;
    status: number;
    response: unknown;
  }[],
  at: Date,
  batch?: StatementBatch,
): Promise<void> {
  if (rows.length === 0) return;
  if (db.dialect === 'pg') {
    const statement = q.raw(
      `insert into idempotency_keys (key, operation, request_hash, status, response, created_at)
       select key, operation, request_hash, status, response, ?::timestamptz
         from jsonb_to_recordset(?::jsonb) as x(key text, operation text, request_hash text,
              status int, response text)`,
      [
        at.toISOString(),
        JSON.stringify(
          rows.map((r) => ({
            key: r.key,
            operation: r.operation,
            request_hash: r.requestHash,
            status: r.status,
            response: JSON.stringify(r.response),
          })),
        ),
      ],
    );
    await writeNowOrIn(statement, batch);
    return;
  }
  await q('idempotency_keys').insert(
    rows.map((r) => ({
      key: r.key,
      operation: r.operation,
      request_hash: r.requestHash,
      status: r.status,
      response: JSON.stringify(r.response),
      created_at: toDbTime(db, at),
    })),
  );
}

export async function loadShowrooms(q: Q): Promise<{ id: number; code: string }[]> {
  return q('showrooms').select('id', 'code');
}

/** Every rate of every category, with the category's id. */
export async function loadRates(
  q: Q,
): Promise<
  { categoryId: number; categoryCode: string; pointsPer100Rupees: number; effectiveFrom: string }[]
> {
  const rows: {
    category_id: number;
    code: string;
    points_per_100_rupees: number;
    effective_from: unknown;
  }[] = await q('category_rates as r')
    .join('categories as c', 'c.id', 'r.category_id')
    .select('r.category_id', 'c.code', 'r.points_per_100_rupees', 'r.effective_from');
  return rows.map((r) => ({
    categoryId: r.category_id,
    categoryCode: r.code,
    pointsPer100Rupees: r.points_per_100_rupees,
    effectiveFrom: fromDbTime(r.effective_from),
  }));
}

export interface SaleHead {
  id: number;
  memberId: number;
  showroomId: number;
  billNumber: string;
}

export async function loadSaleHeads(q: Q, ids: number[]): Promise<Map<number, SaleHead>> {
  const heads = new Map<number, SaleHead>();
  if (ids.length === 0) return heads;
  const rows: { id: number; member_id: number; showroom_id: number; bill_number: string }[] =
    await q('sales').whereIn('id', ids).select('id', 'member_id', 'showroom_id', 'bill_number');
  for (const r of rows) {
    heads.set(r.id, {
      id: r.id,
      memberId: r.member_id,
      showroomId: r.showroom_id,
      billNumber: r.bill_number,
    });
  }
  return heads;
}

export interface LockedMember {
  id: number;
  mobile: string;
  balance: number;
  /** For the SMS notices written in the same transaction. */
  name: string;
  sms_consent: boolean | number;
  /** The member's latest sale until now (Date on PostgreSQL, ISO text on SQLite, or null). */
  last_visit_at: unknown;
  /** The member this record was merged into (who earns and spends for it), or null. */
  merged_into_id: number | null;
}

/**
 * Reads and, on PostgreSQL, row-locks the members a batch touches, in id order so that two
 * batches never wait on each other in a cycle. SQLite has one writer, which is lock enough.
 */
export async function lockMembers(
  db: Db,
  q: Q,
  by: { mobiles: string[]; ids: number[] },
): Promise<LockedMember[]> {
  if (by.mobiles.length === 0 && by.ids.length === 0) return [];
  return (await lockQuery(db, q, lockedMembers(q, by))) as LockedMember[];
}

/**
 * lockMembers in a statement batch, for sales: the members who hold these mobiles now. (A sale
 * made before its mobile changed hands earns for the earlier holder, whom the writer then locks
 * apart, as it does a member a record was merged into: both are rare.)
 */
export function lockSaleMembersIn(
  db: Db,
  batch: StatementBatch,
  q: Q,
  mobiles: string[],
): { locked: Later<LockedMember[]>; ids: Knex.QueryBuilder } | undefined {
  if (mobiles.length === 0) return undefined;
  const rows = lockQuery(db, q, lockedMembers(q, { mobiles, ids: [] }));
  return {
    locked: batch.add(rows, (r) => r as unknown as LockedMember[]),
    ids: q('members').whereIn('mobile', mobiles).select('id'),
  };
}

function lockedMembers(q: Q, by: { mobiles: string[]; ids: number[] }) {
  return q('members').where((w) => {
    if (by.mobiles.length > 0) void w.whereIn('mobile', by.mobiles);
    if (by.ids.length > 0) void w.orWhereIn('id', by.ids);
  });
}

function lockQuery(db: Db, q: Q, members: Knex.QueryBuilder) {
  const query = members
    .orderBy('id')
    .select('id', 'mobile', 'balance', 'name', 'sms_consent', 'last_visit_at', 'merged_into_id');
  if (db.dialect === 'pg') void query.forUpdate();
  return query;
}

/**
 * Who held each of these mobiles before a confirmed change of number, and until when (oldest
 * change first): a sale made before the change earns for that member.
 */
export async function findMobileHistory(
  q: Q,
  mobiles: string[],
): Promise<Map<string, { memberId: number; until: Date }[]>> {
  if (mobiles.length === 0) return new Map();
  return mobileHistoryRows(await mobileHistoryQuery(q, mobiles));
}

/** findMobileHistory in a statement batch. */
export function findMobileHistoryIn(
  batch: StatementBatch,
  q: Q,
  mobiles: string[],
): Later<Map<string, { memberId: number; until: Date }[]>> | undefined {
  return mobiles.length === 0
    ? undefined
    : batch.add(mobileHistoryQuery(q, mobiles), mobileHistoryRows);
}

function mobileHistoryQuery(q: Q, mobiles: string[]) {
  return q('mobile_changes')
    .where('status', 'confirmed')
    .whereIn('old_mobile', mobiles)
    .orderBy('confirmed_at')
    .select('old_mobile', 'member_id', 'confirmed_at');
}

function mobileHistoryRows(raw: unknown[]): Map<string, { memberId: number; until: Date }[]> {
  const history = new Map<string, { memberId: number; until: Date }[]>();
  const rows = raw as { old_mobile: string; member_id: number; confirmed_at: unknown }[];
  for (const r of rows) {
    const list = history.get(r.old_mobile) ?? [];
    list.push({ memberId: r.member_id, until: new Date(fromDbTime(r.confirmed_at)) });
    history.set(r.old_mobile, list);
  }
  return history;
}

/** Marks members as merged into `targetId` (the writer restamps them). */
export async function setMergedInto(
  db: Db,
  q: Q,
  ids: number[],
  targetId: number,
  at: Date,
): Promise<void> {
  if (ids.length === 0) return;
  await q('members')
    .whereIn('id', ids)
    .update({ merged_into_id: targetId, updated_at: toDbTime(db, at) });
}

/** Gives a member a new mobile (the writer restamps it). */
export async function setMobile(db: Db, q: Q, id: number, mobile: string, at: Date): Promise<void> {
  await q('members')
    .where('id', id)
    .update({ mobile, updated_at: toDbTime(db, at) });
}

/** A member and the records merged into it: whose ledger and purchases are its history. */
export async function mergeGroupIds(q: Q, memberId: number): Promise<number[]> {
  const rows: { id: number }[] = await q('members')
    .where('merged_into_id', memberId)
    .orderBy('id')
    .select('id');
  return [memberId, ...rows.map((r) => r.id)];
}

export async function findExistingBills(q: Q, pairs: [number, string][]): Promise<Set<string>> {
  if (pairs.length === 0) return new Set();
  return existingBillRows(await existingBillsQuery(q, pairs));
}

/** findExistingBills in a statement batch. */
export function findExistingBillsIn(
  batch: StatementBatch,
  q: Q,
  pairs: [number, string][],
): Later<Set<string>> | undefined {
  return pairs.length === 0 ? undefined : batch.add(existingBillsQuery(q, pairs), existingBillRows);
}

function existingBillsQuery(q: Q, pairs: [number, string][]) {
  return q('sales')
    .whereIn(['showroom_id', 'bill_number'], pairs)
    .select('showroom_id', 'bill_number');
}

function existingBillRows(raw: unknown[]): Set<string> {
  const rows = raw as { showroom_id: number; bill_number: string }[];
  return new Set(rows.map((r) => billKey(r.showroom_id, r.bill_number)));
}

/** Sale ids taken ahead (PostgreSQL), for sales written in a statement batch. */
export function takeSaleIdsIn(batch: StatementBatch, q: Q, count: number): Later<number[]> {
  return batch.add(
    q.raw(
      `select nextval(pg_get_serial_sequence('sales', 'id')) as id from generate_series(1, ?::int)`,
      [count],
    ),
    (rows) => rows.map((r) => Number(r.id)),
  );
}

/** Key of a bill within the chain. */
export function billKey(showroomId: number, billNumber: string): string {
  return `${showroomId}\u0000${billNumber}`;
}

export interface NewMemberRow {
  mobile: string;
  name: string;
  birthday: string | null;
  anniversary: string | null;
  email: string | null;
  smsConsent: boolean;
  showroomId: number;
  staffId: number | null;
}

/** Inserts a member unless the mobile exists; returns the new id or undefined. */
export async function insertMember(
  db: Db,
  q: Q,
  row: NewMemberRow,
  at: Date,
): Promise<number | undefined> {
  const now = toDbTime(db, at);
  const inserted: { id: number }[] = await q('members')
    .insert({
      mobile: row.mobile,
      name: row.name,
      birthday: row.birthday,
      anniversary: row.anniversary,
      email: row.email,
      sms_consent: row.smsConsent,
      consent_at: now,
      consent_showroom_id: row.showroomId,
      consent_staff_id: row.staffId,
      enrolled_showroom_id: row.showroomId,
      enrolled_at: now,
      balance: 0,
      seq: 0,
      updated_at: now,
    })
    .onConflict('mobile')
    .ignore()
    .returning('id');
  return inserted[0]?.id;
}

export interface SaleLineState {
  saleLineId: number;
  saleId: number;
  lineNo: number;
  sku: string;
  categoryCode: string;
  categoryId: number;
  quantity: number;
  amountPaise: number;
  points: number;
  returnedQuantity: number;
}

export async function loadSaleLines(q: Q, saleIds: number[]): Promise<SaleLineState[]> {
  if (saleIds.length === 0) return [];
  const rows: {
    id: number;
    sale_id: number;
    line_no: number;
    sku: string;
    code: string;
    category_id: number;
    quantity: number;
    amount_paise: number;
    points: number;
    returned: number | string | null;
  }[] = await q('sale_lines as l')
    .join('categories as c', 'c.id', 'l.category_id')
    .whereIn('l.sale_id', saleIds)
    .select(
      'l.id',
      'l.sale_id',
      'l.line_no',
      'l.sku',
      'c.code',
      'l.category_id',
      'l.quantity',
      'l.amount_paise',
      'l.points',
      q('return_lines as rl').whereRaw('rl.sale_line_id = l.id').sum('rl.quantity').as('returned'),
    )
    .orderBy(['l.sale_id', 'l.line_no']);
  return rows.map((r) => ({
    saleLineId: r.id,
    saleId: r.sale_id,
    lineNo: r.line_no,
    sku: r.sku,
    categoryCode: r.code,
    categoryId: r.category_id,
    quantity: r.quantity,
    amountPaise: r.amount_paise,
    points: r.points,
    returnedQuantity: Number(r.returned ?? 0),
  }));
}

/** The earn entry of each sale, which a reversal points back at. */
export async function findEarnEntries(q: Q, saleIds: number[]): Promise<Map<number, number>> {
  if (saleIds.length === 0) return new Map();
  const rows: { id: number; sale_id: number }[] = await q('ledger_entries')
    .whereIn('sale_id', saleIds)
    .andWhere('kind', 'earn')
    .select('id', 'sale_id');
  return new Map(rows.map((r) => [r.sale_id, r.id]));
}

export async function insertReturn(
  db: Db,
  q: Q,
  row: {
    key: string;
    saleId: number;
    showroomId: number;
    staffId: number | null;
    reason: string | null;
    amountPaise: number;
    points: number;
    lines: { saleLineId: number; quantity: number; amountPaise: number; points: number }[];
  },
  at: Date,
): Promise<number> {
  const insertedRows: { id: number }[] = await q('sale_returns')
    .insert({
      idempotency_key: row.key,
      sale_id: row.saleId,
      showroom_id: row.showroomId,
      staff_id: row.staffId,
      reason: row.reason,
      recorded_at: toDbTime(db, at),
      amount_paise: row.amountPaise,
      points: row.points,
    })
    .returning('id');
  const [inserted] = insertedRows;
  if (!inserted) throw new Error('insert into sale_returns returned no id');
  await q('return_lines').insert(
    row.lines.map((l) => ({
      return_id: inserted.id,
      sale_line_id: l.saleLineId,
      quantity: l.quantity,
      amount_paise: l.amountPaise,
      points: l.points,
    })),
  );
  return inserted.id;
}

export interface NewSaleRow {
  key: string;
  memberId: number;
  showroomId: number;
  terminalId: string | null;
  staffId: number | null;
  billNumber: string;
  soldAt: Date;
  amountPaise: number;
  points: number;
  lines: {
    lineNo: number;
    sku: string;
    categoryId: number;
    quantity: number;
    amountPaise: number;
    pointsPer100Rupees: number;
    points: number;
  }[];
}

/** A sale's columns (without recorded_at), the same for both dialects. */
function saleColumns(db: Db, s: NewSaleRow) {
  return {
    idempotency_key: s.key,
    member_id: s.memberId,
    showroom_id: s.showroomId,
    terminal_id: s.terminalId,
    staff_id: s.staffId,
    bill_number: s.billNumber,
    sold_at: toDbTime(db, s.soldAt),
    amount_paise: s.amountPaise,
    points: s.points,
  };
}

/** A sale line's columns (without sale_id, which the database assigns). */
function lineColumns(l: NewSaleRow['lines'][number]) {
  return {
    line_no: l.lineNo,
    sku: l.sku,
    category_id: l.categoryId,
    quantity: l.quantity,
    amount_paise: l.amountPaise,
    points_per_100_rupees: l.pointsPer100Rupees,
    points: l.points,
  };
}

/**
 * Inserts sales and their lines in two statements; returns each sale's id by its key. With
 * `taken` (PostgreSQL), the sales get those ids, in order, and the statement joins its batch.
 */
export async function insertSales(
  db: Db,
  q: Q,
  sales: NewSaleRow[],
  at: Date,
  taken?: { ids: readonly number[]; batch: StatementBatch },
): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  if (sales.length === 0) return ids;
  if (db.dialect === 'pg') {
    if (taken && taken.ids.length < sales.length) throw new Error('fewer sale ids than sales');
    // One round trip for every sale and line of the batch, each set passed as one JSON value.
    const statement = q.raw(
      `with s as (
         insert into sales (id, idempotency_key, member_id, showroom_id, terminal_id, staff_id,
                            bill_number, sold_at, recorded_at, amount_paise, points)
         select coalesce(id, nextval(pg_get_serial_sequence('sales', 'id'))), idempotency_key,
                member_id, showroom_id, terminal_id, staff_id, bill_number,
                sold_at, ?::timestamptz, amount_paise, points
           from jsonb_to_recordset(?::jsonb) as x(id bigint, idempotency_key text,
                member_id bigint, showroom_id int, terminal_id text, staff_id int,
                bill_number text, sold_at timestamptz, amount_paise bigint, points int)
         returning id, idempotency_key),
       l as (
         insert into sale_lines (sale_id, line_no, sku, category_id, quantity, amount_paise,
                                 points_per_100_rupees, points)
         select s.id, x.line_no, x.sku, x.category_id, x.quantity, x.amount_paise,
                x.points_per_100_rupees, x.points
           from jsonb_to_recordset(?::jsonb) as x(sale_key text, line_no int, sku text,
                category_id int, quantity int, amount_paise bigint, points_per_100_rupees int,
                points int)
           join s on s.idempotency_key = x.sale_key)
       select id, idempotency_key from s`,
      [
        at.toISOString(),
        JSON.stringify(sales.map((s, i) => ({ id: taken?.ids[i] ?? null, ...saleColumns(db, s) }))),
        JSON.stringify(
          sales.flatMap((s) => s.lines.map((l) => ({ sale_key: s.key, ...lineColumns(l) }))),
        ),
      ],
    );
    if (taken) {
      taken.batch.add(statement);
      sales.forEach((s, i) => ids.set(s.key, taken.ids[i] ?? 0));
      return ids;
    }
    const result = await statement;
    for (const r of (result as { rows: { id: number; idempotency_key: string }[] }).rows) {
      ids.set(r.idempotency_key, r.id);
    }
    return ids;
  }
  const recordedAt = toDbTime(db, at);
  const rows: { id: number; idempotency_key: string }[] = await q('sales')
    .insert(sales.map((s) => ({ ...saleColumns(db, s), recorded_at: recordedAt })))
    .returning(['id', 'idempotency_key']);
  for (const r of rows) ids.set(r.idempotency_key, r.id);
  const lines = sales.flatMap((s) =>
    s.lines.map((l) => ({ sale_id: ids.get(s.key), ...lineColumns(l) })),
  );
  // Stay well under SQLite's limit on bound variables per statement.
  for (let i = 0; i < lines.length; i += 2000)
    await q('sale_lines').insert(lines.slice(i, i + 2000));
  return ids;
}

export interface NewEntryRow {
  key: string;
  memberId: number;
  kind: 'earn' | 'redeem' | 'reverse' | 'adjust' | 'expire' | 'bonus';
  points: number;
  balanceAfter: number;
  saleId: number | null;
  returnId: number | null;
  refersToEntryId: number | null;
  showroomId: number | null;
  terminalId: string | null;
  staffId: number | null;
  reason: string | null;
}

/** A ledger entry's columns (without created_at), the same for both dialects. */
function entryColumns(e: NewEntryRow) {
  return {
    member_id: e.memberId,
    kind: e.kind,
    points: e.points,
    balance_after: e.balanceAfter,
    sale_id: e.saleId,
    return_id: e.returnId,
    refers_to_entry_id: e.refersToEntryId,
    idempotency_key: e.key,
    showroom_id: e.showroomId,
    terminal_id: e.terminalId,
    staff_id: e.staffId,
    reason: e.reason,
  };
}

/** Appends ledger entries; returns each entry's id by its idempotency key. */
export async function insertEntries(
  db: Db,
  q: Q,
  entries: NewEntryRow[],
  at: Date,
): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  if (entries.length === 0) return ids;
  if (db.dialect === 'pg') {
    const result = await entriesStatement(q, entries, at);
    for (const r of (result as { rows: { id: number; idempotency_key: string }[] }).rows) {
      ids.set(r.idempotency_key, r.id);
    }
    return ids;
  }
  const createdAt = toDbTime(db, at);
  const rows: { id: number; idempotency_key: string }[] = await q('ledger_entries')
    .insert(entries.map((e) => ({ ...entryColumns(e), created_at: createdAt })))
    .returning(['id', 'idempotency_key']);
  for (const r of rows) ids.set(r.idempotency_key, r.id);
  return ids;
}

/** insertEntries in a statement batch (PostgreSQL), for entries no other refers to by id. */
export function insertEntriesIn(
  batch: StatementBatch,
  q: Q,
  entries: NewEntryRow[],
  at: Date,
): void {
  if (entries.length > 0) batch.add(entriesStatement(q, entries, at));
}

function entriesStatement(q: Q, entries: NewEntryRow[], at: Date) {
  // No join and no sort: rows reach the insert in array order, so ids follow the batch's
  // order and each member's running balance stays in id order.
  return q.raw(
    `insert into ledger_entries (member_id, kind, points, balance_after, sale_id, return_id,
                                   refers_to_entry_id, idempotency_key, showroom_id, terminal_id,
                                   staff_id, reason, created_at)
       select member_id, kind, points, balance_after, sale_id, return_id, refers_to_entry_id,
              idempotency_key, showroom_id, terminal_id, staff_id, reason, ?::timestamptz
         from jsonb_to_recordset(?::jsonb) as x(member_id bigint, kind text, points bigint,
              balance_after bigint, sale_id bigint, return_id bigint, refers_to_entry_id bigint,
              idempotency_key text, showroom_id int, terminal_id text, staff_id int, reason text)
       returning id, idempotency_key`,
    [at.toISOString(), JSON.stringify(entries.map(entryColumns))],
  );
}

/**
 * Takes `count` numbers from the change sequence and returns the last. The row stays locked
 * until commit, so numbers become visible in the order they were taken.
 */
async function takeSequence(db: Db, q: Q, count: number): Promise<number> {
  const result: unknown = await q.raw(
    'update change_seq set head = head + ? where id = 1 returning head',
    [count],
  );
  const rows =
    db.dialect === 'pg'
      ? (result as { rows: { head: number | string }[] }).rows
      : (result as { head: number }[]);
  const head = rows[0]?.head;
  if (head === undefined) throw new Error('change_seq has no row');
  return Number(head);
}

/**
 * Takes one change number per member the batch touched, last and in the same statement as it
 * writes their balances and last visits: the change_seq row stays locked until commit, so
 * numbers become visible in the order they were taken. A last visit only ever moves forward
 * (null leaves it as it is).
 */
export async function stampMembers(
  db: Db,
  q: Q,
  members: { id: number; balance: number; lastVisitAt: Date | null }[],
  at: Date,
): Promise<Stamp | undefined> {
  if (members.length === 0) return undefined;
  if (db.dialect === 'pg') {
    const result = await stampStatement(q, members, at);
    return stampRows((result as { rows: Record<string, unknown>[] }).rows);
  }
  const head = await takeSequence(db, q, members.length);
  await updateMembers(
    q,
    members.map((m, i) => ({
      id: m.id,
      balance: m.balance,
      seq: head - members.length + 1 + i,
      lastVisitAt: m.lastVisitAt,
    })),
    at,
  );
  const rows: Parameters<typeof toState>[0][] = await q('members')
    .whereIn(
      'id',
      members.map((m) => m.id),
    )
    .orderBy('seq')
    .select(STATE_COLUMNS);
  return { fromSeq: head - members.length, toSeq: head, states: rows.map(toState) };
}

/** stampMembers in a statement batch (PostgreSQL); undefined when nobody is stamped. */
export function stampMembersIn(
  batch: StatementBatch,
  q: Q,
  members: { id: number; balance: number; lastVisitAt: Date | null }[],
  at: Date,
): Later<Stamp | undefined> | undefined {
  return members.length === 0 ? undefined : batch.add(stampStatement(q, members, at), stampRows);
}

function stampStatement(
  q: Q,
  members: { id: number; balance: number; lastVisitAt: Date | null }[],
  at: Date,
) {
  return q.raw(
    `with head as (update change_seq set head = head + ? where id = 1 returning head)
       update members m
          set balance = x.balance, seq = head.head - ? + x.n, updated_at = ?::timestamptz,
              last_visit_at = greatest(m.last_visit_at, x.last_visit_at)
         from (select * from jsonb_to_recordset(?::jsonb) as r(id bigint, balance bigint,
                 n int, last_visit_at timestamptz) limit ?) as x, head
        where m.id = x.id
        returning m.id, m.mobile, m.name, m.balance, m.tier, m.sms_consent, m.seq, m.last_visit_at,
                  m.merged_into_id`,
    [
      members.length,
      members.length,
      at.toISOString(),
      JSON.stringify(
        members.map((m, i) => ({
          id: m.id,
          balance: m.balance,
          n: i + 1,
          last_visit_at: m.lastVisitAt?.toISOString() ?? null,
        })),
      ),
      // The row count, so the planner looks members up by id instead of scanning them all.
      members.length,
    ],
  );
}

function stampRows(rows: unknown[]): Stamp | undefined {
  const states = (rows as Parameters<typeof toState>[0][])
    .map(toState)
    .sort((a, b) => a.seq - b.seq);
  const toSeq = states.at(-1)?.seq ?? 0;
  return { fromSeq: toSeq - states.length, toSeq, states };
}

/** The change numbers a commit took, (fromSeq, toSeq], and the states it stamped. */
export interface Stamp {
  fromSeq: number;
  toSeq: number;
  states: MemberState[];
}

/**
 * Writes new balances, change numbers and last visits of the members a batch touched (SQLite),
 * in one statement over a JSON array, as the PostgreSQL path does with jsonb_to_recordset.
 * A last visit only moves forward: ISO text compares as time, and null leaves it as it is.
 */
async function updateMembers(
  q: Q,
  updates: { id: number; balance: number; seq: number; lastVisitAt: Date | null }[],
  at: Date,
): Promise<void> {
  await q.raw(
    `update members set
       balance = x.balance,
       seq = x.seq,
       last_visit_at = case
         when x.visit is not null and (members.last_visit_at is null or x.visit > members.last_visit_at)
         then x.visit else members.last_visit_at end,
       updated_at = ?
     from (select j.value ->> 0 as id, j.value ->> 1 as balance, j.value ->> 2 as seq,
                  j.value ->> 3 as visit
             from json_each(?) j) as x
     where members.id = x.id`,
    [
      at.toISOString(),
      JSON.stringify(
        updates.map((u) => [u.id, u.balance, u.seq, u.lastVisitAt?.toISOString() ?? null]),
      ),
    ],
  );
}

interface MemberRow {
  id: number;
  mobile: string;
  name: string;
  birthday: string | null;
  anniversary: string | null;
  email: string | null;
  sms_consent: boolean | number;
  consent_at: unknown;
  consent_code: string | null;
  enrolled_at: unknown;
  enrolled_code: string | null;
  balance: number;
  tier: string;
  merged_into_id: number | null;
}

function memberQuery(q: Q) {
  return q('members as m')
    .leftJoin('showrooms as cs', 'cs.id', 'm.consent_showroom_id')
    .leftJoin('showrooms as es', 'es.id', 'm.enrolled_showroom_id')
    .select(
      'm.id',
      'm.mobile',
      'm.name',
      'm.birthday',
      'm.anniversary',
      'm.email',
      'm.sms_consent',
      'm.consent_at',
      'cs.code as consent_code',
      'm.enrolled_at',
      'es.code as enrolled_code',
      'm.balance',
      'm.tier',
      'm.merged_into_id',
    );
}

function toMember(r: MemberRow): Member {
  return {
    id: r.id,
    mobile: r.mobile,
    maskedMobile: maskMobile(r.mobile),
    name: r.name,
    birthday: r.birthday,
    anniversary: r.anniversary,
    email: r.email,
    smsConsent: fromDbBool(r.sms_consent),
    consentAt: fromDbTime(r.consent_at),
    consentShowroomCode: r.consent_code,
    enrolledAt: fromDbTime(r.enrolled_at),
    enrolledShowroomCode: r.enrolled_code,
    balance: r.balance,
    tier: r.tier,
  };
}

export async function loadMembers(q: Q, ids: number[]): Promise<Map<number, Member>> {
  if (ids.length === 0) return new Map();
  const rows: MemberRow[] = await memberQuery(q).whereIn('m.id', ids);
  return new Map(rows.map((r) => [r.id, toMember(r)]));
}

/** The member with this mobile; for a record merged into another, that member. */
export async function findMemberByMobile(q: Q, mobile: string): Promise<Member | undefined> {
  const row: MemberRow | undefined = await memberQuery(q).where('m.mobile', mobile).first();
  if (row?.merged_into_id) return findMemberById(q, row.merged_into_id);
  return row ? toMember(row) : undefined;
}

export async function findMemberById(q: Q, id: number): Promise<Member | undefined> {
  return (await loadMembers(q, [id])).get(id);
}

interface EntryRow {
  id: number;
  kind: LedgerEntryView['kind'];
  points: number;
  balance_after: number;
  created_at: unknown;
  showroom_code: string | null;
  terminal_id: string | null;
  username: string | null;
  reason: string | null;
  sale_id: number | null;
  bill_number: string | null;
  refers_to_entry_id: number | null;
}

/** Ledger entries as shown to staff, joined with showroom, staff and bill. */
export function entryQuery(q: Q) {
  return q('ledger_entries as e')
    .leftJoin('showrooms as s', 's.id', 'e.showroom_id')
    .leftJoin('staff as st', 'st.id', 'e.staff_id')
    .leftJoin('sales as sa', 'sa.id', 'e.sale_id')
    .select(
      'e.id',
      'e.kind',
      'e.points',
      'e.balance_after',
      'e.created_at',
      's.code as showroom_code',
      'e.terminal_id',
      'st.username',
      'e.reason',
      'e.sale_id',
      'sa.bill_number',
      'e.refers_to_entry_id',
    );
}

export function toEntryView(r: EntryRow): LedgerEntryView {
  return {
    id: r.id,
    kind: r.kind,
    points: r.points,
    balanceAfter: r.balance_after,
    at: fromDbTime(r.created_at),
    showroomCode: r.showroom_code,
    terminalId: r.terminal_id,
    staffUsername: r.username,
    reason: r.reason,
    saleId: r.sale_id,
    billNumber: r.bill_number,
    refersToEntryId: r.refers_to_entry_id,
  };
}

export async function loadEntries(q: Q, ids: number[]): Promise<Map<number, LedgerEntryView>> {
  if (ids.length === 0) return new Map();
  const rows: EntryRow[] = await entryQuery(q).whereIn('e.id', ids);
  return new Map(rows.map((r) => [r.id, toEntryView(r)]));
}

/**
 * A member's entries in [from, to), oldest first, and the balance before `from`. A member that
 * records were merged into shows their entries too, with the running balance of them all.
 */
export async function entriesBetween(
  db: Db,
  memberId: number,
  from: Date,
  to: Date,
): Promise<{ opening: number; entries: LedgerEntryView[] }> {
  const group = await mergeGroupIds(db.knex, memberId);
  if (group.length > 1) return groupEntriesBetween(db, group, from, to);
  const before: { balance_after: number } | undefined = await db
    .knex('ledger_entries')
    .where('member_id', memberId)
    .andWhere('created_at', '<', toDbTime(db, from))
    .orderBy('id', 'desc')
    .first('balance_after');
  const rows: EntryRow[] = await entryQuery(db.knex)
    .where('e.member_id', memberId)
    .andWhere('e.created_at', '>=', toDbTime(db, from))
    .andWhere('e.created_at', '<', toDbTime(db, to))
    .orderBy('e.id');
  return { opening: before?.balance_after ?? 0, entries: rows.map(toEntryView) };
}

/** entriesBetween over several members (one and those merged into it), as one history. */
async function groupEntriesBetween(
  db: Db,
  ids: number[],
  from: Date,
  to: Date,
): Promise<{ opening: number; entries: LedgerEntryView[] }> {
  let opening = 0;
  for (const id of ids) {
    const before: { balance_after: number } | undefined = await db
      .knex('ledger_entries')
      .where('member_id', id)
      .andWhere('created_at', '<', toDbTime(db, from))
      .orderBy('id', 'desc')
      .first('balance_after');
    opening += before?.balance_after ?? 0;
  }
  const rows: EntryRow[] = await entryQuery(db.knex)
    .whereIn('e.member_id', ids)
    .andWhere('e.created_at', '>=', toDbTime(db, from))
    .andWhere('e.created_at', '<', toDbTime(db, to))
    .orderBy('e.id');
  let running = opening;
  const entries = rows.map((r) => {
    running += r.points;
    return { ...toEntryView(r), balanceAfter: running };
  });
  return { opening, entries };
}

/**
 * The statement of the member with this mobile for [from, to): the member as now, the balance
 * before the window, the balance at its end, and up to `limit` entries in the order they were
 * written. The window is cut in that order: it starts at the first entry written at or after
 * `from` and ends before the first one written at or after `to`. Entry times need not follow
 * the order of writing (each commit stamps its own clock reading), but running balances do; so
 * opening + Σ points = closing always holds, and consecutive windows neither overlap nor leave
 * a gap. Undefined when no member has the mobile.
 */
export async function statementFor(
  db: Db,
  mobile: string,
  from: Date,
  to: Date,
  limit: number,
): Promise<
  | {
      member: { id: number; name: string; mobile: string; balance: number };
      opening: number;
      closing: number;
      entries: {
        at: string;
        kind: NewEntryRow['kind'];
        points: number;
        balanceAfter: number;
        showroomCode: string | null;
        billNumber: string | null;
        note: string | null;
      }[];
      truncated: boolean;
    }
  | undefined
> {
  // One snapshot, so the closing balance and the entries agree even while sales come in.
  return db.knex.transaction(
    async (trx) => {
      const member: { id: number; name: string; mobile: string; balance: number } | undefined =
        await trx('members').where('mobile', mobile).first('id', 'name', 'mobile', 'balance');
      if (!member) return undefined;
      const memberId = member.id;
      /** The id of the member's first entry written at or after `at` (none: +Infinity). */
      const firstIdFrom = async (at: Date): Promise<number> => {
        const row: { id: number } | undefined = await trx('ledger_entries')
          .where('member_id', memberId)
          .andWhere('created_at', '>=', toDbTime(db, at))
          .orderBy('id')
          .first('id');
        return row?.id ?? Number.POSITIVE_INFINITY;
      };
      /** The running balance after the member's last entry before id `id` (0 if none). */
      const balanceBefore = async (id: number): Promise<number> => {
        const query = trx('ledger_entries').where('member_id', memberId);
        if (Number.isFinite(id)) void query.andWhere('id', '<', id);
        const row: { balance_after: number } | undefined = await query
          .orderBy('id', 'desc')
          .first('balance_after');
        return row?.balance_after ?? 0;
      };
      const startId = await firstIdFrom(from);
      const endId = Math.max(startId, await firstIdFrom(to));
      const query = trx('ledger_entries as e')
        .leftJoin('showrooms as s', 's.id', 'e.showroom_id')
        .leftJoin('sales as sa', 'sa.id', 'e.sale_id')
        .where('e.member_id', memberId)
        .andWhere('e.id', '>=', startId)
        .orderBy('e.id')
        .limit(limit + 1)
        .select(
          'e.kind',
          'e.points',
          'e.balance_after',
          'e.created_at',
          's.code as showroom_code',
          'sa.bill_number',
          'e.reason',
        );
      if (Number.isFinite(endId)) void query.andWhere('e.id', '<', endId);
      const rows: {
        kind: NewEntryRow['kind'];
        points: number;
        balance_after: number;
        created_at: unknown;
        showroom_code: string | null;
        bill_number: string | null;
        reason: string | null;
      }[] = Number.isFinite(startId) ? await query : [];
      return {
        member,
        opening: await balanceBefore(startId),
        closing: await balanceBefore(endId),
        entries: rows.slice(0, limit).map((r) => ({
          at: fromDbTime(r.created_at),
          kind: r.kind,
          points: r.points,
          balanceAfter: r.balance_after,
          showroomCode: r.showroom_code,
          billNumber: r.bill_number,
          note: r.reason,
        })),
        truncated: rows.length > limit,
      };
    },
    db.dialect === 'pg' ? { isolationLevel: 'repeatable read', readOnly: true } : {},
  );
}

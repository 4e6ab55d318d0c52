import { rowsOf, type Db } from './connect.ts';
import type { Q } from './ledger-store.ts';
import type { StatementBatch } from './statement-batch.ts';

/** Where a message is in its life. */
export type OutboxStatus =
  'queued' | 'sending' | 'retrying' | 'sent' | 'failed' | 'expired' | 'refused' | 'unknown';

/** A message to write to the outbox in the transaction of the change that causes it. */
export interface NewOutboxRow {
  kind: string;
  dedupeKey: string;
  memberId: number | null;
  mobile: string;
  template: string;
  text: string;
  sealed: string | null;
  variables: string[];
  unicode: boolean;
  segments: number;
  /** 'queued', or 'refused' with `lastError` when the message does not fit its template. */
  status: 'queued' | 'refused';
  lastError: string | null;
  expiresAt: Date;
  terminalId: string | null;
  redemptionId: number | null;
}

/** An outbox row as the worker reads it. */
export interface OutboxRow {
  id: number;
  kind: string;
  mobile: string;
  template: string;
  text: string;
  sealed: string | null;
  variables: string[];
  unicode: boolean;
  attempts: number;
  expiresAt: Date;
  terminalId: string | null;
  redemptionId: number | null;
}

/**
 * Writes messages; one whose dedupe key is already there is skipped (that is how a wish goes
 * once a year however many processes try). Returns the new rows' ids by dedupe key.
 */
export async function insertOutbox(
  q: Q,
  rows: NewOutboxRow[],
  now: Date,
): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  if (rows.length === 0) return ids;
  const inserted: { id: number; dedupe_key: string }[] = await outboxInsert(q, rows, now);
  for (const r of inserted) ids.set(r.dedupe_key, r.id);
  return ids;
}

/**
 * insertOutbox in a statement batch (PostgreSQL); the new rows' ids are not needed there. The
 * rows go as one JSON value, so the statement is the same text for any number of them (it is
 * prepared once per connection): as a multi-row VALUES, a batch of 250 earn notices was 4,250
 * values for knex to bind and escape, and a new statement for PostgreSQL to parse and plan.
 */
export function insertOutboxIn(batch: StatementBatch, q: Q, rows: NewOutboxRow[], now: Date): void {
  if (rows.length === 0) return;
  batch.add(
    q.raw(
      `insert into sms_outbox (kind, dedupe_key, member_id, mobile, template, text, sealed,
                               variables, unicode, segments, status, last_error, created_at,
                               next_attempt_at, expires_at, terminal_id, redemption_id)
       select kind, dedupe_key, member_id, mobile, template, text, sealed, variables, unicode,
              segments, status, last_error, ?::timestamptz, ?::timestamptz, expires_at,
              terminal_id, redemption_id
         from jsonb_to_recordset(?::jsonb) as x(kind text, dedupe_key text, member_id bigint,
              mobile text, template text, text text, sealed text, variables text, unicode boolean,
              segments int, status text, last_error text, expires_at timestamptz,
              terminal_id text, redemption_id bigint)
       on conflict (dedupe_key) do nothing`,
      [now.toISOString(), now.toISOString(), JSON.stringify(rows.map(outboxColumns))],
    ),
  );
}

function outboxColumns(r: NewOutboxRow) {
  return {
    kind: r.kind,
    dedupe_key: r.dedupeKey,
    member_id: r.memberId,
    mobile: r.mobile,
    template: r.template,
    text: r.text,
    sealed: r.sealed,
    variables: JSON.stringify(r.variables),
    unicode: r.unicode,
    segments: r.segments,
    status: r.status,
    last_error: r.lastError,
    expires_at: r.expiresAt,
    terminal_id: r.terminalId,
    redemption_id: r.redemptionId,
  };
}

function outboxInsert(q: Q, rows: NewOutboxRow[], now: Date) {
  return q('sms_outbox')
    .insert(
      rows.map((r) => ({
        ...outboxColumns(r),
        created_at: now,
        next_attempt_at: now,
      })),
    )
    .onConflict('dedupe_key')
    .ignore()
    .returning(['id', 'dedupe_key']);
}

interface RawRow {
  id: number;
  kind: string;
  mobile: string;
  template: string;
  text: string;
  sealed: string | null;
  variables: string;
  unicode: boolean | number;
  attempts: number;
  expires_at: Date | string | number;
  terminal_id: string | null;
  redemption_id: number | null;
}

const toRow = (r: RawRow): OutboxRow => ({
  id: r.id,
  kind: r.kind,
  mobile: r.mobile,
  template: r.template,
  text: r.text,
  sealed: r.sealed,
  variables: JSON.parse(r.variables) as string[],
  unicode: Boolean(r.unicode),
  attempts: r.attempts,
  expiresAt: new Date(r.expires_at),
  terminalId: r.terminal_id,
  redemptionId: r.redemption_id,
});

/**
 * Takes up to `limit` messages that are due, marking them 'sending' (claimed by `workerId`) in
 * one statement. On PostgreSQL, SKIP LOCKED lets several central processes share the outbox
 * without taking the same message. A message past its expiry is never taken, even before
 * expireOverdue has closed it.
 */
export async function claimDue(
  db: Db,
  now: Date,
  limit: number,
  workerId: string,
): Promise<OutboxRow[]> {
  const lock = db.dialect === 'pg' ? 'for update skip locked' : '';
  const result = await db.knex.raw(
    `update sms_outbox
        set status = 'sending', claimed_at = ?, claimed_by = ?, attempts = attempts + 1
      where id in (select id from sms_outbox
                    where status in ('queued', 'retrying') and next_attempt_at <= ?
                      and expires_at > ?
                    order by next_attempt_at, id limit ? ${lock})
      returning id, kind, mobile, template, text, sealed, variables, unicode, attempts,
                expires_at, terminal_id, redemption_id`,
    [now, workerId, now, now, limit],
  );
  return rowsOf<RawRow>(db, result)
    .map(toRow)
    .sort((a, b) => a.id - b.id);
}

/** How a send ended, as the worker records it. */
export type SendOutcome =
  | { status: 'sent'; provider: string; providerMessageId: string; at: Date }
  | { status: 'retrying'; error: string; nextAttemptAt: Date }
  | { status: 'failed' | 'refused' | 'expired' | 'unknown'; error: string };

/**
 * Records how sends ended, every one in one statement; only rows still 'sending' and claimed by
 * `workerId` change (another process may have marked one 'unknown' meanwhile). Returns the ids
 * that changed. A sent message loses its sealed text and error; a retried one keeps its text and
 * gets its next attempt; any other ending loses the text and records the error.
 */
export async function settleOutboxes(
  db: Db,
  workerId: string,
  settles: readonly { id: number; outcome: SendOutcome }[],
): Promise<Set<number>> {
  if (settles.length === 0) return new Set();
  // Instants as this table holds them: timestamptz for PostgreSQL, milliseconds for SQLite (as
  // knex binds a Date there).
  const instant = (d: Date) => (db.dialect === 'pg' ? d.toISOString() : d.getTime());
  const rows = settles.map(({ id, outcome }) => ({
    id,
    status: outcome.status,
    sent_at: outcome.status === 'sent' ? instant(outcome.at) : null,
    provider: outcome.status === 'sent' ? columnText(outcome.provider, 16) : null,
    provider_message_id:
      outcome.status === 'sent' ? columnText(outcome.providerMessageId, 128) : null,
    last_error: outcome.status === 'sent' ? null : columnText(outcome.error, 400),
    next_attempt_at: outcome.status === 'retrying' ? instant(outcome.nextAttemptAt) : null,
  }));
  const set = (o: string) => `status = v.status,
           sent_at = case when v.status = 'sent' then v.sent_at else ${o}.sent_at end,
           provider = case when v.status = 'sent' then v.provider else ${o}.provider end,
           provider_message_id = case when v.status = 'sent' then v.provider_message_id
                                      else ${o}.provider_message_id end,
           last_error = v.last_error,
           next_attempt_at = case when v.status = 'retrying' then v.next_attempt_at
                                  else ${o}.next_attempt_at end,
           sealed = case when v.status = 'retrying' then ${o}.sealed end`;
  const sql =
    db.dialect === 'pg'
      ? `update sms_outbox o set ${set('o')}
           from json_to_recordset(?::json) as v(id bigint, status text, sent_at timestamptz,
                  provider text, provider_message_id text, last_error text,
                  next_attempt_at timestamptz)
          where o.id = v.id and o.status = 'sending' and o.claimed_by = ?
         returning o.id`
      : `update sms_outbox set ${set('sms_outbox')}
           from (select value ->> 'id' as id, value ->> 'status' as status,
                        value ->> 'sent_at' as sent_at, value ->> 'provider' as provider,
                        value ->> 'provider_message_id' as provider_message_id,
                        value ->> 'last_error' as last_error,
                        value ->> 'next_attempt_at' as next_attempt_at
                   from json_each(?)) as v
          where sms_outbox.id = v.id and sms_outbox.status = 'sending'
            and sms_outbox.claimed_by = ?
         returning sms_outbox.id`;
  const result: unknown = await db.knex.raw(sql, [JSON.stringify(rows), workerId]);
  return new Set(rowsOf<{ id: number | string }>(db, result).map((r) => Number(r.id)));
}

/**
 * A gateway's text as a column takes it: at most `max` characters, whole ones (an emoji is not
 * cut in half), no NUL, no lone surrogate (PostgreSQL refuses both in text and in JSON).
 */
export function columnText(text: string, max: number): string {
  // With the u flag \p{Cs} matches only a surrogate without its pair; whole characters then.
  return Array.from(text.replace(/\0/g, '').replace(/\p{Cs}/gu, '\uFFFD'))
    .slice(0, max)
    .join('');
}

/** Messages past their use (an OTP after it expired, a wish the day after) are not sent late. */
export async function expireOverdue(q: Q, now: Date): Promise<ClosedRow[]> {
  // The statuses written out, as in the partial index's predicate (sms_outbox_expiring): SQLite
  // uses a partial index only for a query whose terms match it, and bound values do not.
  return q('sms_outbox')
    .whereRaw("status in ('queued', 'retrying')")
    .where('expires_at', '<', now)
    .update(
      { status: 'expired', sealed: null, last_error: 'not sent before it expired' },
      CLOSED_COLUMNS,
    );
}

/** A message closed without a send, for the status event its counter is waiting for. */
export interface ClosedRow {
  id: number;
  kind: string;
  attempts: number;
  last_error: string | null;
  terminal_id: string | null;
  redemption_id: number | null;
}

const CLOSED_COLUMNS = ['id', 'kind', 'attempts', 'last_error', 'terminal_id', 'redemption_id'];

/** An OTP message replaced by a newer code: not sent if it has not gone yet, its code wiped. */
export async function retireOtpMessage(q: Q, id: number): Promise<void> {
  await q('sms_outbox')
    .where('id', id)
    .whereIn('status', ['queued', 'retrying'])
    .update({ status: 'expired', sealed: null, last_error: 'replaced by a newer OTP' });
}

/**
 * Messages a stopped process had taken and was sending: the gateway may or may not have them.
 * They are not sent again (that could send an SMS twice); they are marked 'unknown' so the
 * cashier and the report show it, and an OTP can be resent by hand.
 */
export async function markAbandonedSends(q: Q, claimedBefore: Date): Promise<ClosedRow[]> {
  return q('sms_outbox').where('status', 'sending').where('claimed_at', '<', claimedBefore).update(
    {
      status: 'unknown',
      sealed: null,
      last_error: 'central stopped while sending it; the gateway may or may not have it',
    },
    CLOSED_COLUMNS,
  );
}

/** A message's status as a cashier or a report sees it. */
export interface OutboxStatusView {
  id: number;
  status: OutboxStatus;
  attempts: number;
  lastError: string | null;
  sentAt: string | null;
}

export async function outboxStatus(q: Q, id: number): Promise<OutboxStatusView | undefined> {
  const row:
    | {
        id: number;
        status: OutboxStatus;
        attempts: number;
        last_error: string | null;
        sent_at: Date | string | null;
      }
    | undefined = await q('sms_outbox')
    .where('id', id)
    .first('id', 'status', 'attempts', 'last_error', 'sent_at');
  if (!row) return undefined;
  return {
    id: row.id,
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    sentAt: row.sent_at === null ? null : new Date(row.sent_at).toISOString(),
  };
}

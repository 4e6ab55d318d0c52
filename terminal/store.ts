import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DEFAULT_SETTINGS } from '../shared/points/redeem.ts';
import { z } from 'zod';
import {
  Rules,
  type CataloguePage,
  type MemberState,
  type ProductRule,
} from '../shared/protocol/sync.ts';

/** Where the terminal's schema lives: numbered SQL files applied in order. */
export const TERMINAL_MIGRATIONS = path.resolve(import.meta.dirname, '../migrations/terminal');

/** A member as the counter shows it: central's balance plus what this counter has not sent yet. */
export interface MemberView {
  /** Central's id; null for a member enrolled here while offline and not yet sent. */
  id: number | null;
  mobile: string;
  name: string;
  balance: number;
  pendingPoints: number;
  tier: string;
  smsConsent: boolean;
  seq: number;
  /** When the member last bought anywhere in the chain (ISO, UTC); null if never. */
  lastVisitAt: string | null;
}

/**
 * The rules as the cache keeps them. The catalogue they name (catalogueVersion) lives in its own
 * table, fetched apart from them (see stageCataloguePage).
 */
export const StoredRules = Rules.extend({
  // Rules a protocol 1 central sent lack the counter's fields until the next pull brings them.
  chainName: z.string().default(DEFAULT_SETTINGS.chainName),
  pointValuePaise: z.int().positive().default(DEFAULT_SETTINGS.pointValuePaise),
  staff: Rules.shape.staff.default([]),
  catalogueVersion: z.string().optional(),
});
export type StoredRules = z.infer<typeof StoredRules>;

/** A write waiting for central, or one central refused. */
export interface OutboxRow {
  n: number;
  key: string;
  kind: 'sale' | 'enrol';
  body: unknown;
  mobile: string;
  pendingPoints: number;
  createdAt: string;
  state: 'queued' | 'refused' | 'discarded';
  attempts: number;
  lastError: unknown;
  resolvedNote: string | null;
}

interface MemberRow {
  id: number;
  mobile: string;
  name: string;
  balance: number;
  tier: string;
  sms_consent: number;
  seq: number;
  last_visit: string | null;
  merged_into: number | null;
}

interface OutboxDbRow {
  n: number;
  key: string;
  kind: 'sale' | 'enrol';
  body: string;
  mobile: string;
  pending_points: number;
  created_at: string;
  state: 'queued' | 'refused' | 'discarded';
  attempts: number;
  last_error: string | null;
  resolved_note: string | null;
}

/**
 * A typed name prefix folded as the cache's name index folds names: NFC (as central stores
 * names), ASCII letters to lower case (SQLite's lower()), spaces collapsed.
 */
export function foldName(name: string): string {
  return name
    .normalize('NFC')
    .replace(/[A-Z]/g, (c) => c.toLowerCase())
    .replace(/\s+/g, ' ')
    .trimStart();
}

/**
 * The lookup indexes (as migrations/terminal/001_cache.sql makes them). A first bootstrap drops
 * them and builds them once at the end, which is several times faster than keeping them up to
 * date row by row; opening the cache rebuilds any that a crash left missing.
 */
const LOOKUP_INDEXES = [
  'CREATE INDEX IF NOT EXISTS members_last4 ON members (substr(mobile, -4))',
  'CREATE INDEX IF NOT EXISTS members_name_key ON members (lower(name))',
];

/** Upper bound of a prefix range: every string starting with `prefix` sorts below it. */
function prefixEnd(prefix: string): string {
  return prefix + '\u{10FFFF}';
}

/** What a replication transaction writes besides states: see writeSyncFacts. */
interface SyncFacts {
  cursor: number;
  epoch: string;
  rules?: Rules;
  syncedAt?: string;
}

/**
 * The terminal's SQLite cache (better-sqlite3, WAL, synchronous=FULL so a confirmed sale
 * survives a power cut): replicated member states, rules, cursor, and the outbox.
 */
export class TerminalStore {
  readonly db: Database.Database;
  readonly file: string;
  private readonly stmts;
  /** applyChanges' transaction, made once (better-sqlite3 builds four wrappers each time). */
  private readonly applyChangesTx: Database.Transaction<
    (changes: readonly MemberState[], update: SyncFacts) => number
  >;

  constructor(file: string) {
    this.file = file;
    if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // Replicated states can always be pulled again, and a crash rolls back rows and cursor
    // together, so their commits need not wait for the disk (NORMAL). An outbox item is the
    // only copy of a sale: enqueue() commits it with FULL, which also flushes what came before.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('cache_size = -65536'); // 64 MiB of page cache
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    migrate(this.db);
    this.ensureLookupIndexes();
    const db = this.db;
    this.stmts = {
      getMeta: db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare<[string, string]>(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      ),
      upsert: db.prepare<[MemberRow]>(
        `INSERT INTO members (id, mobile, name, balance, tier, sms_consent, seq, last_visit, merged_into)
         VALUES (@id, @mobile, @name, @balance, @tier, @sms_consent, @seq, @last_visit, @merged_into)
         ON CONFLICT (id) DO UPDATE SET
           mobile = excluded.mobile, name = excluded.name, balance = excluded.balance,
           tier = excluded.tier, sms_consent = excluded.sms_consent, seq = excluded.seq,
           last_visit = excluded.last_visit, merged_into = excluded.merged_into
         WHERE excluded.seq > members.seq`,
      ),
      // A page of rows (JSON text from a pull) in two statements, without building objects.
      freePageMobiles: db.prepare<[string]>(
        `DELETE FROM members WHERE id IN (
           SELECT m.id FROM json_each(?) j JOIN members m ON m.mobile = j.value ->> 1
            WHERE m.id <> j.value ->> 0 AND m.seq < j.value ->> 6)`,
      ),
      upsertPage: db.prepare<[string]>(
        `INSERT INTO members (id, mobile, name, balance, tier, sms_consent, seq, last_visit, merged_into)
         SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4,
                j.value ->> 5, j.value ->> 6, j.value ->> 7, j.value ->> 8
           FROM json_each(?) j WHERE true
         ON CONFLICT (id) DO UPDATE SET
           mobile = excluded.mobile, name = excluded.name, balance = excluded.balance,
           tier = excluded.tier, sms_consent = excluded.sms_consent, seq = excluded.seq,
           last_visit = excluded.last_visit, merged_into = excluded.merged_into
         WHERE excluded.seq > members.seq`,
      ),
      // A catalogue arriving page by page (JSON text of products), then swapped in whole.
      clearStaging: db.prepare('DELETE FROM products_staging'),
      stagePage: db.prepare<[string]>(
        `INSERT INTO products_staging (sku, name, category_code)
         SELECT j.value ->> 'sku', j.value ->> 'name', j.value ->> 'categoryCode'
           FROM json_each(?) j WHERE true
         ON CONFLICT (sku) DO UPDATE SET name = excluded.name, category_code = excluded.category_code`,
      ),
      clearProducts: db.prepare('DELETE FROM products'),
      fillProductsFromStaging: db.prepare(
        'INSERT INTO products (sku, name, category_code) SELECT sku, name, category_code FROM products_staging',
      ),
      deleteMeta: db.prepare<[string]>('DELETE FROM meta WHERE key = ?'),
      productBySku: db.prepare<[string], { sku: string; name: string; category_code: string }>(
        'SELECT sku, name, category_code FROM products WHERE sku = ?',
      ),
      // The usual push: the member keeps mobile and name, so no lookup index is touched.
      updateState: db.prepare<[MemberRow]>(
        `UPDATE members SET balance = @balance, tier = @tier, sms_consent = @sms_consent,
                seq = @seq, last_visit = @last_visit, merged_into = @merged_into
          WHERE id = @id AND seq < @seq AND mobile = @mobile AND name = @name`,
      ),
      // A mobile can move from one member to another (a change of number at central): the newer
      // state wins, and the older holder of the number gives it up until its own state arrives.
      freeMobile: db.prepare<[string, number, number]>(
        'DELETE FROM members WHERE mobile = ? AND id <> ? AND seq < ?',
      ),
      byMobile: db.prepare<[string], MemberRow>('SELECT * FROM members WHERE mobile = ?'),
      byId: db.prepare<[number], MemberRow>('SELECT * FROM members WHERE id = ?'),
      byDigits: db.prepare<[string, string, number], MemberRow>(
        'SELECT * FROM members WHERE substr(mobile, -4) = ? AND mobile LIKE ? ORDER BY mobile LIMIT ?',
      ),
      byName: db.prepare<[string, string, number], MemberRow>(
        'SELECT * FROM members WHERE lower(name) >= ? AND lower(name) < ? ORDER BY lower(name) LIMIT ?',
      ),
      pendingFor: db.prepare<[string], { points: number | null }>(
        "SELECT sum(pending_points) AS points FROM outbox WHERE mobile = ? AND state = 'queued'",
      ),
      pendingEnrol: db.prepare<[string], OutboxDbRow>(
        "SELECT * FROM outbox WHERE mobile = ? AND kind = 'enrol' AND state = 'queued' ORDER BY n LIMIT 1",
      ),
      enqueue: db.prepare<[string, string, string, string, number, string]>(
        'INSERT INTO outbox (key, kind, body, mobile, pending_points, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      insertBill: db.prepare<[string, string, string, string, number, string]>(
        'INSERT INTO bills (bill_number, key, mobile, lines, points, taken_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      billByNumber: db.prepare<
        [string],
        { key: string; mobile: string; lines: string; points: number }
      >('SELECT key, mobile, lines, points FROM bills WHERE bill_number = ?'),
      queued: db.prepare<[number], OutboxDbRow>(
        "SELECT * FROM outbox WHERE state = 'queued' ORDER BY n LIMIT ?",
      ),
      outboxByKey: db.prepare<[string], OutboxDbRow>('SELECT * FROM outbox WHERE key = ?'),
      outboxAll: db.prepare<[], OutboxDbRow>('SELECT * FROM outbox ORDER BY n'),
      ack: db.prepare<[string]>("DELETE FROM outbox WHERE key = ? AND state = 'queued'"),
      refuse: db.prepare<[string, string]>(
        "UPDATE outbox SET state = 'refused', attempts = attempts + 1, last_error = ? WHERE key = ? AND state = 'queued'",
      ),
      failed: db.prepare<[string, string]>(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE key = ? AND state = 'queued'",
      ),
      counts: db.prepare<[], { state: string; n: number }>(
        'SELECT state, count(*) AS n FROM outbox GROUP BY state',
      ),
      memberCount: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM members'),
    };
    this.applyChangesTx = db.transaction((changes: readonly MemberState[], update: SyncFacts) => {
      let applied = 0;
      for (const m of changes) applied += this.upsertState(m);
      this.writeSyncFacts(update);
      return applied;
    });
  }

  close(): void {
    this.db.close();
  }

  // --- meta -------------------------------------------------------------------------------

  getMeta(key: string): string | undefined {
    return this.stmts.getMeta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.stmts.setMeta.run(key, value);
    if (key === 'rules') this.parsedRules = undefined;
    if (key === 'cursor') delete this.known.cursor;
    if (key === 'epoch') delete this.known.epoch;
  }

  /** Central's change number up to which this cache holds every change. */
  get cursor(): number {
    this.known.cursor ??= Number(this.getMeta('cursor') ?? '0');
    return this.known.cursor;
  }

  get epoch(): string | undefined {
    if (this.known.epoch === undefined) this.known.epoch = this.getMeta('epoch') ?? null;
    return this.known.epoch ?? undefined;
  }

  /**
   * Cursor and epoch as last committed by this store (read once, then kept in step with every
   * write: a push reads them several times). lastSyncAtMs throttles that fact to once a second.
   */
  private readonly known: { cursor?: number; epoch?: string | null; lastSyncAtMs?: number } = {};

  /** Writes cursor, epoch, rules and last sync inside a replication transaction. */
  private writeSyncFacts(update: SyncFacts): void {
    if (update.cursor !== this.known.cursor)
      this.stmts.setMeta.run('cursor', String(update.cursor));
    if (update.epoch !== this.known.epoch) this.stmts.setMeta.run('epoch', update.epoch);
    if (update.rules) {
      this.stmts.setMeta.run('rules', JSON.stringify(update.rules));
      // Read again (and cached) once the transaction has committed.
      this.parsedRules = undefined;
    }
    if (update.syncedAt) {
      const at = Date.parse(update.syncedAt);
      if (this.known.lastSyncAtMs === undefined || at - this.known.lastSyncAtMs >= 1_000) {
        this.stmts.setMeta.run('lastSyncAt', update.syncedAt);
        this.known.lastSyncAtMs = at;
      }
    }
  }

  /** The rules last received (the catalogue is apart: see product()), parsed once. */
  get rules(): StoredRules | undefined {
    if (this.parsedRules === undefined) {
      const raw = this.getMeta('rules');
      this.parsedRules = raw === undefined ? null : StoredRules.parse(JSON.parse(raw));
    }
    return this.parsedRules ?? undefined;
  }

  private parsedRules: StoredRules | null | undefined;

  /** The catalogue's product with this SKU (an indexed lookup, whatever the catalogue's size). */
  product(sku: string): ProductRule | undefined {
    const row = this.stmts.productBySku.get(sku);
    return row ? { sku: row.sku, name: row.name, categoryCode: row.category_code } : undefined;
  }

  /** The version of the catalogue in use (the last one fetched in full); undefined before any. */
  get catalogueVersion(): string | undefined {
    return this.getMeta('catalogueVersion');
  }

  /** A catalogue being fetched: its version and the SKU its next page starts after. */
  get catalogueStaging(): { version: string; afterSku: string } | undefined {
    const raw = this.getMeta('catalogueStaging');
    return raw === undefined
      ? undefined
      : (JSON.parse(raw) as { version: string; afterSku: string });
  }

  /**
   * Stores one page of a catalogue being fetched, in one transaction. The first page
   * (`fromStart`) clears what an earlier fetch left; a later page must be of the version being
   * staged. The last page (`hasMore` false) swaps the whole catalogue in with its version, in
   * the same transaction: until then product() answers from the previous complete catalogue.
   * Returns true when the catalogue was swapped in.
   */
  stageCataloguePage(page: CataloguePage, fromStart: boolean): boolean {
    return this.db
      .transaction(() => {
        const staging = this.catalogueStaging;
        if (fromStart) this.stmts.clearStaging.run();
        else if (staging?.version !== page.version) {
          throw new Error(
            `a catalogue page of version ${page.version} does not continue ${staging?.version ?? 'nothing'}`,
          );
        }
        this.stmts.stagePage.run(JSON.stringify(page.products));
        if (page.hasMore) {
          if (page.nextAfterSku === null)
            throw new Error('a catalogue page with more has no next SKU');
          this.stmts.setMeta.run(
            'catalogueStaging',
            JSON.stringify({ version: page.version, afterSku: page.nextAfterSku }),
          );
          return false;
        }
        this.stmts.clearProducts.run();
        this.stmts.fillProductsFromStaging.run();
        this.stmts.clearStaging.run();
        this.stmts.deleteMeta.run('catalogueStaging');
        this.stmts.setMeta.run('catalogueVersion', page.version);
        return true;
      })
      .immediate();
  }

  // --- replication ------------------------------------------------------------------------

  /**
   * Applies replicated states and moves the cursor in one transaction: a crash leaves either
   * both or neither. A state older than the row already held is skipped.
   */
  applyChanges(changes: readonly MemberState[], update: SyncFacts): number {
    return this.committed(update, () => this.applyChangesTx.immediate(changes, update));
  }

  /** Writes one state if it is newer than the row held (a mobile moves with the newer state). */
  private upsertState(m: MemberState): number {
    const row: MemberRow = {
      id: m.id,
      mobile: m.mobile,
      name: m.name,
      balance: m.balance,
      tier: m.tier,
      sms_consent: m.smsConsent ? 1 : 0,
      seq: m.seq,
      last_visit: m.lastVisitAt,
      merged_into: m.mergedIntoId ?? null,
    };
    const kept = this.stmts.updateState.run(row).changes;
    if (kept > 0) return kept;
    this.stmts.freeMobile.run(m.mobile, m.id, m.seq);
    return this.stmts.upsert.run(row).changes;
  }

  /**
   * Applies a pull's page (JSON text of state rows, see STATE_ROW) and moves the cursor, in one
   * transaction. SQLite reads the rows itself (json_each); STRICT columns and CHECKs refuse a
   * malformed row, and then nothing of the page is applied.
   */
  applyPage(statesJson: string, update: SyncFacts): number {
    const run = this.db.transaction(() => {
      let applied: number;
      try {
        applied = this.stmts.upsertPage.run(statesJson).changes;
      } catch (error) {
        // Only when a mobile number moved to another member (rare): the older holder gives it
        // up, then the page applies. The failed statement was undone; the transaction goes on.
        if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw error;
        this.stmts.freePageMobiles.run(statesJson);
        applied = this.stmts.upsertPage.run(statesJson).changes;
      }
      this.writeSyncFacts(update);
      return applied;
    });
    return this.committed(update, () => run.immediate());
  }

  /** For a bulk load into an empty cache: drops the lookup indexes (see LOOKUP_INDEXES). */
  dropLookupIndexes(): void {
    this.db.exec('DROP INDEX IF EXISTS members_last4; DROP INDEX IF EXISTS members_name_key;');
  }

  /** Whether both lookup indexes exist (false during a first bootstrap). */
  hasLookupIndexes(): boolean {
    const row = this.db
      .prepare<[], { n: number }>(
        "SELECT count(*) AS n FROM sqlite_master WHERE type = 'index' AND name IN ('members_last4', 'members_name_key')",
      )
      .get();
    return row?.n === 2;
  }

  /** Builds any lookup index that is missing. */
  ensureLookupIndexes(): void {
    for (const sql of LOOKUP_INDEXES) this.db.exec(sql);
  }

  /**
   * Forgets every replicated state and starts again from change 0 of `epoch`: for a central
   * restored from a backup, or a cursor central cannot serve. The outbox is kept.
   */
  rebuild(epoch: string): void {
    this.db
      .transaction(() => {
        this.db.exec('DELETE FROM members');
        this.stmts.setMeta.run('cursor', '0');
        this.stmts.setMeta.run('epoch', epoch);
      })
      .immediate();
    this.known.cursor = 0;
    this.known.epoch = epoch;
  }

  /** Runs a replication transaction; once it has committed, keeps its cursor and epoch. */
  private committed<T>(update: { cursor: number; epoch: string }, run: () => T): T {
    try {
      const result = run();
      this.known.cursor = update.cursor;
      this.known.epoch = update.epoch;
      return result;
    } catch (error) {
      // Rolled back: what the database holds is what counts; read it again when next asked.
      delete this.known.cursor;
      delete this.known.epoch;
      throw error;
    }
  }

  // --- lookup -----------------------------------------------------------------------------

  /** The member with this E.164 mobile: from the cache, or enrolled here and not yet sent. */
  findByMobile(e164: string): MemberView | undefined {
    const row = this.stmts.byMobile.get(e164);
    if (row) return this.view(this.holderOf(row));
    const enrol = this.stmts.pendingEnrol.get(e164);
    if (!enrol) return undefined;
    const body = JSON.parse(enrol.body) as { name: string; smsConsent: boolean };
    return {
      id: null,
      mobile: e164,
      name: body.name,
      balance: 0,
      pendingPoints: this.pendingPoints(e164),
      tier: 'base',
      smsConsent: body.smsConsent,
      seq: 0,
      lastVisitAt: null,
    };
  }

  findById(id: number): MemberView | undefined {
    const row = this.stmts.byId.get(id);
    return row ? this.view(row) : undefined;
  }

  /** Type-ahead: members whose mobile ends with these digits (at least 4). */
  findByLastDigits(digits: string, limit = 10): MemberView[] {
    if (!/^\d{4,15}$/.test(digits)) return [];
    return this.views(this.stmts.byDigits.all(digits.slice(-4), `%${digits}`, limit));
  }

  /** Type-ahead: members whose name starts with this text (at least 2 characters). */
  findByNamePrefix(prefix: string, limit = 10): MemberView[] {
    const key = foldName(prefix);
    if (key.length < 2) return [];
    return this.views(this.stmts.byName.all(key, prefixEnd(key), limit));
  }

  /** A record merged into another stands for that member (while its state is in the cache). */
  private holderOf(row: MemberRow): MemberRow {
    if (row.merged_into === null) return row;
    return this.stmts.byId.get(row.merged_into) ?? row;
  }

  /** Rows as the counter lists them: merged records replaced by their member, each once. */
  private views(rows: MemberRow[]): MemberView[] {
    const seen = new Set<number>();
    const out: MemberView[] = [];
    for (const row of rows.map((r) => this.holderOf(r))) {
      if (seen.has(row.id)) continue;
      seen.add(row.id);
      out.push(this.view(row));
    }
    return out;
  }

  /** Every member state held, in id order (for comparing with central). */
  allMembers(): MemberState[] {
    return this.db
      .prepare<[], MemberRow>('SELECT * FROM members ORDER BY id')
      .all()
      .map((r) => ({
        id: r.id,
        mobile: r.mobile,
        name: r.name,
        balance: r.balance,
        tier: r.tier,
        smsConsent: r.sms_consent === 1,
        seq: r.seq,
        lastVisitAt: r.last_visit,
        mergedIntoId: r.merged_into,
      }));
  }

  memberCount(): number {
    return this.stmts.memberCount.get()?.n ?? 0;
  }

  pendingPoints(e164: string): number {
    return this.stmts.pendingFor.get(e164)?.points ?? 0;
  }

  private view(r: MemberRow): MemberView {
    return {
      id: r.id,
      mobile: r.mobile,
      name: r.name,
      balance: r.balance,
      pendingPoints: this.pendingPoints(r.mobile),
      tier: r.tier,
      smsConsent: r.sms_consent === 1,
      seq: r.seq,
      lastVisitAt: r.last_visit,
    };
  }

  // --- outbox -----------------------------------------------------------------------------

  /** Commits a write to the outbox (durable on return). A key already queued is refused. */
  enqueue(item: {
    key: string;
    kind: 'sale' | 'enrol';
    body: unknown;
    mobile: string;
    pendingPoints: number;
    createdAt: string;
    /** A sale's bill, recorded in the same commit so that a retry finds it. */
    bill?: { billNumber: string; lines: unknown };
  }): void {
    this.db.pragma('synchronous = FULL');
    try {
      this.db.transaction(() => {
        this.stmts.enqueue.run(
          item.key,
          item.kind,
          JSON.stringify(item.body),
          item.mobile,
          item.pendingPoints,
          item.createdAt,
        );
        if (item.bill) {
          this.stmts.insertBill.run(
            item.bill.billNumber,
            item.key,
            item.mobile,
            JSON.stringify(item.bill.lines),
            item.pendingPoints,
            item.createdAt,
          );
        }
      })();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  /** A bill this counter took, if any. */
  bill(
    billNumber: string,
  ): { key: string; mobile: string; lines: string; points: number } | undefined {
    return this.stmts.billByNumber.get(billNumber);
  }

  /** The oldest queued items, in the order they were taken. */
  queued(limit: number): OutboxRow[] {
    return this.stmts.queued.all(limit).map(toOutboxRow);
  }

  outboxItem(key: string): OutboxRow | undefined {
    const row = this.stmts.outboxByKey.get(key);
    return row ? toOutboxRow(row) : undefined;
  }

  outbox(): OutboxRow[] {
    return this.stmts.outboxAll.all().map(toOutboxRow);
  }

  /** Applies one state central answered with (a redemption), if newer; the cursor stays. */
  applyState(state: MemberState): boolean {
    return this.db.transaction(() => this.upsertState(state)).immediate() > 0;
  }

  /** Records central's answers to one submit in one transaction. */
  settle(
    outcomes: readonly (
      | { key: string; fate: 'applied'; state?: MemberState }
      | { key: string; fate: 'refused'; error: unknown }
      | { key: string; fate: 'failed'; error: unknown }
    )[],
  ): void {
    this.db
      .transaction(() => {
        for (const o of outcomes) {
          if (o.fate === 'applied' && o.state) this.upsertState(o.state);
          if (o.fate === 'applied') this.stmts.ack.run(o.key);
          else if (o.fate === 'refused') this.stmts.refuse.run(JSON.stringify(o.error), o.key);
          else this.stmts.failed.run(JSON.stringify(o.error), o.key);
        }
      })
      .immediate();
  }

  /** A manager sends a refused item again (e.g. after fixing the category at central). */
  retry(key: string): boolean {
    return (
      this.db
        .prepare<[string]>(
          "UPDATE outbox SET state = 'queued', resolved_note = NULL WHERE key = ? AND state = 'refused'",
        )
        .run(key).changes > 0
    );
  }

  /** A manager sets a refused item aside, with a reason; the row stays as a record. */
  discard(key: string, note: string): boolean {
    return (
      this.db
        .prepare<[string, string]>(
          "UPDATE outbox SET state = 'discarded', resolved_note = ? WHERE key = ? AND state = 'refused'",
        )
        .run(note, key).changes > 0
    );
  }

  outboxCounts(): { queued: number; refused: number; discarded: number } {
    const out = { queued: 0, refused: 0, discarded: 0 };
    for (const r of this.stmts.counts.all()) {
      if (r.state === 'queued' || r.state === 'refused' || r.state === 'discarded')
        out[r.state] = r.n;
    }
    return out;
  }
}

function toOutboxRow(r: OutboxDbRow): OutboxRow {
  return {
    n: r.n,
    key: r.key,
    kind: r.kind,
    body: JSON.parse(r.body) as unknown,
    mobile: r.mobile,
    pendingPoints: r.pending_points,
    createdAt: r.created_at,
    state: r.state,
    attempts: r.attempts,
    lastError: r.last_error === null ? null : (JSON.parse(r.last_error) as unknown),
    resolvedNote: r.resolved_note,
  };
}

/** Applies the SQL files of migrations/terminal not yet applied, each in its own transaction. */
export function migrate(db: Database.Database): number {
  const files = fs
    .readdirSync(TERMINAL_MIGRATIONS)
    .filter((f) => /^\d{3}_[\w-]+\.sql$/.test(f))
    .sort();
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > files.length) {
    throw new Error(
      `The terminal's cache was made by a newer version (schema ${current}, this one knows ${files.length}); update this terminal.`,
    );
  }
  for (let i = current; i < files.length; i += 1) {
    const sql = fs.readFileSync(path.join(TERMINAL_MIGRATIONS, files[i] ?? ''), 'utf8');
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${i + 1}`);
    }).immediate();
  }
  return files.length - current;
}

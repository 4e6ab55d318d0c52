/**
 * Makes a chain's two years of history in PostgreSQL, fast: showrooms, categories and staff,
 * members with names and mobiles, and their sales (with lines), returns, redemptions (some
 * cancelled), birthday bonuses, manager adjustments, ledger entries with running balances and
 * SMS, as central would have written them; then the report rollups by the rebuild path, and
 * VACUUM ANALYZE. Members differ: a few buy every week, most a few times a year, a third stop.
 *
 *   node bench/chain-generator.ts --members 1000000 --entries 10000000 \
 *     --database-url postgres://postgres@127.0.0.1:5432/loyalty_bench_reports
 *
 * Rows go in with multi-row INSERT … SELECT FROM unnest(arrays) (no COPY client in the
 * dependencies), secondary indexes are dropped for the load and built again after it, and the
 * foreign-key triggers are skipped for the load (session_replication_role = replica, which needs
 * a superuser; the data is consistent by construction, and the check at the end recomputes every
 * balance from the ledger).
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { pointsForAmount } from '../shared/points/earn.ts';
import { migrateLatest, openDb } from '../central/db/connect.ts';
import { hashSecret } from '../central/staff/secrets.ts';
import { rebuildRollups } from '../central/reports/rollups.ts';
import { dayOf } from '../central/reports/days.ts';
import { nextDay, startOfDay } from '../central/time.ts';
import { createSeededRandom } from '../test/support/random.ts';

/** What to make. */
export interface GeneratorOptions {
  databaseUrl: string;
  members: number;
  /** Ledger entries to aim at (the result is within a few per cent). */
  entries: number;
  /** Days of history, ending yesterday (in the zone). */
  days: number;
  zone: string;
  seed: number;
  /** Share of sales that get an earn-notice SMS (the rest: no consent, or notices were off). */
  smsPerSale: number;
  log: (line: string) => void;
}

/** The admin the generator creates (the benchmark signs in with it). */
export const GENERATED_ADMIN = { username: 'admin', password: 'bench-admin-2026' } as const;

/** What a generated database holds, kept in meta 'generator'. */
export interface GeneratedChain {
  members: number;
  entriesTarget: number;
  entries: number;
  sales: number;
  firstDay: string;
  lastDay: string;
  zone: string;
  seconds: number;
}

const CITIES = [
  ['MUM', 'Mumbai', 6],
  ['DEL', 'New Delhi', 6],
  ['BLR', 'Bengaluru', 5],
  ['HYD', 'Hyderabad', 4],
  ['CHE', 'Chennai', 4],
  ['KOL', 'Kolkata', 4],
  ['PUN', 'Pune', 3],
  ['AHM', 'Ahmedabad', 3],
  ['JAI', 'Jaipur', 2],
  ['LKO', 'Lucknow', 2],
  ['IND', 'Indore', 1],
] as const;

/** Category: code, name, points per ₹100, typical line in rupees, share of lines. */
const CATEGORIES = [
  ['ELEC', 'Electrical', 2, 800, 20],
  ['LIGHT', 'Lighting', 3, 600, 14],
  ['FAN', 'Fans', 2, 2_500, 8],
  ['ELTR', 'Electronics', 1, 12_000, 10],
  ['MOB', 'Mobiles', 1, 15_000, 8],
  ['APPL', 'Appliances', 1, 20_000, 7],
  ['KIT', 'Kitchen', 2, 3_000, 9],
  ['BOOK', 'Books', 5, 450, 12],
  ['STAT', 'Stationery', 4, 150, 6],
  ['TOY', 'Toys', 3, 900, 3],
  ['ACC', 'Accessories', 3, 700, 2],
  ['SVC', 'Services', 0, 1_000, 1],
] as const;

const FIRST = [
  'Rajesh',
  'Priya',
  'Amit',
  'Sunita',
  'Vikram',
  'Anjali',
  'Rahul',
  'Kavita',
  'Suresh',
  'Neha',
  'Arjun',
  'Pooja',
  'Manoj',
  'Deepa',
  'Sanjay',
  'Meera',
  'Ravi',
  'Lakshmi',
  'Arun',
  'Divya',
  'Karthik',
  'Shreya',
  'Imran',
  'Fatima',
  'Joseph',
  'Mary',
  'Gurpreet',
  'Harpreet',
  'Aditya',
  'Nisha',
  'राजेश',
  'प्रिया',
  'अमित',
  'सुनीता',
  'विक्रम',
  'अंजलि',
  'राहुल',
  'कविता',
];
const LAST = [
  'Kumar',
  'Sharma',
  'Verma',
  'Singh',
  'Patel',
  'Reddy',
  'Nair',
  'Iyer',
  'Gupta',
  'Mehta',
  'Das',
  'Banerjee',
  'Khan',
  'Fernandes',
  'Joshi',
  'Rao',
  'Pillai',
  'Chopra',
  'Malhotra',
  'Agarwal',
  'कुमार',
  'शर्मा',
  'वर्मा',
  'सिंह',
];

/** Column name and PostgreSQL array type, for INSERT … SELECT FROM unnest. */
type Columns = readonly (readonly [string, string])[];

/** Accumulates rows column by column and sends them in batches of 20,000, in order. */
class Loader {
  private readonly columns: Columns;
  private readonly table: string;
  private readonly client: pg.Client;
  private data: unknown[][];
  private readonly sending: Promise<unknown>[] = [];
  private last: Promise<unknown> = Promise.resolve();
  rows = 0;

  constructor(client: pg.Client, table: string, columns: Columns) {
    this.client = client;
    this.table = table;
    this.columns = columns;
    this.data = columns.map(() => []);
  }

  add(...values: unknown[]): void {
    for (let i = 0; i < values.length; i += 1) (this.data[i] as unknown[]).push(values[i]);
    this.rows += 1;
    if ((this.data[0] as unknown[]).length >= 20_000) this.send();
  }

  private send(): void {
    const data = this.data;
    if ((data[0] as unknown[]).length === 0) return;
    this.data = this.columns.map(() => []);
    const names = this.columns.map(([n]) => n).join(', ');
    const unnest = this.columns.map(([, t], i) => `$${i + 1}::${t}[]`).join(', ');
    this.last = this.last.then(() =>
      this.client.query(
        `insert into ${this.table} (${names}) select * from unnest(${unnest})`,
        data,
      ),
    );
    this.sending.push(this.last);
  }

  /** Waits until at most `pending` batches are on their way (the generator's back-pressure). */
  async drain(pending = 1): Promise<void> {
    while (this.sending.length > pending) await this.sending.shift();
  }

  async finish(): Promise<void> {
    this.send();
    await this.drain(0);
  }
}

/** Indexes and unique constraints on `tables` other than primary keys: dropped, then rebuilt. */
async function dropSecondaryIndexes(client: pg.Client, tables: string[]): Promise<string[]> {
  const rows = (
    await client.query<{ table: string; name: string; def: string; con: string | null }>(
      `select t.relname as table, i.relname as name, pg_get_indexdef(i.oid) as def,
              (select pg_get_constraintdef(c.oid) from pg_constraint c
                where c.conindid = i.oid and c.contype = 'u') as con
         from pg_index x join pg_class i on i.oid = x.indexrelid
         join pg_class t on t.oid = x.indrelid
        where t.relname = any($1) and not x.indisprimary`,
      [tables],
    )
  ).rows;
  const restore: string[] = [];
  for (const r of rows) {
    if (r.con) {
      await client.query(`alter table ${r.table} drop constraint ${r.name}`);
      restore.push(`alter table ${r.table} add constraint ${r.name} ${r.con}`);
    } else {
      await client.query(`drop index ${r.name}`);
      restore.push(r.def);
    }
  }
  return restore;
}

function poisson(mean: number, random: () => number): number {
  if (mean > 30) {
    // Normal approximation (Box–Muller) for large means.
    const u = Math.max(random(), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * z));
  }
  const limit = Math.exp(-mean);
  let k = 0;
  let p = random();
  while (p > limit) {
    k += 1;
    p *= random();
  }
  return k;
}

/** Makes the chain; the database must be empty (migrated or not). */
export async function generateChain(options: GeneratorOptions): Promise<GeneratedChain> {
  const started = performance.now();
  const { log, zone } = options;
  const random = createSeededRandom(options.seed);
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;

  const db = openDb({ databaseUrl: options.databaseUrl, dataDir: '/tmp', poolMax: 2 });
  await migrateLatest(db);
  const existing = await db.knex('members').count({ n: '*' }).first();
  if (Number(existing?.n ?? 0) > 0) throw new Error('the database already has members');

  // The window: `days` days ending yesterday in the zone.
  const lastDay = dayOf(new Date(Date.now() - 86_400_000), zone);
  const dayStarts: number[] = [];
  let d = lastDay;
  for (let i = 0; i < options.days; i += 1) {
    dayStarts.unshift(startOfDay(d, zone).getTime());
    d = dayOf(new Date(startOfDay(d, zone).getTime() - 3_600_000), zone);
  }
  const firstDay = dayOf(new Date(dayStarts[0] as number), zone);
  const endMs = startOfDay(nextDay(lastDay), zone).getTime();
  const days = dayStarts.length;
  const since = new Date((dayStarts[0] as number) - 86_400_000 * 30);

  // Chain: showrooms, categories and rates, staff.
  log(`chain: ${CITIES.length} cities, ${CATEGORIES.length} categories (${elapsed()})`);
  const showrooms: {
    id: number;
    code: string;
    weight: number;
    manager: number;
    cashiers: number[];
  }[] = [];
  const adminHash = await hashSecret(GENERATED_ADMIN.password);
  const staffHash = await hashSecret('bench-staff-password');
  await db.knex('staff').insert({
    username: GENERATED_ADMIN.username,
    name: 'Head Office',
    role: 'admin',
    password_hash: adminHash,
    active: true,
    created_at: since,
  });
  for (const [city, cityName, count] of CITIES) {
    for (let n = 1; n <= count * 2 - 1; n += 1) {
      const code = `${city}-${String(n).padStart(2, '0')}`;
      const [row] = await db
        .knex('showrooms')
        .insert({ code, name: `${cityName} ${n}`, city: cityName, created_at: since })
        .returning('id');
      const id = (row as { id: number }).id;
      const staff = async (role: string, username: string) => {
        const [s] = await db
          .knex('staff')
          .insert({
            username,
            name: `${role === 'manager' ? 'Manager' : 'Cashier'} ${code}`,
            role,
            password_hash: staffHash,
            showroom_id: id,
            active: true,
            created_at: since,
          })
          .returning('id');
        return (s as { id: number }).id;
      };
      showrooms.push({
        id,
        code,
        weight: (count * 2) / n,
        manager: await staff('manager', `${code.toLowerCase()}.manager`),
        cashiers: [
          await staff('cashier', `${code.toLowerCase()}.c1`),
          await staff('cashier', `${code.toLowerCase()}.c2`),
        ],
      });
    }
  }
  const categories: { id: number; rate: number; rupees: number; weight: number }[] = [];
  for (const [code, name, rate, rupees, weight] of CATEGORIES) {
    const [row] = await db
      .knex('categories')
      .insert({ code, name, created_at: since })
      .returning('id');
    const id = (row as { id: number }).id;
    await db.knex('category_rates').insert({
      category_id: id,
      points_per_100_rupees: rate,
      effective_from: since,
      created_at: since,
    });
    categories.push({ id, rate, rupees, weight });
  }
  const pickWeighted = <T extends { weight: number }>(xs: T[]): (() => T) => {
    const total = xs.reduce((sum, x) => sum + x.weight, 0);
    let acc = 0;
    const cumulative = xs.map((x) => (acc += x.weight / total));
    return () => {
      const u = random();
      const i = cumulative.findIndex((c) => u <= c);
      return xs[i === -1 ? xs.length - 1 : i] as T;
    };
  };
  const pickShowroom = pickWeighted(showrooms);
  const pickCategory = pickWeighted(categories);

  // Members: when they enrol, where, how often they buy, whether (and when) they stop.
  const M = options.members;
  log(`members: planning ${M.toLocaleString('en-IN')} (${elapsed()})`);
  const enrolDay = new Uint16Array(M);
  const enrolMs = new Float64Array(M);
  const lastDayActive = new Uint16Array(M);
  const home = new Uint16Array(M);
  const second = new Int16Array(M).fill(-1);
  const weight = new Float64Array(M);
  const consent = new Uint8Array(M);
  const birthday = new Int16Array(M).fill(-1); // day of year 0..365, or -1
  let weightedDays = 0;
  for (let i = 0; i < M; i += 1) {
    // More members join later (the program grows).
    const e = Math.min(days - 1, Math.floor(days * Math.sqrt(random())));
    enrolDay[i] = e;
    enrolMs[i] = (dayStarts[e] as number) + (4.5 + random() * 10) * 3_600_000;
    const stops = random() < 0.35;
    lastDayActive[i] = stops ? e + Math.floor(random() * (days - e)) : days - 1;
    home[i] = showrooms.indexOf(pickShowroom());
    if (random() < 0.2) second[i] = showrooms.indexOf(pickShowroom());
    // Heavy-tailed: lognormal weights, a few members buy far more often than most.
    const u = Math.max(random(), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
    weight[i] = Math.exp(1.1 * z);
    consent[i] = random() < 0.85 ? 1 : 0;
    if (random() < 0.6) birthday[i] = Math.floor(random() * 365);
    weightedDays += (weight[i] as number) * ((lastDayActive[i] as number) - e + 1);
  }

  // How many sales: the entries target less the other kinds (about 16 % of all entries).
  const targetSales = Math.round(options.entries / 1.16);
  const perWeightedDay = targetSales / weightedDays;
  log(`sales: planning about ${targetSales.toLocaleString('en-IN')} (${elapsed()})`);
  const counts = new Uint32Array(days);
  const plannedMember: number[] = [];
  const plannedDay: number[] = [];
  for (let i = 0; i < M; i += 1) {
    const e = enrolDay[i] as number;
    const span = (lastDayActive[i] as number) - e + 1;
    // Most members enrol at the counter with their first bill.
    const atEnrol = random() < 0.8 ? 1 : 0;
    const n =
      atEnrol +
      poisson(Math.max(0, (weight[i] as number) * span * perWeightedDay - atEnrol), random);
    for (let k = 0; k < n; k += 1) {
      const day = k === 0 && atEnrol ? e : e + Math.floor(random() * span);
      plannedMember.push(i);
      plannedDay.push(day);
      counts[day] = (counts[day] as number) + 1;
    }
  }
  // Sales bucketed by day (a counting sort).
  const offsets = new Uint32Array(days + 1);
  for (let day = 0; day < days; day += 1)
    offsets[day + 1] = (offsets[day] as number) + (counts[day] as number);
  const byDay = new Int32Array(plannedMember.length);
  const fill = offsets.slice(0, days);
  for (let k = 0; k < plannedMember.length; k += 1) {
    const day = plannedDay[k] as number;
    byDay[fill[day] as number] = plannedMember[k] as number;
    fill[day] = (fill[day] as number) + 1;
  }
  plannedMember.length = 0;
  plannedDay.length = 0;

  // Birthdays by day of year.
  const birthdays: number[][] = Array.from({ length: 366 }, () => []);
  for (let i = 0; i < M; i += 1)
    if ((birthday[i] as number) >= 0) birthdays[birthday[i] as number]?.push(i);

  // Loading connections; foreign-key triggers off for the load.
  const clients: pg.Client[] = [];
  const client = async () => {
    const c = new pg.Client({ connectionString: options.databaseUrl });
    await c.connect();
    await c.query(`set session_replication_role = replica`);
    await c.query(`set synchronous_commit = off`);
    clients.push(c);
    return c;
  };
  const admin = await client();
  const bulkTables = [
    'members',
    'sales',
    'sale_lines',
    'sale_returns',
    'return_lines',
    'ledger_entries',
    'redemptions',
    'sms_outbox',
  ];
  log(`indexes: dropping secondary indexes for the load (${elapsed()})`);
  const restore = await dropSecondaryIndexes(admin, bulkTables);

  const sales = new Loader(await client(), 'sales', [
    ['id', 'bigint'],
    ['idempotency_key', 'text'],
    ['member_id', 'bigint'],
    ['showroom_id', 'int'],
    ['terminal_id', 'text'],
    ['staff_id', 'int'],
    ['bill_number', 'text'],
    ['sold_at', 'timestamptz'],
    ['recorded_at', 'timestamptz'],
    ['amount_paise', 'bigint'],
    ['points', 'int'],
  ]);
  const lines = new Loader(await client(), 'sale_lines', [
    ['id', 'bigint'],
    ['sale_id', 'bigint'],
    ['line_no', 'int'],
    ['sku', 'text'],
    ['category_id', 'int'],
    ['quantity', 'int'],
    ['amount_paise', 'bigint'],
    ['points_per_100_rupees', 'int'],
    ['points', 'int'],
  ]);
  const entries = new Loader(await client(), 'ledger_entries', [
    ['id', 'bigint'],
    ['member_id', 'bigint'],
    ['kind', 'text'],
    ['points', 'bigint'],
    ['balance_after', 'bigint'],
    ['sale_id', 'bigint'],
    ['return_id', 'bigint'],
    ['refers_to_entry_id', 'bigint'],
    ['idempotency_key', 'text'],
    ['showroom_id', 'int'],
    ['terminal_id', 'text'],
    ['staff_id', 'int'],
    ['reason', 'text'],
    ['created_at', 'timestamptz'],
  ]);
  const other = await client();
  const returns = new Loader(other, 'sale_returns', [
    ['id', 'bigint'],
    ['idempotency_key', 'text'],
    ['sale_id', 'bigint'],
    ['showroom_id', 'int'],
    ['staff_id', 'int'],
    ['reason', 'text'],
    ['recorded_at', 'timestamptz'],
    ['amount_paise', 'bigint'],
    ['points', 'int'],
  ]);
  const returnLines = new Loader(other, 'return_lines', [
    ['id', 'bigint'],
    ['return_id', 'bigint'],
    ['sale_line_id', 'bigint'],
    ['quantity', 'int'],
    ['amount_paise', 'bigint'],
    ['points', 'int'],
  ]);
  const redemptions = new Loader(other, 'redemptions', [
    ['id', 'bigint'],
    ['member_id', 'bigint'],
    ['showroom_id', 'int'],
    ['terminal_id', 'text'],
    ['bill_number', 'text'],
    ['bill_amount_paise', 'bigint'],
    ['points', 'int'],
    ['value_paise', 'bigint'],
    ['status', 'text'],
    ['requested_at', 'timestamptz'],
    ['confirmed_at', 'timestamptz'],
    ['cancelled_at', 'timestamptz'],
    ['balance_after', 'bigint'],
  ]);
  const sms = new Loader(await client(), 'sms_outbox', [
    ['id', 'bigint'],
    ['kind', 'text'],
    ['dedupe_key', 'text'],
    ['member_id', 'bigint'],
    ['mobile', 'text'],
    ['template', 'text'],
    ['text', 'text'],
    ['variables', 'text'],
    ['unicode', 'boolean'],
    ['segments', 'int'],
    ['status', 'text'],
    ['attempts', 'int'],
    ['created_at', 'timestamptz'],
    ['next_attempt_at', 'timestamptz'],
    ['expires_at', 'timestamptz'],
    ['sent_at', 'timestamptz'],
    ['provider', 'text'],
    ['last_error', 'text'],
    ['terminal_id', 'text'],
    ['redemption_id', 'bigint'],
  ]);

  const mobileOf = (i: number) => `+919${String(100_000_000 + i * 7 + 3).slice(-9)}`;
  const iso = (ms: number) => new Date(ms).toISOString();
  const key = (prefix: string, id: number) => `${prefix}${id.toString(36).padStart(8, '0')}`;
  const balance = new Int32Array(M);
  const lastVisit = new Float64Array(M);
  let saleId = 0;
  let lineId = 0;
  let entryId = 0;
  let returnId = 0;
  let returnLineId = 0;
  let redemptionId = 0;
  let smsId = 0;
  const smsStatus = () => {
    const u = random();
    return u < 0.95
      ? 'sent'
      : u < 0.97
        ? 'failed'
        : u < 0.98
          ? 'refused'
          : u < 0.99
            ? 'expired'
            : 'unknown';
  };
  const addSms = (
    kind: string,
    member: number,
    atMs: number,
    text: string,
    redemption: number | null,
    terminal: string | null,
  ) => {
    smsId += 1;
    const status = smsStatus();
    sms.add(
      smsId,
      kind,
      key(`${kind}:`, smsId),
      member + 1,
      mobileOf(member),
      kind,
      text,
      '{}',
      false,
      1,
      status,
      1,
      iso(atMs),
      iso(atMs),
      iso(atMs + 86_400_000),
      status === 'sent' ? iso(atMs + 2_000) : null,
      'dev',
      status === 'sent' ? null : `provider said ${status}`,
      terminal,
      redemption,
    );
  };
  const entry = (
    member: number,
    kind: string,
    points: number,
    atMs: number,
    refs: {
      sale?: number;
      ret?: number;
      refersTo?: number;
      key: string;
      showroom: number | null;
      terminal: string | null;
      staff: number | null;
      reason: string | null;
    },
  ) => {
    entryId += 1;
    balance[member] = (balance[member] as number) + points;
    entries.add(
      entryId,
      member + 1,
      kind,
      points,
      balance[member],
      refs.sale ?? null,
      refs.ret ?? null,
      refs.refersTo ?? null,
      refs.key,
      refs.showroom,
      refs.terminal,
      refs.staff,
      refs.reason,
      iso(atMs),
    );
    return entryId;
  };
  interface Pending {
    sale: number;
    member: number;
    showroom: number;
    points: number;
    earnEntry: number | null;
    lines: { id: number; quantity: number; amount: number; points: number }[];
  }
  const returnsByDay: Pending[][] = Array.from({ length: days }, () => []);

  const loaders = [sales, lines, entries, returns, returnLines, redemptions, sms];
  log(`history: ${days} days from ${firstDay} to ${lastDay} (${elapsed()})`);
  for (let day = 0; day < days; day += 1) {
    const dayStart = dayStarts[day] as number;
    // The day's bills in time order (10:00–21:00 local, after the member enrolled).
    const from = offsets[day] as number;
    const to = offsets[day + 1] as number;
    const todays: { member: number; atMs: number }[] = [];
    for (let k = from; k < to; k += 1) {
      const member = byDay[k] as number;
      let atMs = dayStart + (4.5 + random() * 11) * 3_600_000;
      if (day === enrolDay[member] && atMs <= (enrolMs[member] as number))
        atMs = (enrolMs[member] as number) + 60_000 + random() * 600_000;
      todays.push({ member, atMs: Math.min(atMs, dayStart + 86_399_000) });
    }
    todays.sort((a, b) => a.atMs - b.atMs);

    // Returns due today, at the showroom of the sale, in the afternoon.
    for (const p of returnsByDay[day] ?? []) {
      returnId += 1;
      const atMs = dayStart + (9 + random() * 3) * 3_600_000;
      const s = showrooms[p.showroom] as (typeof showrooms)[number];
      const amount = p.lines.reduce((sum, l) => sum + l.amount, 0);
      const rkey = key('r', returnId);
      returns.add(returnId, rkey, p.sale, s.id, s.manager, 'faulty', iso(atMs), amount, p.points);
      for (const l of p.lines) {
        returnLineId += 1;
        returnLines.add(returnLineId, returnId, l.id, l.quantity, l.amount, l.points);
      }
      if (p.points !== 0) {
        entry(p.member, 'reverse', -p.points, atMs, {
          sale: p.sale,
          ret: returnId,
          refersTo: p.earnEntry ?? undefined,
          key: rkey,
          showroom: s.id,
          terminal: null,
          staff: s.manager,
          reason: 'faulty',
        });
      }
    }

    for (const { member, atMs } of todays) {
      const sIndex =
        (second[member] as number) >= 0 && random() < 0.3
          ? (second[member] as number)
          : (home[member] as number);
      const s = showrooms[sIndex] as (typeof showrooms)[number];
      const terminal = `${s.code}-T${1 + Math.floor(random() * 2)}`;
      const cashier = s.cashiers[Math.floor(random() * 2)] as number;
      const n = random() < 0.6 ? 1 : random() < 0.7 ? 2 : 3;
      saleId += 1;
      const skey = key('s', saleId);
      const bill = key('B', saleId);
      let amount = 0;
      let points = 0;
      const made: Pending['lines'] = [];
      for (let l = 1; l <= n; l += 1) {
        const c = pickCategory();
        const quantity = random() < 0.8 ? 1 : 2 + Math.floor(random() * 3);
        const u = Math.max(random(), 1e-12);
        const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
        const linePaise = Math.min(
          50_00_000_00,
          Math.max(100, Math.round(c.rupees * 100 * quantity * Math.exp(0.6 * z))),
        );
        const linePoints = pointsForAmount(linePaise, c.rate);
        lineId += 1;
        lines.add(
          lineId,
          saleId,
          l,
          `SKU-${c.id}-${Math.floor(random() * 500)}`,
          c.id,
          quantity,
          linePaise,
          c.rate,
          linePoints,
        );
        made.push({ id: lineId, quantity, amount: linePaise, points: linePoints });
        amount += linePaise;
        points += linePoints;
      }
      // A redemption at this bill, when the member has enough points (OTP sent, some cancelled).
      if ((balance[member] as number) >= 100 && random() < 0.14) {
        const redeem = Math.min(balance[member] as number, Math.floor((amount * 0.5) / 100));
        if (redeem >= 100) {
          redemptionId += 1;
          const rAt = atMs - 120_000;
          addSms('otp', member, rAt - 60_000, 'Your OTP is ******', redemptionId, terminal);
          const cancelled = random() < 0.05;
          const redeemEntry = entry(member, 'redeem', -redeem, rAt, {
            key: `~redeem:${redemptionId}`,
            showroom: s.id,
            terminal,
            staff: null,
            reason: `bill ${bill}`,
          });
          if (cancelled) {
            entry(member, 'reverse', redeem, rAt + 30_000, {
              refersTo: redeemEntry,
              key: `~redeem-cancel:${redemptionId}`,
              showroom: s.id,
              terminal,
              staff: null,
              reason: `redemption on bill ${bill} cancelled`,
            });
          }
          redemptions.add(
            redemptionId,
            member + 1,
            s.id,
            terminal,
            bill,
            amount,
            redeem,
            redeem * 100,
            cancelled ? 'cancelled' : 'confirmed',
            iso(rAt - 60_000),
            iso(rAt),
            cancelled ? iso(rAt + 30_000) : null,
            balance[member],
          );
        }
      }
      sales.add(
        saleId,
        skey,
        member + 1,
        s.id,
        terminal,
        cashier,
        bill,
        iso(atMs - 30_000),
        iso(atMs),
        amount,
        points,
      );
      let earnEntry: number | null = null;
      if (points > 0) {
        earnEntry = entry(member, 'earn', points, atMs, {
          sale: saleId,
          key: skey,
          showroom: s.id,
          terminal,
          staff: cashier,
          reason: null,
        });
        if (consent[member] && random() < options.smsPerSale / 0.85) {
          addSms('earn', member, atMs, `You earned ${points} points`, null, null);
        }
      }
      lastVisit[member] = atMs - 30_000;
      if (random() < 0.022) {
        const due = day + 1 + Math.floor(random() * 20);
        if (due < days) {
          returnsByDay[due]?.push({
            sale: saleId,
            member,
            showroom: sIndex,
            points,
            earnEntry,
            lines: made,
          });
        }
      }
      // Now and then a manager's adjustment, never below zero.
      if (random() < 0.012) {
        const up = random() < 0.7;
        const adjust = up
          ? 1 + Math.floor(random() * 100)
          : -Math.min(balance[member] as number, 1 + Math.floor(random() * 50));
        if (adjust !== 0) {
          entry(member, 'adjust', adjust, atMs + 600_000, {
            key: key('a', entryId + 1),
            showroom: s.id,
            terminal: null,
            staff: s.manager,
            reason: 'goodwill: late delivery',
          });
        }
      }
    }
    returnsByDay[day] = [];
    for (const loader of loaders) await loader.drain(2);

    // Birthday bonuses at 09:00 local, to members enrolled, still buying, who consented.
    const doy =
      Math.floor((dayStart - Date.UTC(new Date(dayStart).getUTCFullYear(), 0, 1)) / 86_400_000) %
      365;
    for (const member of birthdays[doy] ?? []) {
      if (
        (enrolDay[member] as number) >= day ||
        (lastDayActive[member] as number) < day ||
        !consent[member]
      )
        continue;
      if (random() > 0.5) continue;
      const atMs = dayStart + 3.5 * 3_600_000;
      entry(member, 'bonus', 50, atMs, {
        key: `~wish:birthday:${member + 1}:${day}`,
        showroom: null,
        terminal: null,
        staff: null,
        reason: 'birthday',
      });
      addSms('birthday', member, atMs, 'Happy birthday! 50 points for you', null, null);
    }
    if (day % 30 === 0 || day === days - 1) {
      log(
        `  day ${day + 1}/${days}: ${saleId.toLocaleString('en-IN')} sales, ${entryId.toLocaleString('en-IN')} entries (${elapsed()})`,
      );
    }
  }
  for (const loader of loaders) await loader.finish();

  // Members last: their balances and last visits are known now.
  log(`members: writing ${M.toLocaleString('en-IN')} (${elapsed()})`);
  const members = new Loader(admin, 'members', [
    ['id', 'bigint'],
    ['mobile', 'text'],
    ['name', 'text'],
    ['birthday', 'text'],
    ['sms_consent', 'boolean'],
    ['consent_at', 'timestamptz'],
    ['consent_showroom_id', 'int'],
    ['enrolled_showroom_id', 'int'],
    ['enrolled_at', 'timestamptz'],
    ['balance', 'bigint'],
    ['tier', 'text'],
    ['seq', 'bigint'],
    ['updated_at', 'timestamptz'],
    ['last_visit_at', 'timestamptz'],
  ]);
  for (let i = 0; i < M; i += 1) {
    const s = (showrooms[home[i] as number] as (typeof showrooms)[number]).id;
    const b = birthday[i] as number;
    const birth =
      b < 0
        ? null
        : new Date(Date.UTC(1960 + Math.floor(random() * 45), 0, 1 + b)).toISOString().slice(0, 10);
    const enrolled = iso(enrolMs[i] as number);
    members.add(
      i + 1,
      mobileOf(i),
      `${FIRST[Math.floor(random() * FIRST.length)]} ${LAST[Math.floor(random() * LAST.length)]}`,
      birth,
      consent[i] === 1,
      enrolled,
      s,
      s,
      enrolled,
      balance[i],
      'base',
      i + 1,
      enrolled,
      lastVisit[i] ? iso(lastVisit[i] as number) : null,
    );
    if (i % 20_000 === 0) await members.drain(2);
  }
  await members.finish();

  log(`sequences and indexes: ${restore.length} indexes to build (${elapsed()})`);
  await admin.query(`set maintenance_work_mem = '1GB'`);
  for (const [table, id] of [
    ['members', M],
    ['sales', saleId],
    ['sale_lines', lineId],
    ['ledger_entries', entryId],
    ['sale_returns', returnId],
    ['return_lines', returnLineId],
    ['redemptions', redemptionId],
    ['sms_outbox', smsId],
  ] as const) {
    await admin.query(
      `select setval(pg_get_serial_sequence('${table}', 'id'), greatest($1::bigint, 1))`,
      [id],
    );
  }
  await admin.query('update change_seq set head = $1 where id = 1', [M]);
  for (const sql of restore) {
    const t = performance.now();
    await admin.query(sql);
    log(`  ${sql.slice(0, 90)}… ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  for (const c of clients) await c.end();

  log(`rollups: rebuilding from the ledger (${elapsed()})`);
  await rebuildRollups(db, zone, (step, ms) => {
    log(`  ${step}: ${(ms / 1000).toFixed(1)} s`);
  });
  log(`vacuum analyze (${elapsed()})`);
  await db.knex.raw('vacuum analyze');
  const chain: GeneratedChain = {
    members: M,
    entriesTarget: options.entries,
    entries: entryId,
    sales: saleId,
    firstDay,
    lastDay,
    zone,
    seconds: Math.round((performance.now() - started) / 1000),
  };
  await db
    .knex('meta')
    .insert({ key: 'generator', value: JSON.stringify(chain) })
    .onConflict('key')
    .merge();
  await db.knex.destroy();
  log(
    `done: ${M.toLocaleString('en-IN')} members, ${saleId.toLocaleString('en-IN')} sales, ${lineId.toLocaleString('en-IN')} lines, ${entryId.toLocaleString('en-IN')} entries, ${returnId.toLocaleString('en-IN')} returns, ${redemptionId.toLocaleString('en-IN')} redemptions, ${smsId.toLocaleString('en-IN')} SMS in ${chain.seconds} s; last day ${lastDay} (${endMs > Date.now() ? 'today' : 'yesterday'} ends the window)`,
  );
  return chain;
}

/** What a database holds from an earlier run, if it was generated. */
export async function generatedChain(databaseUrl: string): Promise<GeneratedChain | undefined> {
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    const r = await client.query<{ value: string }>(
      `select value from meta where key = 'generator'`,
    );
    const value = r.rows[0]?.value;
    return value ? (JSON.parse(value) as GeneratedChain) : undefined;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      members: { type: 'string', default: '1000000' },
      entries: { type: 'string', default: '10000000' },
      days: { type: 'string', default: '730' },
      'database-url': { type: 'string' },
      zone: { type: 'string', default: 'Asia/Kolkata' },
      seed: { type: 'string', default: '20261126' },
      'sms-per-sale': { type: 'string', default: '0.3' },
    },
  });
  if (!values['database-url']) {
    console.error(
      'Usage: node bench/chain-generator.ts --members N --entries N --database-url URL',
    );
    process.exit(2);
  }
  await generateChain({
    databaseUrl: values['database-url'],
    members: Number(values.members),
    entries: Number(values.entries),
    days: Number(values.days),
    zone: values.zone,
    seed: Number(values.seed),
    smsPerSale: Number(values['sms-per-sale']),
    log: (line) => {
      console.log(line);
    },
  });
}

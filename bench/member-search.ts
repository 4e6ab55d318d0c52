/**
 * Member search in the console over a generated chain of 1,000,000 members: by whole mobile,
 * by last digits and by name (start of the name, or of a later word), through the same code
 * the route calls (searchMembers), beside an exact lookup by the unique mobile index in the
 * same run. PostgreSQL (database loyalty_bench_members, kept for inspection), then SQLite.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrateLatest, openDb, type Db } from '../central/db/connect.ts';
import { searchMembers } from '../central/db/member-admin-store.ts';
import { readSearchTerm, type MemberSearchTerm } from '../shared/protocol/members-admin.ts';
import { PG_ADMIN_URL } from '../test/support/postgres.ts';
import { median, percentile, round } from './support.ts';

const FIRST = [
  'Rajesh',
  'Raj',
  'Rahul',
  'Ravi',
  'Ramesh',
  'Rakesh',
  'Anita',
  'Sunita',
  'Priya',
  'Pooja',
  'Amit',
  'Sanjay',
  'Vijay',
  'Suresh',
  'Mahesh',
  'Deepak',
  'Kavita',
  'Meena',
  'Lakshmi',
  'Gita',
  'Arjun',
  'Karan',
  'Nikhil',
  'Rohit',
  'Sneha',
  'Neha',
  'Asha',
  'Usha',
  'Farah',
  'Imran',
  'Joseph',
  'Mary',
  'Harpreet',
  'Gurpreet',
  'Venkat',
  'Srinivas',
  'Anil',
  'Sunil',
  'Manoj',
  'Ajay',
];
const MIDDLE = ['Kumar', 'Prasad', 'Lal', 'Devi', 'Chandra', 'Mohan'];
const LAST = [
  'Sharma',
  'Verma',
  'Gupta',
  'Singh',
  'Kumar',
  'Patel',
  'Shah',
  'Mehta',
  'Iyer',
  'Nair',
  'Menon',
  'Reddy',
  'Rao',
  'Naidu',
  'Das',
  'Bose',
  'Banerjee',
  'Mukherjee',
  'Khan',
  'Sheikh',
  "D'Souza",
  'Fernandes',
  'Joshi',
  'Kulkarni',
  'Deshpande',
  'Pillai',
  'Malhotra',
  'Kapoor',
  'Chopra',
  'Gill',
];
const HINDI_FIRST = ['राजेश', 'सुनीता', 'अमित', 'प्रिया', 'विजय', 'कविता', 'राहुल', 'गीता'];
const HINDI_LAST = ['शर्मा', 'वर्मा', 'गुप्ता', 'सिंह', 'कुमार', 'यादव'];

const sqlArray = (values: string[]) =>
  `array[${values.map((v) => `'${v.replaceAll("'", "''")}'`).join(',')}]`;

/** i → a unique valid Indian mobile: 7919 is coprime with 10^9, so the map is one to one. */
const mobileOf = (i: number) => `+919${String((i * 7919) % 1_000_000_000).padStart(9, '0')}`;

/** The name generator, the same in both dialects: 1 in 10 Hindi, 1 in 4 with a middle name. */
function nameSql(dialect: 'pg' | 'sqlite'): string {
  const pick = (list: string[], index: string) =>
    dialect === 'pg'
      ? `(${sqlArray(list)})[(${index}) % ${list.length} + 1]`
      : `(select value from json_each('${JSON.stringify(list).replaceAll("'", "''")}') where key = (${index}) % ${list.length})`;
  const cat = dialect === 'pg' ? '||' : '||';
  return `case when i % 10 = 0
      then ${pick(HINDI_FIRST, 'i / 10')} ${cat} ' ' ${cat} ${pick(HINDI_LAST, 'i / 7')}
      else ${pick(FIRST, 'i')} ${cat}
           case when i % 4 = 1 then ' ' ${cat} ${pick(MIDDLE, 'i / 3')} else '' end ${cat}
           ' ' ${cat} ${pick(LAST, 'i / 41')}
    end`;
}

async function generatePg(db: Db, count: number): Promise<void> {
  await db.knex.raw(
    `insert into members (mobile, name, sms_consent, consent_at, enrolled_at, balance, tier, seq,
                          updated_at, enrolled_showroom_id, consent_showroom_id)
     select '+919' || lpad(((i::bigint * 7919) % 1000000000)::text, 9, '0'), ${nameSql('pg')},
            i % 3 <> 0, now(), now() - (i % 700) * interval '1 day', (i * 37) % 5000, 'base', i,
            now(), null, null
       from generate_series(1, ${count}) as i`,
  );
  await db.knex.raw(`update change_seq set head = ${count} where id = 1`);
  await db.knex.raw('vacuum analyze members');
}

async function generateSqlite(db: Db, count: number): Promise<void> {
  const now = new Date().toISOString();
  await db.knex.raw(
    `with recursive n(i) as (select 1 union all select i + 1 from n where i < ${count})
     insert into members (mobile, name, sms_consent, consent_at, enrolled_at, balance, tier, seq,
                          updated_at)
     select '+919' || substr('000000000' || ((i * 7919) % 1000000000), -9), ${nameSql('sqlite')},
            i % 3 <> 0, '${now}', '${now}', (i * 37) % 5000, 'base', i, '${now}'
       from n`,
  );
  await db.knex.raw(`update change_seq set head = ${count} where id = 1`);
  await db.knex.raw('analyze');
}

interface Case {
  label: string;
  /** Search texts, one per query (drawn from the generated members). */
  texts: string[];
}

function cases(count: number, queries: number): Case[] {
  const some = (f: (k: number) => string) =>
    Array.from({ length: queries }, (_, k) => f(Math.floor(((k + 1) * count) / (queries + 1))));
  return [
    { label: 'whole mobile (exact)', texts: some((i) => mobileOf(i).slice(3)) },
    { label: 'last 4 digits', texts: some((i) => mobileOf(i).slice(-4)) },
    { label: 'last 6 digits', texts: some((i) => mobileOf(i).slice(-6)) },
    {
      label: 'name start, 2 letters (many match)',
      texts: some((i) => (FIRST[i % FIRST.length] ?? 'Ra').slice(0, 2)),
    },
    {
      label: 'name start, first name',
      texts: some((i) => (FIRST[i % FIRST.length] ?? 'Raj').toLowerCase()),
    },
    {
      label: 'name start, first + part of last',
      texts: some(
        (i) =>
          `${FIRST[i % FIRST.length] ?? ''} ${(LAST[(i * 7) % LAST.length] ?? '').slice(0, 3)}`,
      ),
    },
    {
      label: 'later word only (surname start)',
      texts: some((i) => (LAST[i % LAST.length] ?? 'Sha').slice(0, 4)),
    },
    { label: 'Hindi name start', texts: some((i) => HINDI_FIRST[i % HINDI_FIRST.length] ?? '') },
    { label: 'no match at all', texts: some(() => 'Zyxw') },
  ];
}

/** One kind of search, timed. */
export interface Figures {
  label: string;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  hitsMedian: number;
}

async function time(
  queries: string[],
  run: (text: string) => Promise<number>,
): Promise<{ ms: number[]; hits: number[] }> {
  for (const text of queries.slice(0, 3)) await run(text); // warm the cache
  const ms: number[] = [];
  const hits: number[] = [];
  for (const text of queries) {
    const started = performance.now();
    hits.push(await run(text));
    ms.push(performance.now() - started);
  }
  return { ms, hits };
}

function summarise(label: string, r: { ms: number[]; hits: number[] }): Figures {
  const sorted = [...r.ms].sort((a, b) => a - b);
  return {
    label,
    p50Ms: round(median(sorted)),
    p95Ms: round(percentile(sorted, 95)),
    maxMs: round(sorted.at(-1) ?? 0),
    hitsMedian: median([...r.hits].sort((a, b) => a - b)),
  };
}

/**
 * Member search timed on any chain's database (another benchmark's generated chain, say): the
 * texts are drawn from `queries` members spread over the table, read as a head-office user
 * would type them. The first row is the unique-index baseline.
 */
export async function memberSearchFigures(db: Db, queries: number): Promise<Figures[]> {
  const bounds: { lo: number | string | null; hi: number | string | null } | undefined = await db
    .knex('members')
    .first(db.knex.raw('min(id) as lo'), db.knex.raw('max(id) as hi'));
  const lo = Number(bounds?.lo ?? 0);
  const hi = Number(bounds?.hi ?? 0);
  const ids = Array.from({ length: queries }, (_, k) =>
    Math.floor(lo + ((k + 1) * (hi - lo)) / (queries + 1)),
  );
  const rows: { mobile: string; name: string }[] = await db
    .knex('members')
    .whereIn('id', ids)
    .select('mobile', 'name');
  const words = (name: string) => name.split(' ').filter((w) => /^[\p{L}\p{M}]{2,}$/u.test(w));
  const texts = {
    'whole mobile (exact)': rows.map((r) => r.mobile.slice(3)),
    'last 4 digits': rows.map((r) => r.mobile.slice(-4)),
    'name start, first word': rows.flatMap((r) => words(r.name).slice(0, 1)),
    'later word only (3 letters)': rows.flatMap((r) =>
      words(r.name)
        .slice(1, 2)
        .map((w) => w.slice(0, 3)),
    ),
    'no match at all': rows.map(() => 'Zyxw'),
  };
  const out: Figures[] = [];
  out.push(
    summarise(
      'baseline: unique-index lookup by mobile',
      await time(
        rows.map((r) => r.mobile),
        async (mobile) => ((await db.knex('members').where('mobile', mobile).first('id')) ? 1 : 0),
      ),
    ),
  );
  for (const [label, list] of Object.entries(texts)) {
    const usable = list.filter((t) => !('error' in readSearchTerm(t)));
    if (usable.length === 0) continue;
    out.push(
      summarise(
        label,
        await time(usable, async (t) => {
          const term = readSearchTerm(t) as MemberSearchTerm;
          return (await searchMembers(db, term, 20)).members.length;
        }),
      ),
    );
  }
  return out;
}

async function measure(db: Db, count: number, queries: number): Promise<Figures[]> {
  const out: Figures[] = [];
  const baseline = await time(
    Array.from({ length: queries }, (_, k) =>
      mobileOf(Math.floor(((k + 1) * count) / (queries + 1))),
    ),
    async (mobile) => ((await db.knex('members').where('mobile', mobile).first('id')) ? 1 : 0),
  );
  out.push(summarise('baseline: unique-index lookup by mobile', baseline));
  for (const c of cases(count, queries)) {
    const terms = c.texts.map((t) => {
      const term = readSearchTerm(t);
      if ('error' in term) throw new Error(`bad search text ${t}: ${term.error}`);
      return term;
    });
    const byText = new Map<string, MemberSearchTerm>(
      c.texts.map((t, k) => [t, terms[k] as MemberSearchTerm]),
    );
    const r = await time(c.texts, async (t) => {
      const found = await searchMembers(db, byText.get(t) as MemberSearchTerm, 20);
      return found.members.length;
    });
    out.push(summarise(c.label, r));
  }
  return out;
}

/** What PostgreSQL does for each kind of search (index names), printed for the record. */
async function plans(db: Db): Promise<Record<string, string>> {
  const explain = async (sql: string, bindings: unknown[]) => {
    const r: { rows: { 'QUERY PLAN': string }[] } = await db.knex.raw(
      `explain ${sql}`,
      bindings as never,
    );
    const text = r.rows.map((x) => x['QUERY PLAN']).join('\n');
    const used = [...text.matchAll(/using (\w+)|Seq Scan on (\w+)/g)].map((m) =>
      m[1] ? m[1] : `seq scan of ${m[2] ?? '?'}`,
    );
    return [...new Set(used)].join(', ');
  };
  return {
    suffix: await explain(
      `select id from members m where reverse(m.mobile) like ? order by m.mobile limit 21`,
      ['9137%'],
    ),
    namePrefix: await explain(
      `select id from members m where lower(m.name) collate "C" like ? order by lower(m.name) collate "C", m.id limit 21`,
      ['raj%'],
    ),
    nameWord: await explain(`select id from members m where lower(m.name) like ? limit 21`, [
      '% kulk%',
    ]),
  };
}

/** Prints figures as a table under `title`. */
export function print(title: string, figures: Figures[]): void {
  console.log(`\n${title}`);
  console.log('search                                   p50 ms   p95 ms   max ms   hits (median)');
  for (const f of figures) {
    console.log(
      `${f.label.padEnd(40)} ${String(f.p50Ms).padStart(7)} ${String(f.p95Ms).padStart(8)} ${String(f.maxMs).padStart(8)}   ${f.hitsMedian}`,
    );
  }
}

export async function run(quick: boolean): Promise<void> {
  const count = quick ? 20_000 : 1_000_000;
  const queries = quick ? 10 : 100;
  const dbName = quick ? `loyalty_bench_members_quick_${process.pid}` : 'loyalty_bench_members';

  // PostgreSQL: a database of its own, recreated each run.
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`drop database if exists ${dbName} with (force)`);
  await admin.query(`create database ${dbName}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${dbName}`;
  const pgDb = openDb({ databaseUrl: url.toString(), dataDir: os.tmpdir(), poolMax: 2 });
  await migrateLatest(pgDb);
  let started = performance.now();
  await generatePg(pgDb, count);
  const pgGenerateS = round((performance.now() - started) / 1000, 1);
  const pgFigures = await measure(pgDb, count, queries);
  const pgPlans = await plans(pgDb);
  // The texts-from-the-table variant other benchmarks call; quick mode checks it still works.
  if (quick)
    print('memberSearchFigures (texts drawn from the table)', await memberSearchFigures(pgDb, 10));
  await pgDb.knex.destroy();
  if (quick) {
    const c = new pg.Client({ connectionString: PG_ADMIN_URL });
    await c.connect();
    await c.query(`drop database if exists ${dbName} with (force)`);
    await c.end();
  }
  print(
    `PostgreSQL, ${count.toLocaleString('en-IN')} members (generated in ${pgGenerateS} s)`,
    pgFigures,
  );
  console.log('plans:', pgPlans);

  // SQLite: the same members in a temporary data folder.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-bench-members-'));
  const liteDb = openDb({ dataDir: dir });
  await migrateLatest(liteDb);
  started = performance.now();
  await generateSqlite(liteDb, count);
  const liteGenerateS = round((performance.now() - started) / 1000, 1);
  const liteFigures = await measure(liteDb, count, quick ? queries : 20);
  await liteDb.knex.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
  print(
    `SQLite, ${count.toLocaleString('en-IN')} members (generated in ${liteGenerateS} s)`,
    liteFigures,
  );

  const worst = Math.max(...pgFigures.slice(1).map((f) => f.p95Ms));
  const base = pgFigures[0]?.p50Ms ?? 0;
  console.log(
    `\nPostgreSQL: the slowest search's p95 is ${worst} ms (target ≤ 100 ms: ${worst <= 100 ? 'met' : 'NOT met'}); an exact lookup by the unique index takes ${base} ms (p50).`,
  );
  console.log(
    JSON.stringify({
      bench: 'members',
      quick,
      members: count,
      pg: Object.fromEntries(
        pgFigures.map((f) => [f.label, { p50Ms: f.p50Ms, p95Ms: f.p95Ms, maxMs: f.maxMs }]),
      ),
      pgWorstP95Ms: worst,
      pgTargetMet: worst <= 100,
      sqlite: Object.fromEntries(
        liteFigures.map((f) => [f.label, { p50Ms: f.p50Ms, p95Ms: f.p95Ms, maxMs: f.maxMs }]),
      ),
      pgPlans,
    }),
  );
  if (!quick && worst > 100) process.exitCode = 1;
}

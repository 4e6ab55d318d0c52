import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../central/db/connect.ts';
import { TerminalCore } from '../terminal/core.ts';
import { TerminalStore } from '../terminal/store.ts';
import type { MemberState } from '../shared/protocol/sync.ts';
import { freePort } from '../bench/support.ts';
import { describePg } from './support/databases.ts';
import { createPgDatabase } from './support/postgres.ts';
import { counterSale, pairNewTerminal, waitFor } from './support/terminal.ts';
import {
  DEMO_ADMIN,
  dbHead,
  dbStates,
  killAllChildren,
  login,
  openCentralDb,
  runCentralCli,
  sleep,
  spawnCentral,
  spawnCentralOnFreePort,
  spawnLineChild,
  waitConvergedDb,
  type CentralProcess,
} from './support/processes.ts';

const DRIVER = 'test/support/terminal-driver.ts';

/** A fresh PostgreSQL database with central serving it as its own process on a fixed port. */
function centralFixture(prefix: string) {
  const state = {
    database: undefined as Awaited<ReturnType<typeof createPgDatabase>> | undefined,
    port: 0,
    central: undefined as CentralProcess | undefined,
    db: undefined as Db | undefined,
    token: '',
    dataDirs: [] as string[],
    cores: [] as TerminalCore[],
  };
  const env = (seed: 'always' | 'never') => ({
    DATABASE_URL: state.database?.url ?? '',
    DEMO_SEED: seed,
  });
  beforeAll(async () => {
    state.database = await createPgDatabase(prefix);
    state.central = await spawnCentralOnFreePort(env('always'));
    state.port = state.central.port;
    state.db = openCentralDb(state.database.url);
    state.token = await login(state.central.url, DEMO_ADMIN.username, DEMO_ADMIN.password);
  });
  afterAll(async () => {
    for (const core of state.cores) {
      try {
        await core.stop();
      } catch {
        // closed already
      }
    }
    await killAllChildren();
    await state.db?.knex.destroy();
    await state.database?.drop();
    for (const dir of state.dataDirs) fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    state,
    env,
    get knex() {
      if (!state.db) throw new Error('no database');
      return state.db.knex;
    },
    target() {
      return { url: `http://127.0.0.1:${state.port}`, tokens: { admin: state.token } };
    },
    /** Pairs a terminal through the admin API and starts its core in this process. */
    async terminal(showroom: string, name: string) {
      const { dataDir, credentials } = await pairNewTerminal(this.target(), showroom, name);
      state.dataDirs.push(dataDir);
      const core = new TerminalCore({ dataDir, credentials }).start();
      state.cores.push(core);
      return { core, dataDir };
    },
    /** Opens a core on an existing folder (credentials from its terminal.json). */
    open(dataDir: string) {
      const core = new TerminalCore({ dataDir });
      state.cores.push(core);
      return core;
    },
  };
}

/** Which of `keys` central's database holds, in `sales` and in `idempotency_keys`, with counts. */
async function keysAtCentral(
  knex: Db['knex'],
  keys: string[],
): Promise<{ sales: Map<string, number>; idempotency: Map<string, number> }> {
  const sales = new Map<string, number>();
  const idempotency = new Map<string, number>();
  for (let i = 0; i < keys.length; i += 1000) {
    const chunk = keys.slice(i, i + 1000);
    const s: { k: string; n: number | string }[] = await knex('sales')
      .whereIn('idempotency_key', chunk)
      .groupBy('idempotency_key')
      .select({ k: 'idempotency_key' })
      .count({ n: '*' });
    for (const r of s) sales.set(r.k, Number(r.n));
    const k: { k: string; n: number | string }[] = await knex('idempotency_keys')
      .whereIn('key', chunk)
      .groupBy('key')
      .select({ k: 'key' })
      .count({ n: '*' });
    for (const r of k) idempotency.set(r.k, Number(r.n));
  }
  return { sales, idempotency };
}

/** Expects each key exactly once among central's sales and among its idempotency keys. */
async function expectEachOnceAtCentral(knex: Db['knex'], keys: string[]): Promise<void> {
  expect(new Set(keys).size).toBe(keys.length);
  const at = await keysAtCentral(knex, keys);
  const notOnce = (m: Map<string, number>) => keys.filter((k) => m.get(k) !== 1).slice(0, 5);
  expect(notOnce(at.sales)).toEqual([]);
  expect(notOnce(at.idempotency)).toEqual([]);
}

async function countWhere(knex: Db['knex'], table: string, column: string, like: string) {
  const row: { n?: number | string } | undefined = await knex(table)
    .where(column, 'like', like)
    .count({ n: '*' })
    .first();
  return Number(row?.n ?? 0);
}

describePg('sync faults: central killed', () => {
  const c = centralFixture('sl_faults_central');

  it('kill -9 central during a stream of sales from several terminals', async () => {
    const terminals = [
      await c.terminal('MUM-01', 'Counter A'),
      await c.terminal('MUM-01', 'Counter B'),
      await c.terminal('DEL-01', 'Counter C'),
    ];
    const mobiles: string[] = [];
    for (const [i, t] of terminals.entries()) {
      for (let j = 0; j < 2; j += 1) {
        const mobile = `+9198200${i}${j}000`;
        t.core.enrol({
          mobile,
          name: `Stream Buyer ${'ABCDEF'.charAt(i * 2 + j)}`,
          smsConsent: j === 0,
        });
        mobiles.push(mobile);
      }
    }
    for (const t of terminals) await waitConvergedDb(t.core, c.knex);

    // Every key recordSale returned is a sale the cashier saw confirmed; so are its points.
    const confirmed: string[] = [];
    const expectedPoints = new Map<string, number>(mobiles.map((m) => [m, 0]));
    let stop = false;
    const perTerminalMax = 1_000; // a bound; the stream is stopped half a second after the restart
    const loops = terminals.map(async (t, ti) => {
      for (let n = 1; !stop && n <= perTerminalMax; n += 1) {
        const mobile = mobiles[(n + ti) % mobiles.length] ?? '';
        const sale = t.core.recordSale(
          counterSale(`KC-${ti}-${n}`, mobile, [['ELEC', 10 + (n % 90)]]),
        );
        confirmed.push(sale.key);
        expectedPoints.set(mobile, (expectedPoints.get(mobile) ?? 0) + sale.pendingPoints);
        await sleep(5);
      }
    });

    let atKill = 0;
    let beforeRestart = 0;
    let queuedOffline = 0;
    try {
      await waitFor('sales to flow before the crash', () => confirmed.length >= 90, 10_000);
      const central = c.state.central;
      if (!central) throw new Error('central is not running');
      await central.kill();
      atKill = confirmed.length;
      await waitFor(
        'every terminal to see central gone',
        () => terminals.every((t) => t.core.status().link !== 'online'),
        5_000,
      );
      await sleep(1_000); // the counters keep selling, offline
      queuedOffline = terminals.reduce((n, t) => n + t.core.status().pending, 0);
      beforeRestart = confirmed.length;
      // Same database, same port: the terminals come back to the URL they were paired with.
      c.state.central = await spawnCentral(c.state.port, c.env('never'));
      await sleep(500);
    } finally {
      stop = true;
      await Promise.all(loops);
    }
    const afterRestart = confirmed.length - beforeRestart;

    for (const t of terminals) await waitConvergedDb(t.core, c.knex, 30_000);

    expect(beforeRestart).toBeGreaterThan(atKill); // sales were taken while central was dead
    expect(queuedOffline).toBeGreaterThan(0);
    expect(afterRestart).toBeGreaterThan(0); // and while it came back
    await expectEachOnceAtCentral(c.knex, confirmed);
    expect(await countWhere(c.knex, 'sales', 'bill_number', 'KC-%')).toBe(confirmed.length);
    for (const t of terminals) expect(t.core.status()).toMatchObject({ pending: 0, refused: 0 });

    // Each member's balance is exactly the points of the sales confirmed for it.
    const states = await dbStates(c.knex);
    for (const mobile of mobiles) {
      expect(states.find((s) => s.mobile === mobile)?.balance).toBe(expectedPoints.get(mobile));
    }
    // Not reseeded by the restart: three showrooms, five demo members plus ours.
    const showrooms = await c.knex('showrooms').count({ n: '*' }).first();
    expect(Number(showrooms?.n)).toBe(3);
    expect(states).toHaveLength(5 + mobiles.length);
    // Every terminal's cache is central's members, and its cursor central's head.
    const head = await dbHead(c.knex);
    for (const t of terminals) {
      expect(t.core.store.allMembers()).toEqual(states);
      expect(t.core.store.cursor).toBe(head);
    }
    const verify = await runCentralCli(['verify'], c.env('never'));
    expect(verify.stdout).toContain('OK: every balance matches the ledger.');
    expect(verify.code).toBe(0);
    console.info(
      `central killed after ${atKill} confirmed sales; ${beforeRestart - atKill} taken while it was down (${queuedOffline} queued at the restart), ${afterRestart} from its restart on; ${confirmed.length} in all, each at central once`,
    );
  });
});

describePg('sync faults: terminal killed while it writes', () => {
  const c = centralFixture('sl_faults_terminal');

  for (const variant of ['online', 'offline'] as const) {
    it(`kill -9 a terminal core while it writes (${variant}): no confirmed sale is lost`, async () => {
      const { dataDir, credentials } = await pairNewTerminal(c.target(), 'MUM-01', variant);
      c.state.dataDirs.push(dataDir);
      const mobile = variant === 'online' ? '+919820030001' : '+919820030002';
      // Sync the folder once so the driver has the rules and the member in its cache.
      const prep = new TerminalCore({ dataDir, credentials }).start();
      prep.enrol({ mobile, name: `Crash ${variant}`, smsConsent: true });
      await waitConvergedDb(prep, c.knex);
      await prep.stop();

      const prefix = `DRV-${variant}`;
      const driver = spawnLineChild(DRIVER, [
        dataDir,
        'sell',
        '--mobile',
        mobile,
        '--bill-prefix',
        prefix,
        ...(variant === 'offline'
          ? ['--central-url', `http://127.0.0.1:${await freePort()}`] // nothing listens there
          : []),
      ]);
      await driver.waitForLine((l) => l === 'ready', 20_000);
      const confirmedLines = () => driver.lines.filter((l) => l.startsWith('confirmed '));
      const killAfter = 150 + Math.floor(Math.random() * 100);
      await waitFor(
        `${killAfter} confirmations`,
        () => confirmedLines().length >= killAfter,
        20_000,
      );
      await driver.kill();
      const exit = await driver.closed;
      expect(exit.signal).toBe('SIGKILL');
      const printed = confirmedLines().map((l) => l.slice('confirmed '.length));
      expect(printed.length).toBeGreaterThanOrEqual(killAfter);

      // What the dead process left: each printed sale is queued on disk, or central has it.
      const again = c.open(dataDir);
      const queued = new Set(
        again
          .outbox()
          .filter((o) => o.state === 'queued')
          .map((o) => o.key),
      );
      const before = await keysAtCentral(c.knex, printed);
      expect(printed.filter((k) => !queued.has(k) && !before.sales.has(k)).slice(0, 5)).toEqual([]);
      if (variant === 'offline') {
        expect(before.sales.size).toBe(0);
        expect(printed.filter((k) => !queued.has(k)).slice(0, 5)).toEqual([]);
      }

      again.start();
      await waitConvergedDb(again, c.knex, 30_000);
      await expectEachOnceAtCentral(c.knex, printed);
      // At most one more: a sale committed locally whose "confirmed" line the kill cut off.
      const bills = await countWhere(c.knex, 'sales', 'bill_number', `${prefix}-%`);
      expect(bills).toBeGreaterThanOrEqual(printed.length);
      expect(bills).toBeLessThanOrEqual(printed.length + 1);
      expect(again.status()).toMatchObject({ pending: 0, refused: 0 });
      console.info(
        `terminal (${variant}) killed after ${printed.length} confirmations: ${before.sales.size} at central, ${queued.size} queued on disk, ${bills} bills at central in the end`,
      );
    });
  }
});

describe('sync faults: a terminal cache never holds half a batch', () => {
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-atomic-'));
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const state = (id: number, mobile: string, seq: number): MemberState => ({
    id,
    mobile,
    name: `Member ${id}`,
    balance: id * 10,
    tier: 'base',
    smsConsent: true,
    seq,
    lastVisitAt: null,
  });

  type Stmt = { run(...args: unknown[]): unknown };
  const statements = (store: TerminalStore) =>
    (store as unknown as { stmts: Record<'upsert' | 'setMeta', Stmt> }).stmts;

  it('a batch that fails partway leaves rows, cursor and epoch as they were', () => {
    const file = path.join(dir, 'cache.sqlite');
    const store = new TerminalStore(file);
    try {
      store.applyChanges([state(1, '+919820040001', 10)], { cursor: 10, epoch: 'e1' });
      const before = { rows: store.allMembers(), cursor: store.cursor, epoch: store.epoch };
      const unchanged = () => {
        expect({ rows: store.allMembers(), cursor: store.cursor, epoch: store.epoch }).toEqual(
          before,
        );
      };

      // 1. The 2nd state breaks a constraint: its mobile is held by a member with a newer state.
      expect(() =>
        store.applyChanges([state(2, '+919820040002', 11), state(3, '+919820040001', 5)], {
          cursor: 12,
          epoch: 'e2',
        }),
      ).toThrow(/UNIQUE/);
      unchanged();

      // 2. The process "crashes" on the 2nd row write.
      const stmts = statements(store);
      const upsert = stmts.upsert;
      let rows = 0;
      stmts.upsert = {
        run: (...args: unknown[]) => {
          rows += 1;
          if (rows === 2) throw new Error('crash on the 2nd row');
          return upsert.run(...args);
        },
      };
      expect(() =>
        store.applyChanges([state(2, '+919820040002', 11), state(4, '+919820040004', 12)], {
          cursor: 12,
          epoch: 'e1',
        }),
      ).toThrow(/2nd row/);
      stmts.upsert = upsert;
      unchanged();

      // 3. Every row is written, then moving the cursor fails.
      const setMeta = stmts.setMeta;
      stmts.setMeta = {
        run: (...args: unknown[]) => {
          if (args[0] === 'cursor') throw new Error('crash before the cursor moves');
          return setMeta.run(...args);
        },
      };
      expect(() =>
        store.applyChanges([state(2, '+919820040002', 11), state(4, '+919820040004', 12)], {
          cursor: 12,
          epoch: 'e1',
        }),
      ).toThrow(/cursor moves/);
      stmts.setMeta = setMeta;
      unchanged();

      // 4. The same for a pull's page as JSON rows ([id, mobile, name, balance, tier, sms, seq]),
      //    where the terminal applies pages that way.
      const applyPage = (
        store as unknown as {
          applyPage?: (json: string, update: { cursor: number; epoch: string }) => number;
        }
      ).applyPage?.bind(store);
      if (applyPage) {
        const row = (m: MemberState) => [m.id, m.mobile, m.name, m.balance, m.tier, 1, m.seq];
        const clash = JSON.stringify([
          row(state(2, '+919820040002', 11)),
          row(state(3, '+919820040001', 5)),
        ]);
        expect(() => applyPage(clash, { cursor: 12, epoch: 'e2' })).toThrow(/UNIQUE/);
        unchanged();
        stmts.setMeta = {
          run: (...args: unknown[]) => {
            if (args[0] === 'cursor') throw new Error('crash before the cursor moves');
            return setMeta.run(...args);
          },
        };
        const good = JSON.stringify([
          row(state(2, '+919820040002', 11)),
          row(state(4, '+919820040004', 12)),
        ]);
        expect(() => applyPage(good, { cursor: 12, epoch: 'e1' })).toThrow(/cursor moves/);
        stmts.setMeta = setMeta;
        unchanged();
      }

      // The same batch applies once nothing fails, and the file says so after a reopen.
      store.applyChanges([state(2, '+919820040002', 11), state(4, '+919820040004', 12)], {
        cursor: 12,
        epoch: 'e1',
      });
    } finally {
      store.close();
    }
    const reopened = new TerminalStore(file);
    try {
      expect(reopened.cursor).toBe(12);
      expect(reopened.allMembers().map((m) => m.id)).toEqual([1, 2, 4]);
    } finally {
      reopened.close();
    }
  });
});

describePg('sync faults: terminal killed while it applies a large pull', () => {
  const c = centralFixture('sl_faults_pull');
  const MEMBERS = 30_000;
  const PAGE = 2_500;

  /** Opens the cache a killed driver left and checks that its cursor vouches only for rows it has. */
  function checkCache(file: string, central: MemberState[]): number {
    const store = new TerminalStore(file);
    try {
      expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
      const cursor = store.cursor;
      const cache = new Map(store.allMembers().map((m) => [m.id, m]));
      // Every member central has with seq ≤ cursor is in the cache, at that seq or newer...
      const missing = central.filter(
        (m) => m.seq <= cursor && (cache.get(m.id)?.seq ?? -1) < m.seq,
      );
      expect(missing.slice(0, 3)).toEqual([]);
      // ...and nothing of a page that did not commit is there: no row beyond the cursor.
      expect([...cache.values()].filter((m) => m.seq > cursor).slice(0, 3)).toEqual([]);
      expect(cache.size).toBe(central.filter((m) => m.seq <= cursor).length);
      return cursor;
    } finally {
      store.close();
    }
  }

  it('kill -9 mid-apply: after a restart the cursor is never ahead of the rows', async () => {
    await c.knex.transaction(async (trx) => {
      await trx.raw(
        `insert into members (mobile, name, sms_consent, consent_at, enrolled_at, balance, tier, seq, updated_at)
         select '+9179' || lpad(g::text, 8, '0'), 'Bulk Member ' || chr(65 + g % 26), g % 2 = 0, now(), now(), 0, 'base',
                (select head from change_seq where id = 1) + g, now()
           from generate_series(1, ?::int) g`,
        [MEMBERS],
      );
      await trx('change_seq').where('id', 1).increment('head', MEMBERS);
    });
    const central = await dbStates(c.knex);
    const { dataDir } = await pairNewTerminal(c.target(), 'BLR-01', 'Bulk');
    c.state.dataDirs.push(dataDir);
    const file = path.join(dataDir, 'cache.sqlite');

    // Round 1: the driver kills itself inside its 2nd page's transaction, after the rows and
    // before the cursor, its page cache so small that the unfinished transaction has already
    // written pages to the WAL.
    const first = spawnLineChild(DRIVER, [
      dataDir,
      'pull',
      '--pull-limit',
      String(PAGE),
      '--die-at-apply',
      '2',
      '--spill',
    ]);
    const dying = await first.waitForLine((l) => l.startsWith('dying'), 30_000);
    expect((await first.closed).signal).toBe('SIGKILL');
    const committed = Number(/from (\d+)/.exec(dying)?.[1]);
    expect(committed).toBeGreaterThan(0);
    expect(checkCache(file, central)).toBe(committed);
    const cursors = [committed];

    // Rounds 2–6: killed from outside as soon as it says its 1st, 2nd or 3rd apply transaction
    // has begun (so the earlier ones of the round have committed).
    let midApply = 0;
    for (let round = 0; round < 5; round += 1) {
      const driver = spawnLineChild(DRIVER, [dataDir, 'pull', '--pull-limit', String(PAGE)]);
      const previous = cursors.at(-1) ?? 0;
      const nth = 1 + (round % 3);
      const applying = () => driver.lines.filter((l) => l.startsWith('applying '));
      const settled = () => driver.lines.some((l) => l.startsWith('settled'));
      await driver.waitForLine(() => applying().length >= nth || settled(), 30_000);
      await driver.kill();
      await driver.closed;
      if (settled()) break;
      const targets = applying().map((l) => Number(l.split(' ').at(-1)));
      const committed = targets[nth - 2] ?? previous;
      const cursor = checkCache(file, central);
      expect([committed, targets[nth - 1]]).toContain(cursor);
      if (cursor === committed) midApply += 1;
      cursors.push(cursor);
    }

    // Started again in this process, it catches up to exactly central's members.
    const core = c.open(dataDir).start();
    await waitConvergedDb(core, c.knex, 30_000);
    expect(core.store.allMembers()).toEqual(await dbStates(c.knex));
    console.info(
      `cursors after each kill: ${cursors.join(', ')} of head ${await dbHead(c.knex)}; ${midApply + 1} kills inside an apply transaction`,
    );
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../central/config.ts';
import { migrateLatest, openDb, toDbTime, type Db } from '../central/db/connect.ts';
import { saveProgramSettings } from '../central/db/settings-store.ts';
import { cataloguePage } from '../central/db/catalogue-store.ts';
import { bumpRulesRevision } from '../central/db/rules-revision.ts';
import { loadRules, pullChanges } from '../central/db/sync-store.ts';
import { DEMO_LOGINS, DEMO_PRODUCTS, seedDemo } from '../central/demo/seed.ts';
import { createCentral } from '../central/server.ts';
import { hashSecret } from '../central/staff/secrets.ts';
import { verifySecret } from '../shared/secret-hash.ts';
import { MAX_STATEMENT_ENTRIES } from '../shared/protocol/ledger.ts';
import { parseStateRows, PROTOCOL_VERSION } from '../shared/protocol/sync.ts';
import { hasValidCheckDigit } from '../terminal/devices/scanner/codes.ts';
import type { TerminalCore } from '../terminal/core.ts';
import { newKey, startPeerCentral, startTestCentral, type TestCentral } from './support/central.ts';
import { startChaosProxy } from './support/chaos-proxy.ts';
import { createTestDatabase, describeEachDb } from './support/databases.ts';
import { freshMobile, refusal } from './support/redeem.ts';
import {
  centralStates,
  counterSale,
  refusalOf,
  startPairedTerminal,
  waitConverged,
  waitFor,
} from './support/terminal.ts';

type Terminal = Awaited<ReturnType<typeof startPairedTerminal>>;

const PINS = {
  admin: '7777',
  'mum.manager': '9999',
  'mum.cashier': '1111',
  'del.cashier': '2222',
} as const;

describeEachDb('counter replication', (dialect) => {
  let c: TestCentral;
  let a: Terminal;
  let b: Terminal;

  /** Adds a staff member through the API (chain-wide without a showroom). */
  async function addStaff(
    username: string,
    name: string,
    role: string,
    extra: { pin?: string; showroomCode?: string },
  ): Promise<void> {
    const r = await c.request('POST', '/api/staff', {
      token: c.tokens.admin,
      body: { username, name, role, password: 'a-long-password-1', ...extra },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
  }

  const setPin = (username: string, pin: string, token = c.tokens.admin) =>
    c.request('PUT', `/api/staff/${username}/pin`, { token, body: { pin } });

  /** Waits until a counter holds rules other than `version` (a change reached it). */
  const newRules = (core: TerminalCore, version: string | undefined, what: string) =>
    waitFor(what, () => core.store.rules?.version !== version, 12_000);

  /** Waits until a counter holds the whole catalogue its rules name. */
  const catalogueIn = (core: TerminalCore, what: string, timeoutMs = 12_000) =>
    waitFor(
      what,
      () =>
        core.store.rules?.catalogueVersion !== undefined &&
        core.store.catalogueVersion === core.store.rules.catalogueVersion,
      timeoutMs,
    );

  const put = (products: unknown[], token = c.tokens.admin) =>
    c.request('PUT', '/api/products', { token, body: { products } });

  /** Catalogue pages this test's central has answered so far. */
  const pagesServed = () => c.listening.sync.stats.cataloguePages;

  beforeAll(async () => {
    c = await startTestCentral(dialect, { sync: { heartbeatMs: 200 } });
    for (const [username, pin] of Object.entries(PINS)) {
      expect((await setPin(username, pin)).status).toBe(200);
    }
    await addStaff('area.manager', 'Suresh Menon', 'manager', { pin: '5555' });
    // Neither may sign in at a counter: a chain-wide cashier, and staff without a PIN.
    await addStaff('float.cashier', 'Floating Cashier', 'cashier', {});
    await addStaff('mum.nopin', 'Kiran Patil', 'cashier', { showroomCode: 'MUM-01' });
    await addStaff('mum.gone', 'Former Cashier', 'cashier', {
      showroomCode: 'MUM-01',
      pin: '4444',
    });
    // Straight into the database, as a tool outside the API would, bumping the rules revision
    // in the same transaction: a chain-wide cashier's PIN from before central refused them,
    // and a cashier who left.
    await c.central.db.knex.transaction(async (trx) => {
      await trx('staff')
        .where('username', 'float.cashier')
        .update({ pin_hash: await hashSecret('3333') });
      await trx('staff').where('username', 'mum.gone').update({ active: false });
      await bumpRulesRevision(trx);
    });
    a = await startPairedTerminal(c, 'MUM-01');
    b = await startPairedTerminal(c, 'DEL-01');
    await Promise.all([waitConverged(a.core, c.central), waitConverged(b.core, c.central)]);
    await waitFor(
      'rules at both counters',
      () => a.core.staff().length > 0 && b.core.staff().length > 0,
    );
    await catalogueIn(a.core, 'the (empty) catalogue at A');
    await catalogueIn(b.core, 'the (empty) catalogue at B');
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await c.close();
  });

  it("gives each counter its own showroom's staff and the chain-wide managers, never other PINs", () => {
    expect(a.core.staff()).toEqual([
      { id: expect.any(Number), username: 'admin', name: 'Head Office', role: 'admin' },
      { id: expect.any(Number), username: 'mum.manager', name: 'Priya Sharma', role: 'manager' },
      { id: expect.any(Number), username: 'mum.cashier', name: 'Rahul Verma', role: 'cashier' },
      { id: expect.any(Number), username: 'area.manager', name: 'Suresh Menon', role: 'manager' },
    ]);
    expect(b.core.staff().map((s) => s.username)).toEqual(['admin', 'area.manager', 'del.cashier']);
    // What is stored at each counter: only those PIN hashes, as scrypt hashes.
    const stored = (core: TerminalCore) => core.store.rules?.staff ?? [];
    expect(
      stored(b.core)
        .map((s) => s.username)
        .sort(),
    ).toEqual(['admin', 'area.manager', 'del.cashier']);
    for (const s of [...stored(a.core), ...stored(b.core)]) {
      expect(s.pinHash).toMatch(/^scrypt\$32768\$8\$1\$/);
    }
    expect(a.core.store.rules?.version).not.toBe(b.core.store.rules?.version);
  });

  it('verifies a PIN offline: right, wrong, unknown user, inactive, another showroom', async () => {
    expect(await a.core.verifyPin('mum.cashier', '1111')).toEqual({
      id: expect.any(Number),
      username: 'mum.cashier',
      name: 'Rahul Verma',
      role: 'cashier',
    });
    expect(await a.core.verifyPin('area.manager', '5555')).toMatchObject({ role: 'manager' });
    expect(await a.core.verifyPin('admin', '7777')).toMatchObject({ role: 'admin' });
    expect(await a.core.verifyPin('mum.cashier', '1112')).toBeUndefined();
    expect(await a.core.verifyPin('mum.cashier', '')).toBeUndefined();
    expect(await a.core.verifyPin('nobody', '1111')).toBeUndefined();
    expect(await a.core.verifyPin('mum.gone', '4444')).toBeUndefined();
    expect(await a.core.verifyPin('float.cashier', '3333')).toBeUndefined();
    expect(await a.core.verifyPin('del.cashier', '2222')).toBeUndefined();
    expect(await b.core.verifyPin('del.cashier', '2222')).toMatchObject({
      username: 'del.cashier',
    });
  });

  it('a PIN change at central reaches the connected counter of that showroom only; the old PIN stops working', async () => {
    const before = { a: a.core.store.rules?.version, b: b.core.store.rules?.version };
    const catalogue = a.core.store.rules?.catalogueVersion;
    const announced: unknown[] = [];
    a.core.on('rules', (v: unknown) => announced.push(v));
    const pagesAtA: unknown[] = [];
    a.core.sync.on('catalogue:page', (p: unknown) => pagesAtA.push(p));
    const served = pagesServed();
    expect((await setPin('mum.cashier', '86420')).status).toBe(200);
    await newRules(a.core, before.a, 'the new PIN to reach counter A');
    expect(announced).toContain(a.core.store.rules?.version);
    expect(await a.core.verifyPin('mum.cashier', '1111')).toBeUndefined();
    expect(await a.core.verifyPin('mum.cashier', '86420')).toMatchObject({
      username: 'mum.cashier',
    });
    // Delhi's staff did not change: its counter keeps its rules (a few beats later still).
    await new Promise((r) => setTimeout(r, 600));
    expect(b.core.store.rules?.version).toBe(before.b);
    // The new rules name the same catalogue: not a single catalogue page was asked for or sent.
    expect(a.core.store.rules?.catalogueVersion).toBe(catalogue);
    expect(pagesAtA).toEqual([]);
    expect(pagesServed()).toBe(served);
  });

  it('refuses a PIN for a cashier of no showroom, which no counter would ever receive (422)', async () => {
    const created = await c.request('POST', '/api/staff', {
      token: c.tokens.admin,
      body: {
        username: 'float.two',
        name: 'Another Floater',
        role: 'cashier',
        password: 'a-long-password-1',
        pin: '6543',
      },
    });
    expect(created.status).toBe(422);
    expect(created.body).toMatchObject({
      type: '/problems/pin-needs-showroom',
      errors: [{ pointer: '/showroomCode', message: expect.any(String) }],
    });
    expect(created.body.detail).toMatch(/showroom/);
    expect(await c.central.db.knex('staff').where('username', 'float.two').first()).toBeUndefined();
    const set = await setPin('float.cashier', '6543');
    expect(set.status).toBe(422);
    expect(set.body.type).toBe('/problems/pin-needs-showroom');
    // A manager or admin may be chain-wide: their PIN reaches every counter.
    expect((await setPin('area.manager', '5555')).status).toBe(200);
  });

  it('refuses a PIN that is not 4–8 digits, an unknown username, and anyone but an admin', async () => {
    for (const pin of ['123', '123456789', '12a4', ' 1234']) {
      const r = await setPin('mum.cashier', pin);
      expect(r.status, pin).toBe(400);
      expect(r.body.errors[0].pointer).toBe('/pin');
    }
    expect((await setPin('no.such.user', '1234')).status).toBe(404);
    expect((await setPin('mum.cashier', '1234', c.tokens.manager)).status).toBe(403);
    const row: { pin_hash: string } = await c.central.db
      .knex('staff')
      .where('username', 'mum.cashier')
      .first('pin_hash');
    expect(await verifySecret('86420', row.pin_hash)).toBe(true);
  });

  it('puts products to the catalogue; connected counters fetch it and look products up by SKU; inactive ones are not sold', async () => {
    const before = a.core.store.rules?.catalogueVersion;
    const served = pagesServed();
    const r = await put([
      { sku: '8901534640972', name: 'Havells 1.5 sq mm FR wire 90 m', categoryCode: 'ELEC' },
      { sku: '9789357051361', name: 'NCERT Physics Part I, Class 12', categoryCode: 'BOOK' },
      { sku: 'OLD-STOCK-1', name: 'Discontinued fan', categoryCode: 'APPL', active: false },
    ]);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({ created: 3, updated: 0 });
    // The rules name a new catalogue; the counter fetches it beside them, by catalogue:pull.
    await waitFor(
      'rules naming the new catalogue at A',
      () => a.core.store.rules?.catalogueVersion !== before,
    );
    await catalogueIn(a.core, 'the new catalogue at A');
    expect(pagesServed()).toBeGreaterThan(served);
    expect(a.core.product('8901534640972')).toEqual({
      sku: '8901534640972',
      name: 'Havells 1.5 sq mm FR wire 90 m',
      categoryCode: 'ELEC',
    });
    expect(a.core.product('OLD-STOCK-1')).toBeUndefined();
    expect(a.core.product('0000000000000')).toBeUndefined();
    await waitFor('the catalogue at B', () => b.core.product('9789357051361') !== undefined);

    // Renamed, and the old stock back in the range; `active` left out keeps a product active.
    const again = await put([
      { sku: '8901534640972', name: 'Havells Life Line 1.5 sq mm 90 m', categoryCode: 'ELEC' },
      { sku: 'OLD-STOCK-1', name: 'Discontinued fan', categoryCode: 'APPL', active: true },
    ]);
    expect(again.body).toEqual({ created: 0, updated: 2 });
    await waitFor(
      'the renamed product at A',
      () => a.core.product('8901534640972')?.name === 'Havells Life Line 1.5 sq mm 90 m',
    );
    expect(a.core.product('OLD-STOCK-1')?.categoryCode).toBe('APPL');

    const list = await c.request('GET', '/api/products?category=ELEC&q=LIFE', {
      token: c.tokens.manager,
    });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({
      products: [
        {
          sku: '8901534640972',
          name: 'Havells Life Line 1.5 sq mm 90 m',
          categoryCode: 'ELEC',
          active: true,
          updatedAt: expect.any(String),
        },
      ],
      truncated: false,
    });
    const bySku = await c.request('GET', '/api/products?q=9789', { token: c.tokens.manager });
    expect(bySku.body.products.map((p: { sku: string }) => p.sku)).toEqual(['9789357051361']);
    const limited = await c.request('GET', '/api/products?limit=2', { token: c.tokens.admin });
    expect(limited.body).toMatchObject({ truncated: true });
    expect(limited.body.products).toHaveLength(2);
    expect((await c.request('GET', '/api/products', { token: c.tokens.cashier })).status).toBe(403);
    expect(
      (await put([{ sku: 'X-1', name: 'x', categoryCode: 'ELEC' }], c.tokens.manager)).status,
    ).toBe(403);
  });

  it('refuses a product batch as a whole: an unknown category (422 naming the SKU), duplicates, too many', async () => {
    const count = async () =>
      Number((await c.central.db.knex('products').count({ n: '*' }).first())?.n);
    const before = await count();
    const r = await c.request('PUT', '/api/products', {
      token: c.tokens.admin,
      body: {
        products: [
          { sku: '8904197222332', name: 'Philips 9W LED bulb', categoryCode: 'ELEC' },
          { sku: '8906590819355', name: 'Legrand 32A DP MCB', categoryCode: 'SWITCHGEAR' },
        ],
      },
    });
    expect(r.status).toBe(422);
    expect(r.body.type).toBe('/problems/unknown-category');
    expect(r.body.detail).toContain('8906590819355');
    expect(r.body.detail).toContain('SWITCHGEAR');
    expect(r.body.errors).toEqual([
      { pointer: '/products/1/categoryCode', message: expect.stringContaining('8906590819355') },
    ]);
    const twice = await c.request('PUT', '/api/products', {
      token: c.tokens.admin,
      body: {
        products: [
          { sku: 'DUP-1', name: 'One', categoryCode: 'ELEC' },
          { sku: 'DUP-1', name: 'Two', categoryCode: 'ELEC' },
        ],
      },
    });
    expect(twice.status).toBe(400);
    expect(twice.body.errors[0].pointer).toBe('/products/1/sku');
    const tooMany = await c.request('PUT', '/api/products', {
      token: c.tokens.admin,
      body: {
        products: Array.from({ length: 5_001 }, (_, i) => ({
          sku: `BULK-${i}`,
          name: `Bulk ${i}`,
          categoryCode: 'ELEC',
        })),
      },
    });
    expect(tooMany.status).toBe(400);
    expect(await count()).toBe(before);
    // A later product reaches the counter by the same road; the refused one never did.
    expect(
      (await put([{ sku: 'AFTER-REFUSAL', name: 'Marker', categoryCode: 'ELEC' }])).status,
    ).toBe(200);
    await waitFor('the marker at A', () => a.core.product('AFTER-REFUSAL') !== undefined);
    await catalogueIn(a.core, 'the whole catalogue at A');
    expect(a.core.product('8904197222332')).toBeUndefined();
    expect(a.core.product('8906590819355')).toBeUndefined();
    expect(a.core.product('BULK-0')).toBeUndefined();
  });

  it('reads a bulk body only from an admin: anyone else is refused before central parses it', async () => {
    // A body that is not even JSON, and above the app's usual limit: the answer says who may,
    // not what is wrong with the body, so central never read it.
    const junk = `{"products": [${'x'.repeat(3 * 1024 * 1024)}`;
    const send = (headers: Record<string, string>) =>
      fetch(`${c.url}/api/products`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...headers },
        body: junk,
      }).then(async (res) => ({
        status: res.status,
        body: (await res.json()) as { type: string },
      }));
    const anonymous = await send({});
    expect(anonymous).toMatchObject({ status: 401, body: { type: '/problems/unauthenticated' } });
    const forged = await send({ authorization: 'Bearer not-a-session-token-at-all-0123' });
    expect(forged.status).toBe(401);
    const manager = await send({ authorization: `Bearer ${c.tokens.manager}` });
    expect(manager).toMatchObject({ status: 403, body: { type: '/problems/forbidden' } });
    // An admin's body is read (up to 5 MB) and then found malformed.
    const admin = await send({ authorization: `Bearer ${c.tokens.admin}` });
    expect(admin).toMatchObject({ status: 400, body: { type: '/problems/malformed-json' } });
  });

  it('takes 5,000 products in one call (a body above the usual limit)', async () => {
    const r = await c.request('PUT', '/api/products', {
      token: c.tokens.admin,
      body: {
        products: Array.from({ length: 5_000 }, (_, i) => ({
          sku: `BULK-${String(i).padStart(5, '0')}`,
          name: `Bulk catalogue item number ${i} with a longish name`,
          categoryCode: ['ELEC', 'ELTR', 'APPL', 'BOOK'][i % 4],
        })),
      },
    });
    expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(200);
    expect(r.body).toEqual({ created: 5_000, updated: 0 });
    await waitFor(
      'the bulk catalogue at A',
      () => a.core.product('BULK-04999') !== undefined,
      12_000,
    );
    expect(a.core.product('BULK-04999')?.categoryCode).toBe('BOOK');
  });

  it('fetches a 20,000-product catalogue in the background while sales replicate as usual', async () => {
    const products = Array.from({ length: 20_000 }, (_, i) => ({
      sku: `CAT-${String(i).padStart(5, '0')}`,
      name: `Catalogue item ${i}, a product with a name of a usual length`,
      categoryCode: ['ELEC', 'ELTR', 'APPL', 'BOOK'][i % 4],
    }));
    for (let i = 0; i < products.length; i += 5_000) {
      expect((await put(products.slice(i, i + 5_000))).status).toBe(200);
    }
    const wanted = (await cataloguePage(c.central.db, undefined, 1)).version;
    // A counter on a slow link (50 ms each way, every packet), fetching 500 products a page.
    const proxy = await startChaosProxy({ host: '127.0.0.1', port: Number(new URL(c.url).port) });
    proxy.setDelay(50);
    const t = await startPairedTerminal(c, 'MUM-01', {
      sync: { centralUrl: proxy.url, cataloguePage: 500 },
    });
    try {
      const pages: number[] = [];
      t.core.sync.on('catalogue:page', (p: { count: number }) => pages.push(p.count));
      let completeAtMs = 0;
      t.core.on('catalogue', () => {
        completeAtMs = performance.now();
      });
      await waitConverged(t.core, c.central);
      await waitFor('the first catalogue page', () => pages.length > 0);
      // Sales at this counter and at another one replicate while the catalogue still comes in.
      const mobile = freshMobile();
      t.core.enrol({ mobile, name: 'Catalogue Time Buyer', smsConsent: false });
      t.core.recordSale(counterSale(`CT-${mobile.slice(-6)}`, mobile, [['BOOK', 2_000]]));
      await waitConverged(t.core, c.central);
      await waitFor('the sale at A', () => a.core.findByMobile(mobile)?.balance === 100);
      a.core.recordSale(counterSale(`CT-${mobile.slice(-6)}-A`, mobile, [['BOOK', 1_000]]));
      await waitFor('the sale from A at the slow counter', () => {
        const m = t.core.findByMobile(mobile);
        return m?.balance === 150 && m.pendingPoints === 0;
      });
      const repliedAtMs = performance.now();
      expect(completeAtMs, 'the catalogue was complete before the sales replicated').toBe(0);
      // Until the last page the counter scans from the catalogue it had (no CAT- items).
      expect(t.core.product('CAT-19999')).toBeUndefined();
      await catalogueIn(t.core, 'the whole catalogue at the slow counter', 60_000);
      expect(completeAtMs).toBeGreaterThan(repliedAtMs);
      expect(t.core.store.catalogueVersion).toBe(wanted);
      expect(pages.reduce((sum, n) => sum + n, 0)).toBeGreaterThanOrEqual(20_000);
      expect(t.core.product('CAT-19999')).toEqual({
        sku: 'CAT-19999',
        name: 'Catalogue item 19999, a product with a name of a usual length',
        categoryCode: 'BOOK',
      });
      expect(t.core.product('8901534640972')?.name).toBe('Havells Life Line 1.5 sq mm 90 m');
      // A product change then reaches the connected counter: its next catalogue.
      expect(
        (await put([{ sku: 'CAT-19999', name: 'Renamed item', categoryCode: 'BOOK' }])).status,
      ).toBe(200);
      await waitFor(
        'the renamed product at the slow counter',
        () => t.core.product('CAT-19999')?.name === 'Renamed item',
        60_000,
      );
      expect(t.core.product('CAT-00000')).toBeDefined();
    } finally {
      await t.close();
      await proxy.close();
    }
  }, 120_000);

  it('resumes a catalogue fetch cut short, and starts over when the catalogue changes mid-way', async () => {
    const proxy = await startChaosProxy({ host: '127.0.0.1', port: Number(new URL(c.url).port) });
    const t = await startPairedTerminal(c, 'DEL-01', {
      sync: { centralUrl: proxy.url, cataloguePage: 2_000 },
    });
    try {
      // The link drops after the third page: the staged pages stay.
      let pagesSeen = 0;
      let afterSku: string | undefined;
      const onPage = () => {
        pagesSeen += 1;
        if (pagesSeen === 3) {
          afterSku = t.core.store.catalogueStaging?.afterSku;
          void t.core.sync.stop();
        }
      };
      t.core.sync.on('catalogue:page', onPage);
      await waitFor('three catalogue pages', () => pagesSeen >= 3);
      await waitFor('the counter offline', () => t.core.status().link === 'offline');
      t.core.sync.off('catalogue:page', onPage);
      expect(afterSku).toBeDefined();
      expect(t.core.store.catalogueStaging?.afterSku).toBe(afterSku);
      expect(t.core.product('CAT-19999')).toBeUndefined();
      // Which pages the counter asks for (afterSku; undefined: from the first).
      const asked: (string | undefined)[] = [];
      const emit = t.core.sync.socket.emit.bind(t.core.sync.socket);
      t.core.sync.socket.emit = ((event: string, ...args: unknown[]) => {
        if (event === 'catalogue:pull') asked.push((args[0] as { afterSku?: string }).afterSku);
        return emit(event, ...args);
      }) as typeof t.core.sync.socket.emit;
      t.core.sync.start();
      await catalogueIn(t.core, 'the catalogue after a resumed fetch', 30_000);
      // It went on after the last staged page rather than from the first one.
      expect(asked[0]).toBe(afterSku);
      expect(asked).not.toContain(undefined);
      expect(t.core.product('CAT-19999')).toBeDefined();

      // A product changes while the counter is between two pages (a slow link: 150 ms each
      // way): the next page's version differs, so the fetch starts over, and only the newest
      // catalogue is ever swapped in.
      proxy.setDelay(150);
      asked.length = 0;
      const swapped: unknown[] = [];
      t.core.on('catalogue', (v: unknown) => swapped.push(v));
      let changed = false;
      t.core.sync.on('catalogue:page', () => {
        if (changed) return;
        changed = true;
        void put([{ sku: 'CAT-00001', name: 'Changed mid-way', categoryCode: 'ELEC' }]);
      });
      expect((await put([{ sku: 'MIDWAY-1', name: 'Midway', categoryCode: 'ELEC' }])).status).toBe(
        200,
      );
      await waitFor(
        'the change made mid-way at the counter',
        () => t.core.product('CAT-00001')?.name === 'Changed mid-way',
        60_000,
      );
      await catalogueIn(t.core, 'the final catalogue');
      expect(asked[0]).toBeUndefined();
      expect(asked.slice(1)).toContain(undefined); // started over
      expect(swapped).toHaveLength(1);
      expect(t.core.product('MIDWAY-1')).toBeDefined();
    } finally {
      await t.close();
      await proxy.close();
    }
  }, 120_000);

  it('a PIN set through one central process reaches a counter connected to another', async () => {
    const peer = await startPeerCentral(c.database, c.clock, {}, { heartbeatMs: 200 });
    const t = await startPairedTerminal({ url: peer.url, tokens: c.tokens }, 'MUM-01');
    try {
      await waitFor('rules at the peer counter', () => t.core.store.rules !== undefined);
      const before = t.core.store.rules?.version;
      const loads = peer.listening.sync.stats.rulesLoads;
      expect((await setPin('mum.manager', '13579')).status).toBe(200);
      await newRules(t.core, before, 'the new PIN at the peer counter');
      expect(await t.core.verifyPin('mum.manager', '13579')).toMatchObject({ role: 'manager' });
      expect(await t.core.verifyPin('mum.manager', '9999')).toBeUndefined();
      expect(peer.listening.sync.stats.rulesLoads).toBeGreaterThan(loads);
    } finally {
      await t.close();
      await peer.close();
      expect((await setPin('mum.manager', '9999')).status).toBe(200);
    }
  });

  it("records a member's last visit with each later sale, replicates it, and keeps it for late bills and returns", async () => {
    const mobile = freshMobile();
    a.core.enrol({ mobile, name: 'Lata Mangeshkar', smsConsent: true });
    await waitConverged(a.core, c.central);
    expect(a.core.findByMobile(mobile)?.lastVisitAt).toBeNull();

    a.core.recordSale(counterSale(`LV-${mobile.slice(-5)}-1`, mobile, [['ELEC', 500]]));
    await waitConverged(a.core, c.central);
    const sold: { id: number; sold_at: unknown; member_id: number } = await c.central.db
      .knex('sales')
      .where('bill_number', `LV-${mobile.slice(-5)}-1`)
      .first('id', 'sold_at', 'member_id');
    const firstVisit = new Date(sold.sold_at as string).toISOString();
    expect(a.core.findByMobile(mobile)?.lastVisitAt).toBe(firstVisit);
    await waitConverged(b.core, c.central);
    expect(b.core.findByMobile(mobile)?.lastVisitAt).toBe(firstVisit);

    // A bill made earlier (an offline counter's, sent late) does not move the last visit.
    const late = await c.request('POST', '/api/sales', {
      token: c.tokens.cashier,
      headers: { 'idempotency-key': newKey('lv') },
      body: {
        showroomCode: 'MUM-01',
        billNumber: `LV-${mobile.slice(-5)}-0`,
        soldAt: new Date(Date.parse(firstVisit) - 86_400_000).toISOString(),
        mobile,
        lines: [{ sku: '8901534640972', categoryCode: 'ELEC', quantity: 1, amountPaise: 20_000 }],
      },
    });
    expect(late.status).toBe(201);
    await waitConverged(a.core, c.central);
    expect(a.core.findByMobile(mobile)).toMatchObject({ balance: 14, lastVisitAt: firstVisit });

    // A later visit that earns nothing (₹10 at 2 per ₹100) still moves it, and reaches B.
    c.clock.advance(3_600_000);
    const small = await c.request('POST', '/api/sales', {
      token: c.tokens.otherCashier,
      headers: { 'idempotency-key': newKey('lv') },
      body: {
        showroomCode: 'DEL-01',
        billNumber: `LV-${mobile.slice(-5)}-2`,
        mobile,
        lines: [{ sku: 'SMALL-1', categoryCode: 'ELEC', quantity: 1, amountPaise: 1_000 }],
      },
    });
    expect(small.status).toBe(201);
    expect(small.body.points).toBe(0);
    const secondVisit = c.clock.now().toISOString();
    await waitFor(
      'the new visit at B',
      () => b.core.findByMobile(mobile)?.lastVisitAt === secondVisit,
    );
    await waitConverged(a.core, c.central);
    expect(a.core.findByMobile(mobile)).toMatchObject({ balance: 14, lastVisitAt: secondVisit });

    // A return changes the balance, not the last visit.
    c.clock.advance(3_600_000);
    const returned = await c.request('POST', `/api/sales/${sold.id}/returns`, {
      token: c.tokens.manager,
      headers: { 'idempotency-key': newKey('lv') },
      body: { reason: 'changed mind' },
    });
    expect(returned.status, JSON.stringify(returned.body)).toBe(201);
    await waitConverged(a.core, c.central);
    expect(a.core.findByMobile(mobile)).toMatchObject({ balance: 4, lastVisitAt: secondVisit });
  });

  it('a pull page carries the last visit as the eighth column, equal to the pushed state', async () => {
    const page = await pullChanges(c.central.db, 0, 10_000);
    const states = parseStateRows(page.states);
    expect(states.some((s) => s.lastVisitAt !== null)).toBe(true);
    const rows = JSON.parse(page.states) as unknown[][];
    // Protocol 3 added mergedIntoId as a ninth column, after the last visit.
    for (const row of rows) expect(row).toHaveLength(9);
    const byId = new Map((await centralStates(c.central)).map((s) => [s.id, s]));
    for (const s of states) expect(s).toEqual(byId.get(s.id));
  });

  it('sends the chain name, the point value and the rates in force to the counter', async () => {
    expect(a.core.showroom()).toEqual({
      code: 'MUM-01',
      name: 'Andheri West',
      city: 'Mumbai',
      chainName: 'Showroom Loyalty',
      pointValuePaise: 100,
    });
    // Each heartbeat reads the rules revision only: with nothing changed, several beats (200 ms
    // apart here) read no rules. (First a few beats for an earlier test's PIN change to arrive.)
    await new Promise((r) => setTimeout(r, 600));
    const before = a.core.store.rules?.version;
    const loads = c.listening.sync.stats.rulesLoads;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(c.listening.sync.stats.rulesLoads).toBe(loads);
    // As `npm run central -- settings set` does it: from outside, nobody tells the sync server;
    // the revision it bumps in the same transaction does.
    await saveProgramSettings(
      c.central.db.knex,
      { chainName: 'Vijay Electricals & Books', pointValuePaise: 50 },
      { staffId: null, now: c.clock.now() },
    );
    await newRules(a.core, before, 'the new settings to reach counter A');
    expect(a.core.showroom()).toMatchObject({
      chainName: 'Vijay Electricals & Books',
      pointValuePaise: 50,
    });
    // Read once for every showroom and every pull after the change.
    await new Promise((r) => setTimeout(r, 600));
    expect(c.listening.sync.stats.rulesLoads).toBe(loads + 1);
    expect(b.core.showroom()).toMatchObject({ code: 'DEL-01', name: 'Karol Bagh' });

    expect(a.core.categories()).toEqual([
      { code: 'APPL', name: 'Appliances', pointsPer100Rupees: 1 },
      { code: 'BOOK', name: 'Books', pointsPer100Rupees: 5 },
      { code: 'ELEC', name: 'Electrical', pointsPer100Rupees: 2 },
      { code: 'ELTR', name: 'Electronics', pointsPer100Rupees: 1 },
    ]);
    const startsAt = new Date(c.clock.now().getTime() + 120_000).toISOString();
    const rate = await c.request('POST', '/api/categories/BOOK/rates', {
      token: c.tokens.admin,
      body: { pointsPer100Rupees: 8, effectiveFrom: startsAt },
    });
    expect(rate.status).toBe(201);
    await waitFor('the scheduled rate at A', () =>
      (a.core.store.rules?.rates ?? []).some((r) => r.effectiveFrom === startsAt),
    );
    expect(a.core.categories().find((x) => x.code === 'BOOK')?.pointsPer100Rupees).toBe(5);
    // Central's clock passes the start; the counter follows central's clock, not its own.
    c.clock.advance(180_000);
    await waitFor(
      'the new rate in force at A',
      () => a.core.categories().find((x) => x.code === 'BOOK')?.pointsPer100Rupees === 8,
    );
  });

  describe('ledger statement', () => {
    let mobile = '';
    let memberId = 0;

    /** Writes a sale at central at an instant (central's clock set there). */
    async function saleAt(at: string, bill: string, rupees: number): Promise<void> {
      c.clock.set(at);
      const r = await c.request('POST', '/api/sales', {
        token: c.tokens.cashier,
        headers: { 'idempotency-key': newKey('st') },
        body: {
          showroomCode: 'MUM-01',
          billNumber: bill,
          mobile,
          lines: [
            { sku: '9789357051361', categoryCode: 'BOOK', quantity: 1, amountPaise: rupees * 100 },
          ],
        },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }

    beforeAll(async () => {
      const now = c.clock.now().toISOString();
      mobile = freshMobile();
      c.clock.set('2026-11-01T00:00:00.000Z');
      const enrolled = await c.request('POST', '/api/members', {
        token: c.tokens.cashier,
        body: { mobile, name: 'Statement Member', smsConsent: true, showroomCode: 'MUM-01' },
      });
      memberId = enrolled.body.member.id;
      await saleAt('2026-11-01T06:30:00.000Z', 'ST-1', 1_000); // 50 points, 1 Nov (IST)
      await saleAt('2026-11-04T20:00:00.000Z', 'ST-2', 200); // 10 points, 5 Nov 01:30 IST
      c.clock.set('2026-11-06T05:00:00.000Z');
      const adjusted = await c.request('POST', `/api/members/${memberId}/adjustments`, {
        token: c.tokens.manager,
        headers: { 'idempotency-key': newKey('st') },
        body: { points: -15, reason: 'goodwill reversed' },
      });
      expect(adjusted.status).toBe(201);
      await saleAt('2026-11-10T19:00:00.000Z', 'ST-3', 400); // 20 points, 11 Nov 00:30 IST
      c.clock.set(now);
      await waitConverged(a.core, c.central);
    });

    it('lists the range with opening, running and closing balances (dates in the chain time zone)', async () => {
      const statement = await a.core.ledgerStatement({
        mobile: mobile.slice(-10),
        from: '2026-11-02',
        to: '2026-11-10',
      });
      expect(statement).toEqual({
        member: { id: memberId, name: 'Statement Member', mobile, balance: 65 },
        from: '2026-11-02',
        to: '2026-11-10',
        openingBalance: 50,
        closingBalance: 45,
        entries: [
          {
            at: '2026-11-04T20:00:00.000Z',
            kind: 'earn',
            points: 10,
            balanceAfter: 60,
            showroomCode: 'MUM-01',
            billNumber: 'ST-2',
            note: null,
          },
          {
            at: '2026-11-06T05:00:00.000Z',
            kind: 'adjust',
            points: -15,
            balanceAfter: 45,
            showroomCode: 'MUM-01',
            billNumber: null,
            note: 'goodwill reversed',
          },
        ],
        truncated: false,
      });
      // Running balances agree with the entries, from the opening to the closing balance.
      let running = statement.openingBalance;
      for (const e of statement.entries) {
        running += e.points;
        expect(e.balanceAfter).toBe(running);
      }
      expect(running).toBe(statement.closingBalance);
      const all = await a.core.ledgerStatement({ mobile, from: '2026-10-01', to: '2026-11-30' });
      expect(all).toMatchObject({ openingBalance: 0, closingBalance: 65, truncated: false });
      expect(all.entries.map((e) => e.billNumber)).toEqual(['ST-1', 'ST-2', null, 'ST-3']);
      const empty = await a.core.ledgerStatement({ mobile, from: '2026-11-07', to: '2026-11-09' });
      expect(empty).toMatchObject({ openingBalance: 45, closingBalance: 45, entries: [] });
    });

    it('says when it lists only the first 5,000 entries, the closing balance still the real one', async () => {
      const many = freshMobile();
      const enrolled = await c.request('POST', '/api/members', {
        token: c.tokens.cashier,
        body: { mobile: many, name: 'Frequent Buyer', smsConsent: false, showroomCode: 'MUM-01' },
      });
      const id: number = enrolled.body.member.id;
      // Entries straight into the ledger (append-only allows inserts): 5,003 bonus points.
      const at = toDbTime(c.central.db, new Date('2026-11-15T06:00:00.000Z'));
      const rows = Array.from({ length: MAX_STATEMENT_ENTRIES + 3 }, (_, i) => ({
        member_id: id,
        kind: 'bonus',
        points: 1,
        balance_after: i + 1,
        created_at: at,
      }));
      for (let i = 0; i < rows.length; i += 500) {
        await c.central.db.knex('ledger_entries').insert(rows.slice(i, i + 500));
      }
      const statement = await a.core.ledgerStatement({
        mobile: many,
        from: '2026-11-15',
        to: '2026-11-15',
      });
      expect(statement.truncated).toBe(true);
      expect(statement.entries).toHaveLength(MAX_STATEMENT_ENTRIES);
      expect(statement.entries.at(-1)?.balanceAfter).toBe(MAX_STATEMENT_ENTRIES);
      expect(statement.closingBalance).toBe(MAX_STATEMENT_ENTRIES + 3);
    });

    it('keeps opening + entries = closing when entry times do not follow the order of writing', async () => {
      const m = freshMobile();
      const enrolled = await c.request('POST', '/api/members', {
        token: c.tokens.cashier,
        body: { mobile: m, name: 'Midnight Buyer', smsConsent: false, showroomCode: 'MUM-01' },
      });
      const id: number = enrolled.body.member.id;
      // Written in this order (ids ascending), but stamped out of order around midnight IST (a
      // commit that waited for the member's lock keeps the earlier time it took).
      const written: [number, string][] = [
        [10, '2026-11-19T18:30:00.500Z'], // 20 Nov 00:00:00.5 IST
        [20, '2026-11-19T18:29:59.900Z'], // 19 Nov 23:59:59.9 IST, written after the one above
        [5, '2026-11-20T06:00:00.000Z'], // 20 Nov 11:30 IST
        [7, '2026-11-20T18:30:01.000Z'], // 21 Nov 00:00:01 IST
        [-3, '2026-11-20T18:29:59.000Z'], // 20 Nov 23:59:59 IST, written after the one above
      ];
      let balance = 0;
      for (const [points, at] of written) {
        balance += points;
        await c.central.db.knex('ledger_entries').insert({
          member_id: id,
          kind: 'bonus',
          points,
          balance_after: balance,
          created_at: toDbTime(c.central.db, new Date(at)),
        });
      }
      const statement = (from: string, to: string) =>
        a.core.ledgerStatement({ mobile: m, from, to });
      const days = await Promise.all(
        ['2026-11-19', '2026-11-20', '2026-11-21'].map((d) => statement(d, d)),
      );
      for (const day of days) {
        let running = day.openingBalance;
        for (const e of day.entries) {
          running += e.points;
          expect(e.balanceAfter).toBe(running);
        }
        expect(running, day.from).toBe(day.closingBalance);
      }
      // Cut in the order of writing: each day starts where the one before ended, and the days
      // together list every entry once.
      expect(days.map((d) => [d.openingBalance, d.closingBalance])).toEqual([
        [0, 0],
        [0, 35],
        [35, 39],
      ]);
      expect(days.flatMap((d) => d.entries.map((e) => e.points))).toEqual([10, 20, 5, 7, -3]);
      const all = await statement('2026-11-19', '2026-11-21');
      expect(all).toMatchObject({ openingBalance: 0, closingBalance: 39 });
      expect(all.entries).toHaveLength(5);
    });

    it('refuses a bad range and an unknown member, changing nothing', async () => {
      const reversed = await refusal(
        a.core.ledgerStatement({ mobile, from: '2026-11-10', to: '2026-11-02' }),
      );
      expect(reversed.code).toBe('validation');
      expect(reversed.message).toMatch(/"from" is after "to"/);
      const long = await refusal(
        a.core.ledgerStatement({ mobile, from: '2025-11-01', to: '2026-11-02' }),
      );
      expect(long.code).toBe('validation');
      expect(long.message).toMatch(/at most 366 days/);
      // 366 days, both ends included, is allowed (a leap year's statement).
      const year = await a.core.ledgerStatement({ mobile, from: '2025-11-11', to: '2026-11-11' });
      expect(year.closingBalance).toBe(65);
      const notDate = await refusal(
        a.core.ledgerStatement({ mobile, from: '2026-02-30', to: '2026-03-01' }),
      );
      expect(notDate.code).toBe('validation');
      const unknown = await refusal(
        a.core.ledgerStatement({ mobile: '9000000009', from: '2026-11-01', to: '2026-11-02' }),
      );
      expect(unknown.code).toBe('member-not-found');
      const badMobile = await refusal(
        a.core.ledgerStatement({ mobile: '12', from: '2026-11-01', to: '2026-11-02' }),
      );
      expect(badMobile.code).toBe('bad-mobile');
    });

    it('is refused plainly at a counter that cannot reach central', async () => {
      const proxy = await startChaosProxy({ host: '127.0.0.1', port: Number(new URL(c.url).port) });
      const t = await startPairedTerminal(c, 'MUM-01', { sync: { centralUrl: proxy.url } });
      try {
        await waitConverged(t.core, c.central);
        await catalogueIn(t.core, 'the catalogue at the counter');
        proxy.setDown(true);
        await waitFor('the counter to see it is offline', () => t.core.status().link !== 'online');
        const offline = await refusal(
          t.core.ledgerStatement({ mobile, from: '2026-11-01', to: '2026-11-02' }),
        );
        expect(offline.code).toBe('offline');
        expect(offline.message).toMatch(/ledger statement.*central/i);
        // Sign-in and the catalogue still work offline.
        expect(await t.core.verifyPin('mum.manager', '9999')).toMatchObject({ role: 'manager' });
        expect(t.core.product('8901534640972')).toBeDefined();
      } finally {
        await t.close();
        await proxy.close();
      }
    });
  });

  it('refuses a protocol 1 terminal with the protocol-version reason', async () => {
    const error = await refusalOf(c.url, { ...a.credentials, protocolVersion: 1 });
    expect(error.data?.code).toBe('protocol-version');
    expect(error.data?.message).toContain(`speaks sync protocol ${PROTOCOL_VERSION}`);
  });
});

/** Runs the central migrations named before `before`, as a database of an older release has them. */
async function migrateUpTo(db: Db, before: string): Promise<void> {
  const dir = new URL('../migrations/central/', import.meta.url);
  const names = fs
    .readdirSync(dir)
    .filter((f) => /^\d{14}_[a-z0-9_]+\.ts$/.test(f) && f < before)
    .sort();
  const source: Knex.MigrationSource<string> = {
    getMigrations: () => Promise.resolve(names),
    getMigrationName: (name) => name,
    getMigration: async (name) =>
      (await import(pathToFileURL(path.join(dir.pathname, name)).href)) as Knex.Migration,
  };
  await db.knex.migrate.latest({ migrationSource: source });
}

describeEachDb('counter catalogue migration', (dialect) => {
  /** A database migrated as the release before it, with members 1–5 (seq 1–5, head 5). */
  async function olderRelease(): Promise<{
    db: Db;
    drop(): Promise<void>;
    sale(memberId: number, key: string, soldAt: string): Promise<void>;
  }> {
    const database = await createTestDatabase(dialect);
    const db = openDb({
      dataDir: database.env.DATA_DIR,
      ...(database.env.DATABASE_URL ? { databaseUrl: database.env.DATABASE_URL } : {}),
    });
    await migrateUpTo(db, '20261125090000');
    const t = (iso: string) => toDbTime(db, new Date(iso));
    const [showroom] = await db
      .knex('showrooms')
      .insert({
        code: 'MUM-01',
        name: 'Andheri West',
        city: 'Mumbai',
        created_at: t('2026-01-01T00:00:00Z'),
      })
      .returning('id');
    await db.knex('members').insert(
      [1, 2, 3, 4, 5].map((id) => ({
        id,
        mobile: `+91982000000${id}`,
        name: `Member ${id}`,
        sms_consent: true,
        consent_at: t('2026-01-01T00:00:00Z'),
        enrolled_at: t('2026-01-01T00:00:00Z'),
        balance: 0,
        seq: id,
        updated_at: t('2026-01-01T00:00:00Z'),
      })),
    );
    await db.knex('change_seq').where('id', 1).update({ head: 5 });
    return {
      db,
      drop: async () => {
        await db.knex.destroy();
        await database.drop();
      },
      sale: async (memberId, key, soldAt) => {
        await db.knex('sales').insert({
          idempotency_key: key,
          member_id: memberId,
          showroom_id: (showroom as { id: number }).id,
          bill_number: key,
          sold_at: t(soldAt),
          recorded_at: t(soldAt),
          amount_paise: 100,
          points: 0,
        });
      },
    };
  }

  async function membersOf(db: Db): Promise<[number, number, string | null][]> {
    const rows: { id: number; seq: number; last_visit_at: unknown }[] = await db
      .knex('members')
      .orderBy('id')
      .select('id', 'seq', 'last_visit_at');
    return rows.map((r) => [
      r.id,
      r.seq,
      r.last_visit_at === null ? null : new Date(r.last_visit_at as string).toISOString(),
    ]);
  }

  it('gives members who already bought their last visit, each under its own new change number above the old head', async () => {
    const old = await olderRelease();
    const { db } = old;
    try {
      await old.sale(1, 'B-1', '2026-11-02T10:00:00.000Z');
      await old.sale(5, 'B-2', '2026-11-04T08:00:00.000Z');
      await old.sale(1, 'B-3', '2026-11-05T12:30:00.000Z');
      await old.sale(3, 'B-4', '2026-11-01T09:15:00.000Z');
      await old.sale(1, 'B-5', '2026-11-03T09:00:00.000Z');
      await old.sale(2, 'B-6', '2026-10-30T18:45:00.000Z');
      // This migration runs first; the later ones (console, reports) follow it.
      expect((await migrateLatest(db))[0]).toBe('20261125090000_counter_catalogue.ts');
      const rows = await membersOf(db);
      // Four buyers: four distinct numbers 6–9 above the old head 5; member 4 keeps its own.
      expect(rows).toEqual([
        [1, 6, '2026-11-05T12:30:00.000Z'],
        [2, 7, '2026-10-30T18:45:00.000Z'],
        [3, 8, '2026-11-01T09:15:00.000Z'],
        [4, 4, null],
        [5, 9, '2026-11-04T08:00:00.000Z'],
      ]);
      const restamped = rows.filter((r) => r[2] !== null).map((r) => r[1]);
      expect(new Set(restamped).size).toBe(restamped.length);
      expect(Math.min(...restamped)).toBeGreaterThan(5);
      expect((await db.knex('change_seq').first('head'))?.head).toBe(9);
      // A pull after the head the terminals had brings exactly the restamped members.
      const page = await pullChanges(db, 5, 100);
      expect(parseStateRows(page.states).map((m) => m.id)).toEqual([1, 2, 3, 5]);
      expect(page.head).toBe(9);
      // And the rules bookkeeping starts: a revision and a catalogue version.
      const meta: { key: string }[] = await db
        .knex('meta')
        .whereIn('key', ['rules_revision', 'catalogue_version'])
        .select('key');
      expect(meta).toHaveLength(2);
    } finally {
      await old.drop();
    }
  });

  if (dialect === 'pg') {
    it('waits for a central still writing (rolling upgrade): it takes members before change_seq, as the writer does', async () => {
      const old = await olderRelease();
      const { db } = old;
      try {
        await old.sale(1, 'B-1', '2026-11-02T10:00:00.000Z');
        await old.sale(2, 'B-2', '2026-11-03T10:00:00.000Z');
        // An old central's writer: member 2 locked FOR UPDATE, its change number still to take.
        const writer = await db.knex.transaction();
        await writer('members').where('id', 2).forUpdate().select('id');
        const migrating = migrateLatest(db);
        await waitFor('the migration to wait for the writer', async () => {
          const waiting = await db
            .knex('pg_stat_activity')
            .where({ datname: db.knex.raw('current_database()'), wait_event_type: 'Lock' })
            .count({ n: '*' })
            .first();
          return Number(waiting?.n) > 0;
        });
        // The writer finishes as stampMembers does: change_seq, then the member, then commit.
        await writer.raw(
          `with head as (update change_seq set head = head + 1 where id = 1 returning head)
           update members set balance = 7, seq = head.head from head where members.id = 2`,
        );
        await writer.commit();
        // This migration runs first; the later ones (console, reports) follow it.
        expect((await migrating)[0]).toBe('20261125090000_counter_catalogue.ts');
        // The writer's change is 6; the backfill's come after it, each its own.
        expect(await membersOf(db)).toEqual([
          [1, 7, '2026-11-02T10:00:00.000Z'],
          [2, 8, '2026-11-03T10:00:00.000Z'],
          [3, 3, null],
          [4, 4, null],
          [5, 5, null],
        ]);
        expect((await db.knex('members').where('id', 2).first('balance'))?.balance).toBe(7);
      } finally {
        await old.drop();
      }
    });
  }
});

describe('demo chain', () => {
  it('has a valid EAN-13 for every product, all four categories, and a PIN for every login', () => {
    expect(DEMO_PRODUCTS.length).toBeGreaterThanOrEqual(40);
    expect(new Set(DEMO_PRODUCTS.map((p) => p.sku)).size).toBe(DEMO_PRODUCTS.length);
    for (const p of DEMO_PRODUCTS) {
      expect(p.sku, p.name).toMatch(/^\d{13}$/);
      expect(hasValidCheckDigit(p.sku), `${p.sku} ${p.name}`).toBe(true);
    }
    for (const code of ['ELEC', 'ELTR', 'APPL', 'BOOK']) {
      expect(DEMO_PRODUCTS.filter((p) => p.categoryCode === code).length).toBeGreaterThanOrEqual(8);
    }
    expect(new Set(DEMO_LOGINS.map((l) => l.pin)).size).toBe(DEMO_LOGINS.length);
    for (const l of DEMO_LOGINS) expect(l.pin).toMatch(/^\d{4,8}$/);
  });

  it('seeds staff a counter can sign in with and a catalogue it can scan', async () => {
    const database = await createTestDatabase('sqlite');
    const central = await createCentral(loadConfig({ ...database.env, LOG_LEVEL: 'silent' }));
    try {
      await seedDemo(central);
      const mumbai: { id: number } = await central.db
        .knex('showrooms')
        .where('code', 'MUM-01')
        .first('id');
      const rules = await loadRules(central.db, mumbai.id);
      const catalogue = await cataloguePage(central.db, undefined, 5_000);
      expect(catalogue).toMatchObject({ version: rules.catalogueVersion, hasMore: false });
      expect(catalogue.products).toHaveLength(DEMO_PRODUCTS.length);
      expect(rules.staff.map((s) => s.username).sort()).toEqual([
        'admin',
        'mum.cashier',
        'mum.manager',
      ]);
      const cashier = DEMO_LOGINS.find((l) => l.username === 'mum.cashier');
      const hash = rules.staff.find((s) => s.username === 'mum.cashier')?.pinHash ?? '';
      expect(await verifySecret(cashier?.pin ?? '', hash)).toBe(true);
      // The demo's own sales use catalogue barcodes, and their members have a last visit.
      const skus: { sku: string }[] = await central.db.knex('sale_lines').distinct('sku');
      for (const { sku } of skus) expect(catalogue.products.map((p) => p.sku)).toContain(sku);
      const visited = await central.db
        .knex('members')
        .whereNotNull('last_visit_at')
        .count({ n: '*' })
        .first();
      expect(Number(visited?.n)).toBeGreaterThan(0);
    } finally {
      await central.db.knex.destroy();
      await database.drop();
    }
  });

  it('hashes a PIN with scrypt in shared code: central and counter agree', async () => {
    const hash = await hashSecret('4321');
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$[^$]+\$[^$]+$/);
    expect(await verifySecret('4321', hash)).toBe(true);
    expect(await verifySecret('4322', hash)).toBe(false);
  });
});

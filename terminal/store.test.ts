import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CataloguePage, ProductRule, Rules } from '../shared/protocol/sync.ts';
import { foldName, migrate, TERMINAL_MIGRATIONS, TerminalStore } from './store.ts';

const row = (
  id: number,
  mobile: string,
  name: string,
  balance: number,
  seq: number,
  lastVisitAt: string | null = null,
) => [id, mobile, name, balance, 'base', 1, seq, lastVisitAt];

/** Rules as central sends them, naming catalogue `catalogueVersion`. */
const rulesWith = (version: string, catalogueVersion = 'c1'): Rules => ({
  version,
  chainName: 'Vijay Electricals',
  pointValuePaise: 50,
  showrooms: [{ code: 'MUM-01', name: 'Andheri West', city: 'Mumbai' }],
  categories: [{ code: 'ELEC', name: 'Electrical' }],
  rates: [
    { categoryCode: 'ELEC', pointsPer100Rupees: 2, effectiveFrom: '2026-01-01T00:00:00.000Z' },
  ],
  staff: [{ id: 3, username: 'mum.cashier', name: 'Rahul Verma', role: 'cashier', pinHash: 'x' }],
  catalogueVersion,
});

/** Products SKU-0000001… in ELEC, named `Product n` (with `suffix`). */
const productsTo = (count: number, suffix = ''): ProductRule[] =>
  Array.from({ length: count }, (_, i) => ({
    sku: `SKU-${String(i + 1).padStart(7, '0')}`,
    name: `Product ${i + 1}${suffix}`,
    categoryCode: 'ELEC',
  }));

/** A catalogue as central pages it: `pageSize` products a page, by SKU. */
const pagesOf = (version: string, products: ProductRule[], pageSize: number): CataloguePage[] => {
  const pages: CataloguePage[] = [];
  for (let i = 0; i < products.length || i === 0; i += pageSize) {
    const slice = products.slice(i, i + pageSize);
    const hasMore = i + pageSize < products.length;
    pages.push({
      version,
      products: slice,
      hasMore,
      nextAfterSku: hasMore ? (slice.at(-1)?.sku ?? null) : null,
    });
  }
  return pages;
};

describe('terminal cache', () => {
  let dir: string;
  let store: TerminalStore;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-store-'));
    store = new TerminalStore(path.join(dir, 'cache.sqlite'));
  });
  afterEach(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('applies a page and its cursor together, and only states newer than the row held', () => {
    store.applyPage(
      JSON.stringify([
        row(1, '+919820011111', 'Meena Iyer', 10, 5),
        row(2, '+919820022222', 'Ravi', 0, 6),
      ]),
      { cursor: 6, epoch: 'e1' },
    );
    expect(store.cursor).toBe(6);
    // An older state of member 1 (seq 4) arrives late: it is ignored.
    store.applyPage(JSON.stringify([row(1, '+919820011111', 'Meena Iyer', 3, 4)]), {
      cursor: 6,
      epoch: 'e1',
    });
    expect(store.findById(1)?.balance).toBe(10);
    store.applyChanges(
      [
        {
          id: 1,
          mobile: '+919820011111',
          name: 'Meena Iyer',
          balance: 12,
          tier: 'base',
          smsConsent: true,
          seq: 7,
          lastVisitAt: '2026-11-20T06:30:00.000Z',
        },
      ],
      { cursor: 7, epoch: 'e1' },
    );
    expect(store.findById(1)).toMatchObject({
      balance: 12,
      lastVisitAt: '2026-11-20T06:30:00.000Z',
    });
    expect(store.cursor).toBe(7);
  });

  it("keeps a member's last visit from a page, and refuses one that is not an ISO instant", () => {
    store.applyPage(
      JSON.stringify([
        row(1, '+919820011111', 'Meena Iyer', 10, 5, '2026-11-19T10:00:00.000Z'),
        row(2, '+919820022222', 'Ravi', 0, 6),
      ]),
      { cursor: 6, epoch: 'e1' },
    );
    expect(store.findById(1)?.lastVisitAt).toBe('2026-11-19T10:00:00.000Z');
    expect(store.findByMobile('+919820022222')?.lastVisitAt).toBeNull();
    expect(store.allMembers().map((m) => m.lastVisitAt)).toEqual([
      '2026-11-19T10:00:00.000Z',
      null,
    ]);
    for (const bad of ['yesterday', 1_700_000_000_000]) {
      expect(() => {
        store.applyPage(
          JSON.stringify([
            row(3, '+919820033333', 'Bad', 0, 7),
            [4, '+919820044444', 'Bad', 0, 'base', 1, 8, bad],
          ]),
          {
            cursor: 8,
            epoch: 'e1',
          },
        );
      }).toThrow();
    }
    expect(store.cursor).toBe(6);
    expect(store.memberCount()).toBe(2);
  });

  it('stores rules apart from the catalogue they name', () => {
    store.applyPage('[]', { cursor: 0, epoch: 'e1', rules: rulesWith('v1', 'c7') });
    expect(store.rules).toMatchObject({
      version: 'v1',
      chainName: 'Vijay Electricals',
      catalogueVersion: 'c7',
    });
    expect(store.catalogueVersion).toBeUndefined();
    expect(store.catalogueStaging).toBeUndefined();
  });

  it('stages a catalogue page by page and swaps it in whole: lookups use the last complete one until then', () => {
    const [only] = pagesOf('c1', productsTo(3), 5_000);
    if (!only) throw new Error('no page');
    expect(store.stageCataloguePage(only, true)).toBe(true);
    expect(store.catalogueVersion).toBe('c1');
    expect(store.product('SKU-0000003')).toEqual({
      sku: 'SKU-0000003',
      name: 'Product 3',
      categoryCode: 'ELEC',
    });

    // 50,000 products in ten pages. Until the last page, the old catalogue answers.
    const pages = pagesOf('c2', productsTo(50_000, ' (new)'), 5_000);
    expect(pages).toHaveLength(10);
    pages.slice(0, -1).forEach((page, i) => {
      expect(store.stageCataloguePage(page, i === 0)).toBe(false);
      expect(store.catalogueStaging).toEqual({ version: 'c2', afterSku: page.nextAfterSku });
      expect(store.product('SKU-0000003')?.name).toBe('Product 3');
      expect(store.product('SKU-0049999')).toBeUndefined();
      expect(store.catalogueVersion).toBe('c1');
    });
    const last = pages.at(-1);
    if (!last) throw new Error('no page');
    const started = performance.now();
    expect(store.stageCataloguePage(last, false)).toBe(true);
    const swapMs = performance.now() - started;
    expect(store.catalogueVersion).toBe('c2');
    expect(store.catalogueStaging).toBeUndefined();
    expect(store.product('SKU-0049999')?.name).toBe('Product 49999 (new)');
    expect(store.product('SKU-0000003')?.name).toBe('Product 3 (new)');
    expect(store.db.prepare('SELECT count(*) AS n FROM products_staging').get()).toEqual({ n: 0 });
    // The swap is one transaction of a few tens of milliseconds, even for 50,000 products.
    expect(swapMs).toBeLessThan(1_000);
    // A lookup is an index probe: ten thousand of them in a fraction of a second.
    const lookups = performance.now();
    for (let i = 1; i <= 10_000; i += 1) store.product(`SKU-${String(i * 5).padStart(7, '0')}`);
    expect(performance.now() - lookups).toBeLessThan(500);
    // A smaller catalogue replaces it as a whole: what it no longer lists is gone.
    const [small] = pagesOf('c3', productsTo(2), 5_000);
    if (!small) throw new Error('no page');
    store.stageCataloguePage(small, true);
    expect(store.product('SKU-0000003')).toBeUndefined();
    expect(store.product('SKU-0000002')?.name).toBe('Product 2');
  });

  it('starts a staged catalogue over from its first page, and refuses a page of another version', () => {
    const first = pagesOf('c1', productsTo(30), 10);
    store.stageCataloguePage(first[0] as CataloguePage, true);
    store.stageCataloguePage(first[1] as CataloguePage, false);
    const other = pagesOf('c2', productsTo(30, ' v2'), 10);
    // A page of c2 cannot continue c1: nothing of it is stored.
    expect(() => store.stageCataloguePage(other[1] as CataloguePage, false)).toThrow(/c2.*c1/);
    expect(store.catalogueStaging).toEqual({ version: 'c1', afterSku: 'SKU-0000020' });
    // Starting over clears what c1 left in the staging table.
    for (const [i, page] of other.entries()) store.stageCataloguePage(page, i === 0);
    expect(store.catalogueVersion).toBe('c2');
    expect(store.product('SKU-0000015')?.name).toBe('Product 15 v2');
    // An empty catalogue is one page, and empties the table.
    store.stageCataloguePage(
      { version: 'c3', products: [], hasMore: false, nextAfterSku: null },
      true,
    );
    expect(store.product('SKU-0000015')).toBeUndefined();
    expect(store.catalogueVersion).toBe('c3');
  });

  it('upgrades a protocol 1 cache in place: members kept, last visit empty, old rules usable', () => {
    store.close();
    const file = path.join(dir, 'v1.sqlite');
    const old = new Database(file);
    old.exec(fs.readFileSync(path.join(TERMINAL_MIGRATIONS, '001_cache.sql'), 'utf8'));
    old.pragma('user_version = 1');
    old
      .prepare('INSERT INTO members VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(1, '+919820011111', 'Meena Iyer', 40, 'base', 1, 9);
    const { version, showrooms, categories, rates } = rulesWith('old');
    const v1 = { version, showrooms, categories, rates };
    old.prepare("INSERT INTO meta VALUES ('rules', ?), ('cursor', '9')").run(JSON.stringify(v1));
    old.close();
    store = new TerminalStore(file);
    expect(store.db.pragma('user_version', { simple: true })).toBe(4);
    expect(store.cursor).toBe(9);
    expect(store.findById(1)).toMatchObject({ balance: 40, lastVisitAt: null });
    expect(store.rules).toMatchObject({
      version: 'old',
      rates: v1.rates,
      staff: [],
      chainName: 'Showroom Loyalty',
      pointValuePaise: 100,
    });
    // No catalogue named, none held: nothing to fetch until central's rules name one.
    expect(store.rules?.catalogueVersion).toBeUndefined();
    expect(store.catalogueVersion).toBeUndefined();
    expect(store.product('SKU-0000001')).toBeUndefined();
  });

  it('refuses a malformed page as a whole: nothing applied, cursor unchanged', () => {
    store.applyPage(JSON.stringify([row(1, '+919820011111', 'Meena', 10, 5)]), {
      cursor: 5,
      epoch: 'e1',
    });
    for (const bad of [
      [row(2, '+919820022222', 'Ravi', 1, 6), [3, '+919820033333', 'Bad', 'ten', 'base', 1, 7]],
      [row(2, '+919820022222', 'Ravi', 1, 6), [3, '+919820033333', 'Bad', 1, 'base', 2, 7]],
      [row(2, '+919820022222', 'Ravi', 1, 6), [3, 'not-a-mobile', 'Bad', 1, 'base', 1, 7]],
      [row(2, '+919820022222', 'Ravi', 1, 6), [0, '+919820033333', 'Bad', 1, 'base', 1, 7]],
    ]) {
      expect(() => {
        store.applyPage(JSON.stringify(bad), { cursor: 7, epoch: 'e1' });
      }).toThrow();
      expect(store.cursor).toBe(5);
      expect(store.memberCount()).toBe(1);
    }
    expect(() => {
      store.applyPage('{not json', { cursor: 7, epoch: 'e1' });
    }).toThrow();
    expect(store.cursor).toBe(5);
  });

  it('a mobile that moved to another member follows the newer state', () => {
    store.applyPage(JSON.stringify([row(1, '+919820011111', 'Old Holder', 0, 5)]), {
      cursor: 5,
      epoch: 'e1',
    });
    store.applyPage(JSON.stringify([row(2, '+919820011111', 'New Holder', 0, 9)]), {
      cursor: 9,
      epoch: 'e1',
    });
    expect(store.findByMobile('+919820011111')?.name).toBe('New Holder');
    expect(store.findById(1)).toBeUndefined();
  });

  it('applies pushed states: a new balance, a late older one ignored, a new name and a moved mobile', () => {
    const state = (id: number, mobile: string, name: string, balance: number, seq: number) => ({
      id,
      mobile,
      name,
      balance,
      tier: 'base',
      smsConsent: true,
      seq,
      lastVisitAt: null,
    });
    store.applyChanges(
      [state(1, '+919820011111', 'Meena Iyer', 0, 1), state(2, '+919820022222', 'Ravi', 0, 2)],
      { cursor: 2, epoch: 'e1' },
    );
    // Only the balance changes (the usual push).
    expect(
      store.applyChanges([state(1, '+919820011111', 'Meena Iyer', 20, 3)], {
        cursor: 3,
        epoch: 'e1',
      }),
    ).toBe(1);
    // The same member's older state, late: ignored.
    expect(
      store.applyChanges([state(1, '+919820011111', 'Meena Iyer', 5, 2)], {
        cursor: 3,
        epoch: 'e1',
      }),
    ).toBe(0);
    expect(store.findById(1)?.balance).toBe(20);
    // A new name, then member 1's mobile moved to member 2: lookups follow both.
    store.applyChanges([state(1, '+919820011111', 'Meena Krishnan', 20, 4)], {
      cursor: 4,
      epoch: 'e1',
    });
    expect(store.findByNamePrefix('meena k').map((m) => m.id)).toEqual([1]);
    expect(store.findByNamePrefix('meena i')).toEqual([]);
    store.applyChanges([state(2, '+919820011111', 'Ravi', 7, 5)], { cursor: 5, epoch: 'e1' });
    expect(store.findByMobile('+919820011111')).toMatchObject({ id: 2, name: 'Ravi', balance: 7 });
    expect(store.findByLastDigits('2222')).toEqual([]);
    expect(store.findById(1)).toBeUndefined();
    expect(store.cursor).toBe(5);
  });

  it('looks up by last digits (four or more) and by name prefix in any script', () => {
    store.applyPage(
      JSON.stringify([
        row(1, '+919820011234', 'Meena Iyer', 0, 1),
        row(2, '+919833301234', 'meenakshi Rao', 0, 2),
        row(3, '+919811055555', 'अमित सिंह', 0, 3),
      ]),
      { cursor: 3, epoch: 'e1' },
    );
    expect(store.findByLastDigits('1234').map((m) => m.id)).toEqual([1, 2]);
    expect(store.findByLastDigits('11234').map((m) => m.id)).toEqual([1]);
    expect(store.findByLastDigits('234')).toEqual([]);
    expect(store.findByNamePrefix('MEEN').map((m) => m.id)).toEqual([1, 2]);
    expect(store.findByNamePrefix('meena ').map((m) => m.id)).toEqual([1]);
    expect(store.findByNamePrefix('अमि').map((m) => m.id)).toEqual([3]);
    expect(foldName('  Priya  Sharma')).toBe('priya sharma');
  });

  it('a queued sale counts as pending until central applies it; a refused one stops counting', () => {
    store.applyPage(JSON.stringify([row(1, '+919820011111', 'Meena', 10, 5)]), {
      cursor: 5,
      epoch: 'e1',
    });
    const item = (key: string, points: number) => ({
      key,
      kind: 'sale' as const,
      body: { billNumber: key },
      mobile: '+919820011111',
      pendingPoints: points,
      createdAt: new Date().toISOString(),
    });
    store.enqueue(item('k-0000001', 7));
    store.enqueue(item('k-0000002', 5));
    expect(store.findByMobile('+919820011111')).toMatchObject({ balance: 10, pendingPoints: 12 });
    expect(() => {
      store.enqueue(item('k-0000001', 7));
    }).toThrow(); // a key is taken once
    store.settle([
      { key: 'k-0000001', fate: 'applied' },
      { key: 'k-0000002', fate: 'refused', error: { detail: 'no' } },
    ]);
    expect(store.findByMobile('+919820011111')?.pendingPoints).toBe(0);
    expect(store.outboxCounts()).toEqual({ queued: 0, refused: 1, discarded: 0 });
    expect(store.retry('k-0000002')).toBe(true);
    expect(store.outboxCounts().queued).toBe(1);
  });

  it('records a sale’s bill in the same commit as its outbox item, once', () => {
    const sale = (key: string, billNumber: string) => ({
      key,
      kind: 'sale' as const,
      body: { billNumber },
      mobile: '+919820011111',
      pendingPoints: 9,
      createdAt: new Date().toISOString(),
      bill: { billNumber, lines: [{ sku: 'A', amountPaise: 100 }] },
    });
    store.enqueue(sale('k-bill-0001', 'B-1'));
    expect(store.bill('B-1')).toEqual({
      key: 'k-bill-0001',
      mobile: '+919820011111',
      lines: JSON.stringify([{ sku: 'A', amountPaise: 100 }]),
      points: 9,
    });
    // A second item under the same bill fails as a whole: no outbox row is left behind.
    expect(() => {
      store.enqueue(sale('k-bill-0002', 'B-1'));
    }).toThrow();
    expect(store.outboxItem('k-bill-0002')).toBeUndefined();
    // The bill outlives its outbox item, so a retry after central applied it is still known.
    store.settle([{ key: 'k-bill-0001', fate: 'applied' }]);
    expect(store.outboxItem('k-bill-0001')).toBeUndefined();
    expect(store.bill('B-1')?.key).toBe('k-bill-0001');
  });

  it('refuses a cache made by a newer version, with a message', () => {
    store.close();
    const db = new Database(path.join(dir, 'cache.sqlite'));
    db.pragma('user_version = 99');
    expect(() => migrate(db)).toThrow(/newer version.*update this terminal/);
    db.close();
    store = new TerminalStore(path.join(dir, 'other.sqlite'));
  });
});

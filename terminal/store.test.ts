import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { foldName, migrate, TerminalStore } from './store.ts';

const row = (id: number, mobile: string, name: string, balance: number, seq: number) => [
  id,
  mobile,
  name,
  balance,
  'base',
  1,
  seq,
];

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
        },
      ],
      { cursor: 7, epoch: 'e1' },
    );
    expect(store.findById(1)?.balance).toBe(12);
    expect(store.cursor).toBe(7);
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

  it('refuses a cache made by a newer version, with a message', () => {
    store.close();
    const db = new Database(path.join(dir, 'cache.sqlite'));
    db.pragma('user_version = 99');
    expect(() => migrate(db)).toThrow(/newer version.*update this terminal/);
    db.close();
    store = new TerminalStore(path.join(dir, 'other.sqlite'));
  });
});

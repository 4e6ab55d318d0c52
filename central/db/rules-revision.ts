import { randomBytes } from 'node:crypto';
import type { Q } from './ledger-store.ts';

/** `meta` key of the counter bumped by every change to the terminals' rules. */
export const RULES_REVISION = 'rules_revision';

/** `meta` key of the catalogue's version: a fresh random token whenever a product changes. */
export const CATALOGUE_VERSION = 'catalogue_version';

/**
 * Records that the terminals' rules changed (a setting, showroom, category, rate, staff member
 * or PIN; with `catalogue`, a product too). Call it inside the transaction that makes the
 * change, so that the new revision is visible exactly when the change is: every central
 * process reads only this value on each heartbeat and reloads the rules when it moved.
 */
export async function bumpRulesRevision(q: Q, change: { catalogue?: boolean } = {}): Promise<void> {
  // One statement for both dialects: meta.value is text.
  const n = await q('meta')
    .where('key', RULES_REVISION)
    .update({ value: q.raw('cast(cast(value as bigint) + 1 as varchar(20))') });
  if (n === 0) throw new Error('meta has no rules_revision: run the migrations');
  if (change.catalogue) {
    await q('meta')
      .where('key', CATALOGUE_VERSION)
      .update({ value: randomBytes(8).toString('hex') });
  }
}

/** The replication facts one query reads: the epoch and the rules' revision. */
export async function readSyncFacts(q: Q): Promise<{ epoch: string; rulesRevision: string }> {
  const rows: { key: string; value: string }[] = await q('meta')
    .whereIn('key', ['epoch', RULES_REVISION])
    .select('key', 'value');
  const value = (key: string) => rows.find((r) => r.key === key)?.value;
  const epoch = value('epoch');
  if (epoch === undefined) throw new Error('meta has no epoch: run the migrations');
  return { epoch, rulesRevision: value(RULES_REVISION) ?? '0' };
}

/** The catalogue's current version ('' before the catalogue migration gave it one). */
export async function readCatalogueVersion(q: Q): Promise<string> {
  const row: { value: string } | undefined = await q('meta')
    .where('key', CATALOGUE_VERSION)
    .first('value');
  return row?.value ?? '';
}

import type { Knex } from 'knex';
import type { SettingsCache } from '../db/settings-store.ts';
import * as smsStore from '../db/sms-store.ts';
import type { StatementBatch } from '../db/statement-batch.ts';
import type { EarnedEvent } from '../ledger/writer.ts';
import { compose, type Composer } from './messages.ts';
import { fitName, fitRef } from './templates.ts';

/** How long an earn notice may wait for the gateway before it is no longer worth sending. */
const NOTICE_TTL_MS = 24 * 3_600_000;

/**
 * Writes an earn notice for each sale that earned points, to members who consented, in the
 * sale's own transaction: a notice exists exactly when its sale does, and once (its dedupe key
 * is the sale's idempotency key).
 */
export function earnNotices(deps: { settings: SettingsCache; composer: Composer }) {
  // Showroom names change rarely; a copy a minute old saves a query in every sale's commit.
  let showrooms: { names: Map<number, string>; atMs: number } | undefined;
  return async (
    trx: Knex.Transaction,
    events: { now: Date; earned: EarnedEvent[] },
    batch?: StatementBatch,
  ): Promise<void> => {
    const wanted = events.earned.filter((e) => e.smsConsent && e.points > 0);
    if (wanted.length === 0) return;
    const settings = await deps.settings.get(trx);
    if (!settings.earnNotices) return;
    if (
      !showrooms ||
      performance.now() - showrooms.atMs > SHOWROOM_TTL_MS ||
      wanted.some((e) => !showrooms?.names.has(e.showroomId))
    ) {
      const rows: { id: number; name: string }[] = await trx('showrooms').select('id', 'name');
      showrooms = { names: new Map(rows.map((r) => [r.id, r.name])), atMs: performance.now() };
    }
    const names = showrooms.names;
    const rows = wanted.map((e) =>
      compose(deps.composer, {
        kind: 'earn',
        dedupeKey: `earn:${e.key}`,
        memberId: e.memberId,
        mobile: e.mobile,
        values: {
          name: fitName(e.name),
          points: String(e.points),
          bill: fitRef(e.billNumber),
          showroom: fitName(names.get(e.showroomId) ?? ''),
          balance: String(e.balanceAfter),
        },
        expiresAt: new Date(events.now.getTime() + NOTICE_TTL_MS),
      }),
    );
    if (batch) smsStore.insertOutboxIn(batch, trx, rows, events.now);
    else await smsStore.insertOutbox(trx, rows, events.now);
  };
}

const SHOWROOM_TTL_MS = 60_000;

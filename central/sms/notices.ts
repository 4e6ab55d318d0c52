import type { Knex } from 'knex';
import type { Db } from '../db/connect.ts';
import type { SettingsCache } from '../db/settings-store.ts';
import * as smsStore from '../db/sms-store.ts';
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
export function earnNotices(deps: { db: Db; settings: SettingsCache; composer: Composer }) {
  return async (
    trx: Knex.Transaction,
    events: { now: Date; earned: EarnedEvent[] },
  ): Promise<void> => {
    const settings = await deps.settings.get(trx);
    if (!settings.earnNotices) return;
    const ids = [...new Set(events.earned.map((e) => e.memberId))];
    const memberRows: { id: number; mobile: string; name: string }[] = await trx('members')
      .whereIn('id', ids)
      .where('sms_consent', true)
      .select('id', 'mobile', 'name');
    const members = new Map(memberRows.map((m) => [m.id, m]));
    if (members.size === 0) return;
    const showroomRows: { id: number; name: string }[] = await trx('showrooms').select(
      'id',
      'name',
    );
    const showrooms = new Map(showroomRows.map((s) => [s.id, s.name]));
    const rows = events.earned.flatMap((e) => {
      const member = members.get(e.memberId);
      if (!member || e.points <= 0) return [];
      return [
        compose(deps.composer, {
          kind: 'earn',
          dedupeKey: `earn:${e.key}`,
          memberId: e.memberId,
          mobile: member.mobile,
          values: {
            name: fitName(member.name),
            points: String(e.points),
            bill: fitRef(e.billNumber),
            showroom: fitName(showrooms.get(e.showroomId) ?? ''),
            balance: String(e.balanceAfter),
          },
          expiresAt: new Date(events.now.getTime() + NOTICE_TTL_MS),
        }),
      ];
    });
    await smsStore.insertOutbox(trx, rows, events.now);
  };
}

import { rateAt, type EarnRate } from '../../shared/points/earn.ts';
import type {
  CategoryRatesView,
  RatesList,
  RateStatus,
  ShowroomView,
  UpdateShowroomRequest,
} from '../../shared/protocol/admin.ts';
import { recordAudit } from '../audit/audit-log.ts';
import * as adminStore from '../db/admin-store.ts';
import type { Db } from '../db/connect.ts';
import { findShowroomId } from '../db/staff-store.ts';
import { insertPairingCode } from '../db/sync-store.ts';
import { AppError } from '../errors.ts';
import { RATE_LEAD_MS } from '../ledger/writer.ts';
import { hashPairingCode, newPairingCode, PAIRING_TTL_MS } from '../sync/pairing.ts';
import type { AdminContext } from './staff-admin.ts';

/** Renames a showroom or changes its city, with its audit row. */
export async function updateShowroom(
  ctx: AdminContext,
  code: string,
  patch: UpdateShowroomRequest,
): Promise<ShowroomView> {
  const { db } = ctx;
  return db.knex.transaction(async (trx) => {
    const before = await adminStore.findShowroom(trx, code);
    if (!before) throw new AppError('not-found', `There is no showroom ${code}.`);
    const after = { code, name: patch.name ?? before.name, city: patch.city ?? before.city };
    if (after.name === before.name && after.city === before.city) return after;
    await adminStore.updateShowroom(trx, before.id, patch);
    await recordAudit(
      db,
      trx,
      ctx.actor,
      {
        action: 'showroom.update',
        targetType: 'showroom',
        targetId: code,
        before: { name: before.name, city: before.city },
        after: { name: after.name, city: after.city },
      },
      ctx.now,
    );
    return after;
  });
}

/**
 * Issues a pairing code for a showroom, with an audit row that records that a code was issued
 * and until when, never the code itself (it is a credential until used or expired).
 */
export async function issueAuditedPairingCode(
  ctx: AdminContext,
  showroomCode: string,
): Promise<{ code: string; expiresAt: Date } | undefined> {
  const showroomId = await findShowroomId(ctx.db, showroomCode);
  if (showroomId === undefined) return undefined;
  const code = newPairingCode();
  const expiresAt = new Date(ctx.now.getTime() + PAIRING_TTL_MS);
  await insertPairingCode(ctx.db, hashPairingCode(code), showroomId, ctx.now, expiresAt, (trx) =>
    recordAudit(
      ctx.db,
      trx,
      ctx.actor,
      {
        action: 'terminal.pairing-code',
        targetType: 'showroom',
        targetId: showroomCode,
        after: { expiresAt: expiresAt.toISOString() },
      },
      ctx.now,
    ),
  );
  return { code, expiresAt };
}

/** Renames a category (its code, which sales and products carry, never changes). */
export async function renameCategory(
  ctx: AdminContext,
  code: string,
  name: string,
): Promise<{ code: string; name: string }> {
  const { db } = ctx;
  return db.knex.transaction(async (trx) => {
    const before = await adminStore.findCategory(trx, code);
    if (!before) throw new AppError('not-found', `There is no category ${code}.`);
    if (before.name === name) return { code, name };
    await adminStore.renameCategory(trx, before.id, name);
    await recordAudit(
      db,
      trx,
      ctx.actor,
      {
        action: 'category.update',
        targetType: 'category',
        targetId: code,
        before: { name: before.name },
        after: { name },
      },
      ctx.now,
    );
    return { code, name };
  });
}

/** Whether a scheduled rate may still be cancelled at `now`: every counter must hear of it in time. */
export function isCancellable(effectiveFrom: string, now: Date): boolean {
  return Date.parse(effectiveFrom) >= now.getTime() + RATE_LEAD_MS;
}

/**
 * Cancels a rate that has not started. Like a new rate, a cancellation is refused within
 * RATE_LEAD_MS of its start: a counter offline since then could otherwise earn at a rate
 * central no longer has. A rate in force or past is history and stays.
 */
export async function cancelRate(ctx: AdminContext, code: string, rateId: number): Promise<void> {
  const { db } = ctx;
  await db.knex.transaction(async (trx) => {
    const category = await adminStore.findCategory(trx, code);
    if (!category) throw new AppError('unknown-category', `There is no category ${code}.`);
    const rate = await adminStore.findRate(db, trx, category.id, rateId);
    if (!rate) throw new AppError('not-found', `Category ${code} has no rate ${rateId}.`);
    if (!isCancellable(rate.effectiveFrom, ctx.now)) {
      const started = Date.parse(rate.effectiveFrom) <= ctx.now.getTime();
      throw new AppError(
        'rate-not-cancellable',
        started
          ? `The rate of ${rate.pointsPer100Rupees} points per ₹100 for ${code} has applied since ${rate.effectiveFrom}: what was earned at it stays. Schedule a new rate instead.`
          : `The rate of ${rate.pointsPer100Rupees} points per ₹100 for ${code} starts at ${rate.effectiveFrom}, less than a minute from now: the counters already apply it. Schedule a new rate after it instead.`,
      );
    }
    await adminStore.deleteRate(trx, rateId);
    await recordAudit(
      db,
      trx,
      ctx.actor,
      {
        action: 'rate.cancel',
        targetType: 'category',
        targetId: code,
        before: {
          rateId,
          pointsPer100Rupees: rate.pointsPer100Rupees,
          effectiveFrom: rate.effectiveFrom,
        },
      },
      ctx.now,
    );
  });
}

/** Every category with its rate history, each rate's standing at `now`, and the rate in force. */
export async function listRates(db: Db, now: Date): Promise<RatesList> {
  const { categories, rates } = await adminStore.listRateHistory(db);
  const earnRates: EarnRate[] = rates.map((r) => ({
    categoryCode: r.categoryCode,
    pointsPer100Rupees: r.pointsPer100Rupees,
    effectiveFrom: r.effectiveFrom,
  }));
  const views: CategoryRatesView[] = categories.map((c) => {
    const own = rates.filter((r) => r.categoryCode === c.code);
    // The rate in force is the latest started one (rates are sorted by start).
    const inForce = own.filter((r) => Date.parse(r.effectiveFrom) <= now.getTime()).at(-1);
    const status = (r: adminStore.RateRow): RateStatus =>
      r === inForce
        ? 'in-force'
        : Date.parse(r.effectiveFrom) > now.getTime()
          ? 'scheduled'
          : 'past';
    const points = rateAt(earnRates, c.code, now);
    return {
      code: c.code,
      name: c.name,
      rateInForce:
        inForce && points !== undefined
          ? { pointsPer100Rupees: points, effectiveFrom: inForce.effectiveFrom }
          : null,
      rates: own.map((r) => ({
        id: r.id,
        pointsPer100Rupees: r.pointsPer100Rupees,
        effectiveFrom: r.effectiveFrom,
        status: status(r),
        cancellable: status(r) === 'scheduled' && isCancellable(r.effectiveFrom, now),
        createdAt: r.createdAt,
        createdBy: r.createdBy,
      })),
    };
  });
  return { asOf: now.toISOString(), categories: views };
}

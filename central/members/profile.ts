import type { MemberProfile } from '../../shared/protocol/members-admin.ts';
import * as ledgerStore from '../db/ledger-store.ts';
import * as store from '../db/member-admin-store.ts';
import { AppError } from '../errors.ts';
import type { MemberAdminDeps } from './deps.ts';
import type { MobileChangeService } from './mobile-change.ts';

/**
 * A member as head office sees it: the record, consent (when, where, by whom), balance and its
 * value, last visit, lifetime figures (with the records merged into it), a redemption or change
 * of mobile under way, and the merges on either side.
 */
export async function memberProfile(
  deps: MemberAdminDeps,
  changes: MobileChangeService,
  memberId: number,
): Promise<MemberProfile> {
  const { db, clock } = deps;
  const member = await ledgerStore.findMemberById(db.knex, memberId);
  const row = await store.memberRow(db, db.knex, memberId);
  if (!member || !row) throw new AppError('not-found', `There is no member ${memberId}.`);
  const settings = await deps.settings.get(db.knex);
  const group = await ledgerStore.mergeGroupIds(db.knex, memberId);
  const facts = await store.profileFacts(
    db,
    { id: memberId, mergedIntoId: row.mergedIntoId },
    group,
    clock.now(),
  );
  const open =
    facts.openMobileChangeId === null
      ? undefined
      : await changes.view(facts.openMobileChangeId, settings);
  return {
    member,
    consent: {
      smsConsent: member.smsConsent,
      at: member.consentAt,
      showroomCode: member.consentShowroomCode,
      staffUsername: facts.consentStaffUsername,
    },
    balance: {
      points: member.balance,
      debtPoints: Math.max(0, -member.balance),
      valuePaise: Math.max(0, member.balance) * settings.pointValuePaise,
    },
    lastVisitAt: facts.lastVisitAt,
    stats: facts.stats,
    pendingRedemption: facts.pendingRedemption,
    pendingMobileChange: open?.status === 'awaiting-otp' ? open : null,
    mergedInto: facts.mergedInto,
    mergedFrom: facts.mergedFrom,
  };
}

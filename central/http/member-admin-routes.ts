import type { Request } from 'express';
import { MemberIdParams } from '../../shared/protocol/api.ts';
import {
  MemberAuditPage,
  MemberAuditQuery,
  MemberProfile,
  MemberSearchQuery,
  MemberSearchResult,
  MergeParams,
  MergeRequest,
  MergeResult,
  MobileChangeConfirmRequest,
  MobileChangeConfirmResult,
  MobileChangeParams,
  MobileChangeRequest,
  MobileChangeResult,
} from '../../shared/protocol/members-admin.ts';
import { listAudit } from '../audit/audit-log.ts';
import * as ledgerStore from '../db/ledger-store.ts';
import { searchMembers } from '../db/member-admin-store.ts';
import type { StaffRecord } from '../db/staff-store.ts';
import { AppError } from '../errors.ts';
import type { MemberAdminDeps, StaffActor } from '../members/deps.ts';
import { mergeMembers } from '../members/merge.ts';
import { MobileChangeService } from '../members/mobile-change.ts';
import { memberProfile } from '../members/profile.ts';
import { route, type AnyRoute } from './route.ts';
import type { RouteDeps } from './routes.ts';

const DEFAULT_SEARCH_LIMIT = 20;

const problem = (description: string) => ({ description });

function actorOf(staff: StaffRecord, req: Request): StaffActor {
  return {
    id: staff.id,
    username: staff.username,
    role: staff.role,
    showroomId: staff.showroomId,
    ip: req.ip ?? null,
  };
}

/**
 * Members in the console: search, profile, merge, change of mobile and a member's audit trail.
 * Managers do all of it (member care is their work; every change is audited with its reason).
 */
export function memberAdminRoutes(deps: RouteDeps): AnyRoute[] {
  const members: MemberAdminDeps = {
    db: deps.db,
    writer: deps.writer,
    clock: deps.clock,
    settings: deps.settings,
    composer: deps.memberCodes.composer,
    otpKey: deps.memberCodes.otpKey,
    wakeSms: deps.memberCodes.wakeSms,
  };
  const changes = new MobileChangeService(members);
  const exists = async (memberId: number) => {
    if (!(await ledgerStore.findMemberById(deps.db.knex, memberId))) {
      throw new AppError('not-found', `There is no member ${memberId}.`);
    }
  };
  return [
    route({
      method: 'get',
      path: '/api/members/search',
      operationId: 'searchMembers',
      summary: 'Search members by mobile or name',
      tag: 'members',
      access: 'manager',
      query: MemberSearchQuery,
      responses: {
        200: { description: 'Members found, best first', schema: MemberSearchResult },
      },
      handler: async ({ query }) => {
        const found = await searchMembers(deps.db, query.q, query.limit ?? DEFAULT_SEARCH_LIMIT);
        return { status: 200, body: { match: query.q.match, ...found } };
      },
    }),
    route({
      method: 'get',
      path: '/api/members/:memberId/profile',
      operationId: 'getMemberProfile',
      summary: 'A member profile: consent, balance, lifetime figures, merges',
      tag: 'members',
      access: 'manager',
      params: MemberIdParams,
      responses: { 200: { description: 'The profile', schema: MemberProfile } },
      handler: async ({ params }) => ({
        status: 200,
        body: await memberProfile(members, changes, params.memberId),
      }),
    }),
    route({
      method: 'post',
      path: '/api/members/:targetId/merge',
      operationId: 'mergeMembers',
      summary: 'Merge another member record into this one, keeping all history',
      tag: 'members',
      access: 'manager',
      params: MergeParams,
      body: MergeRequest,
      responses: {
        200: { description: 'Merged (or merged before: the same answer)', schema: MergeResult },
        409: problem('Into itself, already merged, or a redemption or mobile change under way'),
      },
      handler: async ({ params, body, staff, req }) => ({
        status: 200,
        body: await mergeMembers(
          members,
          { targetId: params.targetId, sourceId: body.sourceMemberId, reason: body.reason },
          actorOf(staff, req),
        ),
      }),
    }),
    route({
      method: 'post',
      path: '/api/members/:memberId/mobile-change',
      operationId: 'requestMobileChange',
      summary: "Start a change of a member's mobile: a code goes to each number",
      tag: 'members',
      access: 'manager',
      params: MemberIdParams,
      body: MobileChangeRequest,
      responses: {
        201: {
          description: 'Codes sent to the old and the new number',
          schema: MobileChangeResult,
        },
        409: problem('The new number belongs to another member'),
      },
      handler: async ({ params, body, staff, req }) => ({
        status: 201,
        body: {
          change: await changes.request(params.memberId, body.newMobile, actorOf(staff, req)),
        },
      }),
    }),
    route({
      method: 'get',
      path: '/api/members/:memberId/mobile-change/:changeId',
      operationId: 'getMobileChange',
      summary: 'A change of mobile and how its codes were delivered',
      tag: 'members',
      access: 'manager',
      params: MobileChangeParams,
      responses: { 200: { description: 'The change', schema: MobileChangeResult } },
      handler: async ({ params }) => {
        const change = await changes.view(params.changeId);
        if (change.memberId !== params.memberId) {
          throw new AppError(
            'not-found',
            `Member ${params.memberId} has no change of mobile ${params.changeId}.`,
          );
        }
        return { status: 200, body: { change } };
      },
    }),
    route({
      method: 'post',
      path: '/api/members/:memberId/mobile-change/:changeId/confirm',
      operationId: 'confirmMobileChange',
      summary: 'Confirm a change of mobile with the codes sent to both numbers',
      tag: 'members',
      access: 'manager',
      params: MobileChangeParams,
      body: MobileChangeConfirmRequest,
      responses: {
        200: { description: 'The mobile changed', schema: MobileChangeConfirmResult },
        409: problem('The new number now belongs to another member'),
        410: problem('The codes expired, or the last try was used'),
        422: problem('A code is wrong (a try is used up)'),
      },
      handler: async ({ params, body, staff, req }) => ({
        status: 200,
        body: await changes.confirm(params.memberId, params.changeId, body, actorOf(staff, req)),
      }),
    }),
    route({
      method: 'post',
      path: '/api/members/:memberId/mobile-change/:changeId/resend',
      operationId: 'resendMobileChange',
      summary: 'Send new codes to both numbers',
      tag: 'members',
      access: 'manager',
      params: MobileChangeParams,
      responses: { 200: { description: 'New codes sent', schema: MobileChangeResult } },
      handler: async ({ params, staff, req }) => ({
        status: 200,
        body: {
          change: await changes.resend(params.memberId, params.changeId, actorOf(staff, req)),
        },
      }),
    }),
    route({
      method: 'post',
      path: '/api/members/:memberId/mobile-change/:changeId/cancel',
      operationId: 'cancelMobileChange',
      summary: 'Cancel a change of mobile',
      tag: 'members',
      access: 'manager',
      params: MobileChangeParams,
      responses: { 200: { description: 'Cancelled', schema: MobileChangeResult } },
      handler: async ({ params, staff, req }) => ({
        status: 200,
        body: {
          change: await changes.cancel(params.memberId, params.changeId, actorOf(staff, req)),
        },
      }),
    }),
    route({
      method: 'get',
      path: '/api/members/:memberId/audit',
      operationId: 'getMemberAudit',
      summary: 'Changes made to a member (and the records merged into it), newest first',
      tag: 'members',
      access: 'manager',
      params: MemberIdParams,
      query: MemberAuditQuery,
      responses: { 200: { description: 'Audit rows', schema: MemberAuditPage } },
      handler: async ({ params, query }) => {
        await exists(params.memberId);
        const group = await ledgerStore.mergeGroupIds(deps.db.knex, params.memberId);
        const pages = await Promise.all(
          group.map((id) =>
            listAudit(deps.db, {
              targetType: 'member',
              targetId: String(id),
              limit: query.limit,
              ...(query.beforeId ? { beforeId: query.beforeId } : {}),
            }),
          ),
        );
        const entries = pages
          .flat()
          .sort((a, b) => b.id - a.id)
          .slice(0, query.limit);
        return { status: 200, body: { entries } };
      },
    }),
  ];
}

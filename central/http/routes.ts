import type { EventEmitter } from 'node:events';
import { z } from 'zod';
import { PROTOCOL_VERSION } from '../../shared/protocol/sync.ts';
import * as syncStore from '../db/sync-store.ts';
import { hashPairingCode, hashTerminalSecret, newTerminalCredentials } from '../sync/pairing.ts';
import * as api from '../../shared/protocol/api.ts';
import { AppError } from '../errors.ts';
import type { Db } from '../db/connect.ts';
import * as catalogue from '../db/catalogue-store.ts';
import * as ledgerStore from '../db/ledger-store.ts';
import * as salesStore from '../db/sales-store.ts';
import * as staffStore from '../db/staff-store.ts';
import {
  hashRequest,
  RATE_LEAD_MS,
  type Actor,
  type LedgerWriter,
  type WriteCommand,
} from '../ledger/writer.ts';
import { hashSecret, newToken, verifySecret } from '../staff/secrets.ts';
import { nextDay, startOfDay, type Clock } from '../time.ts';
import type { Metrics } from '../metrics.ts';
import { route, type AnyRoute, type Reply } from './route.ts';
import { adminRoutes } from './admin-routes.ts';
import { issueAuditedPairingCode } from '../admin/catalogue-admin.ts';
import { auditActorOf, recordAudit } from '../audit/audit-log.ts';
import type { SettingsCache } from '../db/settings-store.ts';
import type { SmsRuntime } from '../sms/config.ts';
import { LoginThrottle } from './login-throttle.ts';
import { consoleRoutes } from './console-routes.ts';
import { memberAdminRoutes } from './member-admin-routes.ts';
import type { Composer } from '../sms/messages.ts';
import { reportRoutes } from './report-routes.ts';

export interface RouteDeps {
  db: Db;
  writer: LedgerWriter;
  clock: Clock;
  metrics: Metrics;
  timeZone: string;
  sessionTtlHours: number;
  version: string;
  changes: EventEmitter;
  /** Drops a session from this process's cache of checked sessions (sign-out). */
  forgetSession?: (tokenHash: string) => void;
  /** The program settings this process caches (forgotten when the console saves them). */
  settings: SettingsCache;
  /** The SMS configuration and provider in use (the console may change them). */
  sms: SmsRuntime;
  /** For the console's change of mobile: composing its code SMS, the OTP key, the SMS worker. */
  memberCodes: { composer: Composer; otpKey: Buffer; wakeSms: () => void };
}

const problem = (description: string) => ({ description });

/** Only terminals receive PINs, and only their showroom's cashiers': a chain-wide cashier's is useless. */
const CASHIER_PIN_NEEDS_SHOWROOM =
  'A cashier signs in with a PIN only at the counters of their own showroom: give the cashier a showroom (showroomCode) to set a PIN.';
const MAX_RANGE_DAYS = 366;

function actorOf(staff: staffStore.StaffRecord): Actor {
  return { staffId: staff.id, role: staff.role, showroomId: staff.showroomId };
}

async function write(deps: RouteDeps, command: WriteCommand): Promise<Reply> {
  try {
    const outcome = await deps.writer.write(command);
    deps.metrics.writes.inc({
      operation: command.kind,
      outcome: outcome.replayed ? 'replayed' : 'written',
    });
    return {
      status: outcome.status,
      body: outcome.body,
      ...(outcome.replayed ? { headers: { 'Idempotent-Replayed': 'true' } } : {}),
    };
  } catch (error) {
    deps.metrics.writes.inc({
      operation: command.kind,
      outcome: error instanceof AppError ? error.code : 'error',
    });
    throw error;
  }
}

function rangeOf(deps: RouteDeps, q: { from: string; to: string }): { from: Date; to: Date } {
  const from = startOfDay(q.from, deps.timeZone);
  const to = startOfDay(nextDay(q.to), deps.timeZone);
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * 86_400_000 + 3_600_000) {
    throw new AppError('validation', `A date range covers at most ${MAX_RANGE_DAYS} days.`, [
      { pointer: 'query:from', message: `at most ${MAX_RANGE_DAYS} days before "to"` },
    ]);
  }
  return { from, to };
}

async function memberOr404(deps: RouteDeps, id: number): Promise<api.Member> {
  const member = await ledgerStore.findMemberById(deps.db.knex, id);
  if (!member) throw new AppError('not-found', `There is no member ${id}.`);
  return member;
}

/** The central HTTP API. Routes parse, authorise and call; the work is elsewhere. */
export function createRoutes(deps: RouteDeps): AnyRoute[] {
  const throttle = new LoginThrottle();
  const pairingThrottle = new LoginThrottle();
  return [
    // First: GET /api/members/search must match before GET /api/members/:memberId does.
    ...memberAdminRoutes(deps),
    route({
      method: 'post',
      path: '/api/terminals/pairing-codes',
      operationId: 'issuePairingCode',
      summary: 'Issue a one-time pairing code for a new terminal',
      tag: 'terminals',
      access: 'admin',
      body: z.object({ showroomCode: api.Code }),
      responses: {
        201: {
          description: 'A code valid 15 minutes, usable once',
          schema: z.object({ code: z.string(), showroomCode: z.string(), expiresAt: z.string() }),
        },
      },
      handler: async ({ body, staff, req }) => {
        const issued = await issueAuditedPairingCode(
          { db: deps.db, actor: auditActorOf(staff, req.ip), now: deps.clock.now() },
          body.showroomCode,
        );
        if (!issued) {
          throw new AppError('unknown-showroom', `There is no showroom ${body.showroomCode}.`);
        }
        const { code, expiresAt } = issued;
        return {
          status: 201,
          body: { code, showroomCode: body.showroomCode, expiresAt: expiresAt.toISOString() },
        };
      },
    }),
    route({
      method: 'post',
      path: '/api/terminals/pair',
      operationId: 'pairTerminal',
      summary: 'Exchange a pairing code for a terminal id and secret',
      tag: 'terminals',
      access: 'public',
      body: z.object({
        code: z.string().min(8).max(12),
        name: z.string().trim().min(1).max(120),
      }),
      responses: {
        201: {
          description: 'Paired; keep the secret, it is shown once',
          schema: z.object({
            terminalId: z.string(),
            secret: z.string(),
            showroomCode: z.string(),
            protocolVersion: z.int(),
          }),
        },
      },
      handler: async ({ body, req }) => {
        const now = deps.clock.now();
        const who = req.socket.remoteAddress ?? 'unknown';
        pairingThrottle.check(who, undefined, now.getTime());
        const codeHash = hashPairingCode(body.code);
        const row: { code: string } | undefined = await deps.db
          .knex('pairing_codes as p')
          .join('showrooms as s', 's.id', 'p.showroom_id')
          .where('p.code_hash', codeHash)
          .first('s.code');
        const credentials = newTerminalCredentials(row?.code ?? 'X');
        const paired = row
          ? await syncStore.pairTerminal(
              deps.db,
              codeHash,
              {
                id: credentials.id,
                name: body.name,
                secretHash: hashTerminalSecret(credentials.secret),
              },
              now,
            )
          : undefined;
        if (!paired) {
          pairingThrottle.fail(who, undefined, now.getTime());
          throw new AppError(
            'unauthenticated',
            'This pairing code is unknown, already used or expired; ask an administrator for a new one.',
          );
        }
        return {
          status: 201,
          body: {
            terminalId: credentials.id,
            secret: credentials.secret,
            showroomCode: paired.showroomCode,
            protocolVersion: PROTOCOL_VERSION,
          },
        };
      },
    }),
    route({
      method: 'get',
      path: '/api/terminals',
      operationId: 'listTerminals',
      summary: 'List paired terminals',
      tag: 'terminals',
      access: 'manager',
      responses: { 200: { description: 'Terminals' } },
      handler: async () => ({
        status: 200,
        body: { terminals: await syncStore.listTerminals(deps.db) },
      }),
    }),
    route({
      method: 'post',
      path: '/api/terminals/:terminalId/revoke',
      operationId: 'revokeTerminal',
      summary: 'Revoke a terminal and disconnect it at once',
      tag: 'terminals',
      access: 'admin',
      params: z.object({ terminalId: z.string().regex(/^[A-Z0-9-]{1,64}$/) }),
      responses: { 200: { description: 'Revoked' } },
      handler: async ({ params, staff, req }) => {
        const now = deps.clock.now();
        const revoked = await syncStore.revokeTerminal(deps.db, params.terminalId, now, (trx) =>
          recordAudit(
            deps.db,
            trx,
            auditActorOf(staff, req.ip),
            {
              action: 'terminal.revoke',
              targetType: 'terminal',
              targetId: params.terminalId,
              before: { revokedAt: null },
              after: { revokedAt: now.toISOString() },
            },
            now,
          ),
        );
        deps.changes.emit('terminal:revoked', params.terminalId);
        if (!revoked) {
          throw new AppError('not-found', `There is no active terminal ${params.terminalId}.`);
        }
        return { status: 200, body: { terminalId: params.terminalId, revoked: true } };
      },
    }),
    route({
      method: 'post',
      path: '/api/auth/login',
      operationId: 'login',
      summary: 'Sign in',
      tag: 'staff',
      access: 'public',
      body: api.LoginRequest,
      responses: { 200: { description: 'Signed in', schema: api.LoginResponse } },
      handler: async ({ body, req }) => {
        const now = deps.clock.now();
        throttle.check(body.username, req.ip, now.getTime());
        const staff = await staffStore.findStaffByUsername(deps.db, body.username);
        const ok =
          staff?.active === true && (await verifySecret(body.password, staff.passwordHash));
        if (!staff || !ok) {
          throttle.fail(body.username, req.ip, now.getTime());
          throw new AppError('unauthenticated', 'Wrong username or password.');
        }
        throttle.clear(body.username);
        const { token, hash } = newToken();
        const expiresAt = new Date(now.getTime() + deps.sessionTtlHours * 3_600_000);
        await staffStore.insertSession(deps.db, hash, staff.id, now, expiresAt);
        return {
          status: 200,
          body: { token, expiresAt: expiresAt.toISOString(), staff: staffStore.toStaffView(staff) },
        };
      },
    }),
    route({
      method: 'post',
      path: '/api/staff',
      operationId: 'createStaff',
      summary: 'Add a staff member',
      tag: 'staff',
      access: 'admin',
      body: api.CreateStaffRequest,
      responses: {
        201: { description: 'Created', schema: api.StaffView },
        422: problem('A PIN for a cashier of no showroom (no counter would ever take it)'),
      },
      handler: async ({ body, staff: by, req }) => {
        const now = deps.clock.now();
        let showroomId: number | null = null;
        if (body.showroomCode) {
          showroomId = (await staffStore.findShowroomId(deps.db, body.showroomCode)) ?? null;
          if (showroomId === null) {
            throw new AppError('unknown-showroom', `There is no showroom ${body.showroomCode}.`);
          }
        }
        if (body.pin && body.role === 'cashier' && showroomId === null) {
          throw new AppError('pin-needs-showroom', CASHIER_PIN_NEEDS_SHOWROOM, [
            { pointer: '/showroomCode', message: 'a cashier with a PIN belongs to a showroom' },
          ]);
        }
        if (await staffStore.findStaffByUsername(deps.db, body.username)) {
          throw new AppError('already-exists', `The username ${body.username} is taken.`);
        }
        const id = await staffStore.insertStaff(
          deps.db,
          {
            username: body.username,
            name: body.name,
            role: body.role,
            passwordHash: await hashSecret(body.password),
            pinHash: body.pin ? await hashSecret(body.pin) : null,
            showroomId,
          },
          now,
          (trx, id) =>
            recordAudit(
              deps.db,
              trx,
              auditActorOf(by, req.ip),
              {
                action: 'staff.create',
                targetType: 'staff',
                targetId: body.username,
                // Never the password or PIN: only that a PIN was set.
                after: {
                  id,
                  name: body.name,
                  role: body.role,
                  showroomCode: body.showroomCode ?? null,
                  hasPin: body.pin !== undefined,
                },
              },
              now,
            ),
        );
        return {
          status: 201,
          body: {
            id,
            username: body.username,
            name: body.name,
            role: body.role,
            showroomCode: body.showroomCode ?? null,
          },
        };
      },
    }),
    route({
      method: 'put',
      path: '/api/staff/:username/pin',
      operationId: 'setStaffPin',
      summary: 'Set a staff member PIN for signing in at the counter',
      tag: 'staff',
      access: 'admin',
      params: api.UsernameParams,
      body: api.PinRequest,
      responses: {
        200: {
          description: 'Set; terminals have it within seconds',
          schema: z.object({ username: z.string(), pinSet: z.literal(true) }),
        },
        404: problem('No staff member has this username'),
        422: problem('The staff member is a cashier of no showroom'),
      },
      handler: async ({ params, body, staff: by, req }) => {
        const staff = await staffStore.findStaffByUsername(deps.db, params.username);
        if (staff?.role === 'cashier' && staff.showroomId === null) {
          throw new AppError('pin-needs-showroom', CASHIER_PIN_NEEDS_SHOWROOM);
        }
        const now = deps.clock.now();
        const set = await staffStore.setStaffPin(
          deps.db,
          params.username,
          await hashSecret(body.pin),
          (trx) =>
            recordAudit(
              deps.db,
              trx,
              auditActorOf(by, req.ip),
              {
                action: 'staff.pin',
                targetType: 'staff',
                targetId: params.username,
                before: { hasPin: staff?.pinHash !== null },
                after: { hasPin: true },
              },
              now,
            ),
        );
        if (!set) throw new AppError('not-found', `There is no staff member ${params.username}.`);
        return { status: 200, body: { username: params.username, pinSet: true } };
      },
    }),
    route({
      method: 'get',
      path: '/api/showrooms',
      operationId: 'listShowrooms',
      summary: 'List showrooms',
      tag: 'catalogue',
      access: 'cashier',
      responses: {
        200: { description: 'Showrooms', schema: z.object({ showrooms: z.array(api.Showroom) }) },
      },
      handler: async () => ({
        status: 200,
        body: { showrooms: await catalogue.listShowrooms(deps.db) },
      }),
    }),
    route({
      method: 'post',
      path: '/api/showrooms',
      operationId: 'createShowroom',
      summary: 'Add a showroom',
      tag: 'catalogue',
      access: 'admin',
      body: api.Showroom,
      responses: { 201: { description: 'Created', schema: api.Showroom } },
      handler: async ({ body, staff, req }) => {
        const now = deps.clock.now();
        const created = await catalogue.insertShowroom(deps.db, body, now, (trx) =>
          recordAudit(
            deps.db,
            trx,
            auditActorOf(staff, req.ip),
            { action: 'showroom.create', targetType: 'showroom', targetId: body.code, after: body },
            now,
          ),
        );
        deps.writer.forgetReferenceData();
        if (!created) {
          throw new AppError('already-exists', `A showroom ${body.code} exists already.`);
        }
        return { status: 201, body };
      },
    }),
    route({
      method: 'get',
      path: '/api/categories',
      operationId: 'listCategories',
      summary: 'List categories with their earn rates',
      tag: 'catalogue',
      access: 'cashier',
      responses: {
        200: { description: 'Categories', schema: z.object({ categories: z.array(api.Category) }) },
      },
      handler: async () => ({
        status: 200,
        body: { categories: await catalogue.listCategories(deps.db) },
      }),
    }),
    route({
      method: 'post',
      path: '/api/categories',
      operationId: 'createCategory',
      summary: 'Add a category with its first earn rate',
      tag: 'catalogue',
      access: 'admin',
      body: api.CategoryRequest,
      responses: { 201: { description: 'Created', schema: api.CategoryRequest } },
      handler: async ({ body, staff, req }) => {
        const now = deps.clock.now();
        const effectiveFrom = body.effectiveFrom ? new Date(body.effectiveFrom) : now;
        const created = await catalogue.insertCategory(
          deps.db,
          {
            code: body.code,
            name: body.name,
            pointsPer100Rupees: body.pointsPer100Rupees,
            effectiveFrom,
            staffId: staff.id,
          },
          now,
          (trx) =>
            recordAudit(
              deps.db,
              trx,
              auditActorOf(staff, req.ip),
              {
                action: 'category.create',
                targetType: 'category',
                targetId: body.code,
                after: { ...body, effectiveFrom: effectiveFrom.toISOString() },
              },
              now,
            ),
        );
        if (!created)
          throw new AppError('already-exists', `A category ${body.code} exists already.`);
        return { status: 201, body: { ...body, effectiveFrom: effectiveFrom.toISOString() } };
      },
    }),
    route({
      method: 'post',
      path: '/api/categories/:code/rates',
      operationId: 'addRate',
      summary: 'Change a category earn rate from a date on',
      tag: 'catalogue',
      access: 'admin',
      params: api.CodeParams,
      body: api.RateRequest,
      responses: { 201: { description: 'Scheduled', schema: api.RateRequest } },
      handler: async ({ params, body, staff, req }) => {
        const now = deps.clock.now();
        const effectiveFrom = new Date(body.effectiveFrom);
        if (effectiveFrom.getTime() < now.getTime() + RATE_LEAD_MS) {
          throw new AppError(
            'rate-in-past',
            `A rate change starts at least a minute from now (after ${new Date(now.getTime() + RATE_LEAD_MS).toISOString()}), so every showroom knows it before it applies; what was earned before keeps its rate.`,
            [{ pointer: '/effectiveFrom', message: 'less than a minute from now' }],
          );
        }
        const outcome = await catalogue.insertRate(
          deps.db,
          {
            code: params.code,
            pointsPer100Rupees: body.pointsPer100Rupees,
            effectiveFrom,
            staffId: staff.id,
          },
          now,
          (trx, { rateId }) =>
            recordAudit(
              deps.db,
              trx,
              auditActorOf(staff, req.ip),
              {
                action: 'rate.schedule',
                targetType: 'category',
                targetId: params.code,
                after: {
                  rateId,
                  pointsPer100Rupees: body.pointsPer100Rupees,
                  effectiveFrom: effectiveFrom.toISOString(),
                },
              },
              now,
            ),
        );
        if (outcome === 'unknown')
          throw new AppError('unknown-category', `There is no category ${params.code}.`);
        deps.writer.forgetReferenceData();
        if (outcome === 'exists') {
          throw new AppError(
            'already-exists',
            `${params.code} already has a rate from ${body.effectiveFrom}.`,
          );
        }
        return { status: 201, body };
      },
    }),
    route({
      method: 'put',
      path: '/api/products',
      operationId: 'putProducts',
      summary: 'Add or update catalogue products by SKU (up to 5,000 a call)',
      tag: 'catalogue',
      access: 'admin',
      body: api.PutProductsRequest,
      bodyLimitKb: 5 * 1024,
      responses: {
        200: { description: 'Saved, all of them', schema: api.PutProductsResult },
        422: problem('A product names an unknown category; nothing was saved'),
      },
      handler: async ({ body }) => {
        const saved = await catalogue.upsertProducts(deps.db, body.products, deps.clock.now());
        if (!saved.ok) {
          const first = saved.unknown[0];
          throw new AppError(
            'unknown-category',
            `Product ${first?.sku ?? ''} names the unknown category ${first?.categoryCode ?? ''}${saved.unknown.length > 1 ? ` (and ${saved.unknown.length - 1} more)` : ''}; nothing was saved.`,
            saved.unknown.slice(0, 100).map((u) => ({
              pointer: `/products/${u.index}/categoryCode`,
              message: `SKU ${u.sku}: unknown category ${u.categoryCode}`,
            })),
          );
        }
        return { status: 200, body: { created: saved.created, updated: saved.updated } };
      },
    }),
    route({
      method: 'get',
      path: '/api/products',
      operationId: 'listProducts',
      summary: 'List catalogue products, by category or text',
      tag: 'catalogue',
      access: 'manager',
      query: api.ProductsQuery,
      responses: { 200: { description: 'Products by SKU', schema: api.ProductList } },
      handler: async ({ query }) => ({
        status: 200,
        body: await catalogue.listProducts(deps.db, {
          category: query.category,
          q: query.q,
          limit: query.limit ?? 1_000,
        }),
      }),
    }),
    route({
      method: 'post',
      path: '/api/members',
      operationId: 'enrolMember',
      summary: 'Enrol a member (returns the existing member for a known mobile)',
      tag: 'members',
      access: 'cashier',
      body: api.EnrolRequest,
      responses: {
        201: { description: 'Enrolled', schema: api.EnrolResponse },
        200: { description: 'Already a member', schema: api.EnrolResponse },
      },
      handler: ({ body, staff }) =>
        write(deps, { kind: 'enrol', request: body, actor: actorOf(staff) }),
    }),
    route({
      method: 'get',
      path: '/api/members',
      operationId: 'findMember',
      summary: 'Find a member by mobile',
      tag: 'members',
      access: 'cashier',
      query: api.FindMemberQuery,
      responses: {
        200: { description: 'The member', schema: api.Member },
        404: problem('No member has this mobile'),
      },
      handler: async ({ query }) => {
        const member = await ledgerStore.findMemberByMobile(deps.db.knex, query.mobile);
        if (!member) {
          throw new AppError(
            'member-not-found',
            `No member has the mobile ${query.mobile}; offer to enrol them.`,
          );
        }
        return { status: 200, body: member };
      },
    }),
    route({
      method: 'get',
      path: '/api/members/:memberId',
      operationId: 'getMember',
      summary: 'A member',
      tag: 'members',
      access: 'cashier',
      params: api.MemberIdParams,
      responses: { 200: { description: 'The member', schema: api.Member } },
      handler: async ({ params }) => ({
        status: 200,
        body: await memberOr404(deps, params.memberId),
      }),
    }),
    route({
      method: 'get',
      path: '/api/members/:memberId/balance',
      operationId: 'getBalance',
      summary: 'A member balance',
      tag: 'members',
      access: 'cashier',
      params: api.MemberIdParams,
      responses: { 200: { description: 'Balance', schema: api.Balance } },
      handler: async ({ params }) => {
        const member = await memberOr404(deps, params.memberId);
        return {
          status: 200,
          body: {
            memberId: member.id,
            balance: member.balance,
            debtPoints: Math.max(0, -member.balance),
            asOf: deps.clock.now().toISOString(),
          },
        };
      },
    }),
    route({
      method: 'get',
      path: '/api/members/:memberId/ledger',
      operationId: 'getLedger',
      summary: 'A member ledger for a date range, with running balance',
      tag: 'members',
      access: 'cashier',
      params: api.MemberIdParams,
      query: api.DateRangeQuery,
      responses: { 200: { description: 'Statement', schema: api.LedgerStatement } },
      handler: async ({ params, query }) => {
        await memberOr404(deps, params.memberId);
        const { from, to } = rangeOf(deps, query);
        const { opening, entries } = await ledgerStore.entriesBetween(
          deps.db,
          params.memberId,
          from,
          to,
        );
        return {
          status: 200,
          body: {
            memberId: params.memberId,
            from: query.from,
            to: query.to,
            timeZone: deps.timeZone,
            openingBalance: opening,
            closingBalance: entries.at(-1)?.balanceAfter ?? opening,
            entries,
          },
        };
      },
    }),
    route({
      method: 'get',
      path: '/api/members/:memberId/sales',
      operationId: 'getPurchases',
      summary: 'A member purchase history for a date range',
      tag: 'members',
      access: 'cashier',
      params: api.MemberIdParams,
      query: api.DateRangeQuery,
      responses: { 200: { description: 'Purchases, newest first', schema: api.PurchaseHistory } },
      handler: async ({ params, query }) => {
        await memberOr404(deps, params.memberId);
        const { from, to } = rangeOf(deps, query);
        return {
          status: 200,
          body: {
            memberId: params.memberId,
            sales: await salesStore.memberSales(deps.db, params.memberId, from, to),
          },
        };
      },
    }),
    route({
      method: 'post',
      path: '/api/members/:memberId/adjustments',
      operationId: 'adjustPoints',
      summary: 'Adjust a member points, with a reason',
      tag: 'ledger',
      access: 'manager',
      params: api.MemberIdParams,
      headers: api.IdempotencyHeaders,
      body: api.AdjustRequest,
      responses: { 201: { description: 'Adjusted', schema: api.AdjustResult } },
      handler: ({ params, headers, body, staff, req }) =>
        write(deps, {
          kind: 'adjust',
          key: headers['idempotency-key'],
          requestHash: hashRequest({ memberId: params.memberId, ...body }),
          memberId: params.memberId,
          request: body,
          actor: actorOf(staff),
          // Audited in the adjustment's own transaction, with the balance before and after.
          onWritten: (trx, written) =>
            recordAudit(
              deps.db,
              trx,
              auditActorOf(staff, req.ip),
              {
                action: 'member.adjust',
                targetType: 'member',
                targetId: written.memberId,
                before: { balance: written.balanceBefore },
                after: {
                  balance: written.balanceAfter,
                  points: body.points,
                  reason: body.reason,
                  entryId: written.entry.id,
                },
              },
              new Date(written.entry.at),
            ),
        }),
    }),
    route({
      method: 'post',
      path: '/api/sales',
      operationId: 'recordSale',
      summary: 'Record a sale and earn its points',
      tag: 'ledger',
      access: 'cashier',
      headers: api.IdempotencyHeaders,
      body: api.SaleRequest,
      responses: {
        201: {
          description: 'Recorded (or, with Idempotent-Replayed: true, recorded before)',
          schema: api.SaleResult,
        },
      },
      handler: ({ headers, body, staff }) =>
        write(deps, {
          kind: 'sale',
          key: headers['idempotency-key'],
          requestHash: hashRequest(body),
          sale: body,
          actor: actorOf(staff),
        }),
    }),
    route({
      method: 'get',
      path: '/api/sales/:saleId',
      operationId: 'getSale',
      summary: 'A sale with its lines and returns',
      tag: 'ledger',
      access: 'cashier',
      params: api.SaleIdParams,
      responses: {
        200: { description: 'The sale', schema: api.PurchaseHistory.shape.sales.element },
      },
      handler: async ({ params }) => {
        const sale = await salesStore.findSale(deps.db, params.saleId);
        if (!sale) throw new AppError('sale-not-found', `There is no sale ${params.saleId}.`);
        return { status: 200, body: sale };
      },
    }),
    route({
      method: 'post',
      path: '/api/sales/:saleId/returns',
      operationId: 'returnSale',
      summary: 'Return a whole sale or some units, reversing their points',
      tag: 'ledger',
      access: 'manager',
      params: api.SaleIdParams,
      headers: api.IdempotencyHeaders,
      body: api.ReturnRequest,
      responses: { 201: { description: 'Returned', schema: api.ReturnResult } },
      handler: ({ params, headers, body, staff }) =>
        write(deps, {
          kind: 'return',
          key: headers['idempotency-key'],
          requestHash: hashRequest({ saleId: params.saleId, ...body }),
          saleId: params.saleId,
          request: body,
          actor: actorOf(staff),
        }),
    }),
    ...consoleRoutes(deps, throttle),
    ...adminRoutes(deps),
    ...reportRoutes(deps),
  ];
}

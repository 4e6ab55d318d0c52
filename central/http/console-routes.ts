import { createHmac } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import * as api from '../../shared/protocol/api.ts';
import {
  AuditPage,
  AuditQuery,
  ConsoleSession,
  SetupRequest,
  SetupState,
} from '../../shared/protocol/console.ts';
import { auditActorOf, listAudit, recordAudit } from '../audit/audit-log.ts';
import * as staffStore from '../db/staff-store.ts';
import { AppError } from '../errors.ts';
import { hashSecret, hashToken, newToken, verifySecret } from '../staff/secrets.ts';
import { createFirstAdmin, isSetupNeeded } from '../console/setup.ts';
import { clearSessionCookie, sessionCookieOf, setSessionCookie } from './console-session.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { route, type AnyRoute } from './route.ts';
import type { RouteDeps } from './routes.ts';

/**
 * The console's CSRF token is derived from the session token (which the page cannot read: the
 * cookie is HttpOnly), so a reloaded page gets the same token back; only its hash is stored.
 */
function csrfTokenOf(sessionToken: string): string {
  return createHmac('sha256', sessionToken).update('console-csrf').digest('base64url');
}

/** The console session (cookie sign-in, CSRF token), first-run setup and the audit log. */
export function consoleRoutes(deps: RouteDeps, throttle: LoginThrottle): AnyRoute[] {
  /** Opens a console session in `trx` and sets its cookie; returns what the page needs. */
  const openSession = async (
    trx: Knex.Transaction,
    staffId: number,
    req: Request,
    res: Response,
    now: Date,
  ): Promise<{ csrfToken: string; expiresAt: Date }> => {
    const { token, hash } = newToken();
    const csrfToken = csrfTokenOf(token);
    const expiresAt = new Date(now.getTime() + deps.sessionTtlHours * 3_600_000);
    await staffStore.insertSession(
      deps.db,
      hash,
      staffId,
      now,
      expiresAt,
      hashToken(csrfToken),
      trx,
    );
    setSessionCookie(req, res, token, expiresAt);
    return { csrfToken, expiresAt };
  };
  return [
    route({
      method: 'get',
      path: '/api/console/setup',
      operationId: 'consoleSetupState',
      summary: 'Whether the chain still needs its first admin',
      tag: 'console',
      access: 'public',
      responses: { 200: { description: 'Setup state', schema: SetupState } },
      handler: async () => ({
        status: 200,
        body: { needed: await isSetupNeeded(deps.db.knex) } satisfies SetupState,
      }),
    }),
    route({
      method: 'post',
      path: '/api/console/setup',
      operationId: 'consoleSetup',
      summary: 'Create the first admin with the setup code central printed',
      tag: 'console',
      access: 'public',
      body: SetupRequest,
      responses: {
        200: { description: 'The first admin, signed in', schema: ConsoleSession },
        401: { description: 'Wrong setup code' },
        409: { description: 'The chain has an admin already' },
      },
      handler: async ({ body, req, res }) => {
        const now = deps.clock.now();
        // Wrong codes count against the address like wrong passwords.
        throttle.check('~setup', req.ip, now.getTime());
        const passwordHash = await hashSecret(body.password);
        let session: { csrfToken: string; expiresAt: Date } | undefined;
        const result = await createFirstAdmin(
          deps.db,
          body.setupCode,
          { username: body.username, name: body.name, passwordHash },
          now,
          async (trx, staffId) => {
            const actor = { staffId, username: body.username, role: 'admin', ip: req.ip ?? null };
            await recordAudit(
              deps.db,
              trx,
              actor,
              {
                action: 'staff.create',
                targetType: 'staff',
                targetId: staffId,
                after: {
                  username: body.username,
                  name: body.name,
                  role: 'admin',
                  firstAdmin: true,
                },
              },
              now,
            );
            session = await openSession(trx, staffId, req, res, now);
          },
        );
        if ('refused' in result) {
          if (result.refused === 'wrong-code') {
            throttle.fail('~setup', req.ip, now.getTime());
            throw new AppError(
              'unauthenticated',
              'That is not the setup code; central printed it when it started and wrote it to the file setup-code in its data folder.',
              [{ pointer: '/setupCode', message: 'not the setup code' }],
            );
          }
          if (result.refused === 'taken') {
            throw new AppError('already-exists', `The username ${body.username} is taken.`, [
              { pointer: '/username', message: 'taken' },
            ]);
          }
          throw new AppError('already-exists', 'This chain has an admin already: sign in instead.');
        }
        if (!session) throw new Error('setup committed without a session');
        return {
          status: 200,
          body: {
            staff: {
              id: result.staffId,
              username: body.username,
              name: body.name,
              role: 'admin',
              showroomCode: null,
            },
            csrfToken: session.csrfToken,
            expiresAt: session.expiresAt.toISOString(),
          } satisfies ConsoleSession,
        };
      },
    }),
    route({
      method: 'post',
      path: '/api/console/session',
      operationId: 'consoleSignIn',
      summary: 'Sign in to the console',
      tag: 'console',
      access: 'public',
      body: api.LoginRequest,
      responses: {
        200: { description: 'Signed in; the session cookie is set', schema: ConsoleSession },
        401: { description: 'Wrong username or password' },
        403: { description: 'Cashiers use the counter, not the console' },
        429: { description: 'Too many wrong passwords' },
      },
      handler: async ({ body, req, res }) => {
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
        if (staff.role === 'cashier') {
          throw new AppError(
            'forbidden',
            'The console is for managers and admins; cashiers sign in at the counter with their PIN.',
          );
        }
        const { csrfToken, expiresAt } = await deps.db.knex.transaction(async (trx) => {
          await recordAudit(
            deps.db,
            trx,
            auditActorOf(staff, req.ip),
            { action: 'console.sign-in', targetType: 'staff', targetId: staff.id },
            now,
          );
          return openSession(trx, staff.id, req, res, now);
        });
        return {
          status: 200,
          body: {
            staff: staffStore.toStaffView(staff),
            csrfToken,
            expiresAt: expiresAt.toISOString(),
          } satisfies ConsoleSession,
        };
      },
    }),
    route({
      method: 'get',
      path: '/api/console/session',
      operationId: 'consoleSession',
      summary: 'Who is signed in to the console',
      tag: 'console',
      access: 'manager',
      responses: { 200: { description: 'The session', schema: ConsoleSession } },
      handler: async ({ staff, req }) => {
        const token = sessionCookieOf(req);
        if (!token) {
          throw new AppError(
            'unauthenticated',
            'Sign in to the console (this is not a console session).',
          );
        }
        const session = await staffStore.findSessionStaff(
          deps.db,
          hashToken(token),
          deps.clock.now(),
        );
        return {
          status: 200,
          body: {
            staff: staffStore.toStaffView(staff),
            csrfToken: csrfTokenOf(token),
            expiresAt: session?.expiresAt ?? deps.clock.now().toISOString(),
          } satisfies ConsoleSession,
        };
      },
    }),
    route({
      method: 'delete',
      path: '/api/console/session',
      operationId: 'consoleSignOut',
      summary: 'Sign out of the console',
      tag: 'console',
      access: 'manager',
      responses: { 204: { description: 'Signed out; the cookie is cleared' } },
      handler: async ({ req, res }) => {
        const token = sessionCookieOf(req);
        if (token) {
          const hash = hashToken(token);
          await staffStore.deleteSession(deps.db, hash);
          deps.forgetSession?.(hash);
        }
        clearSessionCookie(req, res);
        res.status(204).end();
        return { status: 204, body: undefined };
      },
    }),
    route({
      method: 'get',
      path: '/api/audit',
      operationId: 'listAudit',
      summary: 'Read the audit log',
      tag: 'console',
      access: 'admin',
      query: AuditQuery,
      responses: { 200: { description: 'Newest first', schema: AuditPage } },
      handler: async ({ query }) => ({
        status: 200,
        body: { entries: await listAudit(deps.db, query) } satisfies z.input<typeof AuditPage>,
      }),
    }),
  ];
}

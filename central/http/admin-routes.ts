import type { Request } from 'express';
import { z } from 'zod';
import * as admin from '../../shared/protocol/admin.ts';
import { CodeParams, Problem, UsernameParams } from '../../shared/protocol/api.ts';
import { auditActorOf } from '../audit/audit-log.ts';
import { cancelRate, listRates, renameCategory, updateShowroom } from '../admin/catalogue-admin.ts';
import { previewRates } from '../admin/rate-preview.ts';
import {
  messageKindOf,
  programSettingsView,
  sendTestSms,
  smsSettingsView,
  updateProgramSettings,
  updateSmsSettings,
} from '../admin/settings-admin.ts';
import { resetPassword, updateStaffMember, type AdminContext } from '../admin/staff-admin.ts';
import * as adminStore from '../db/admin-store.ts';
import type { StaffRecord } from '../db/staff-store.ts';
import { AppError } from '../errors.ts';
import { hashToken } from '../staff/secrets.ts';
import { loadProgramSettings } from '../db/settings-store.ts';
import { fitName } from '../sms/templates.ts';
import { sessionCookieOf } from './console-session.ts';
import { route, type AnyRoute } from './route.ts';
import type { RouteDeps } from './routes.ts';

const problem = (description: string) => ({ description, schema: Problem });

/** The hash of the session token this request was made with (Bearer or console cookie). */
function sessionHashOf(req: Request): string | undefined {
  const bearer = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const token = bearer ?? sessionCookieOf(req);
  return token ? hashToken(token) : undefined;
}

/** Program administration: staff, showrooms, terminals, rates, settings, SMS, rate preview. */
export function adminRoutes(deps: RouteDeps): AnyRoute[] {
  const contextOf = (staff: StaffRecord, req: Request): AdminContext => ({
    db: deps.db,
    actor: auditActorOf(staff, req.ip),
    now: deps.clock.now(),
  });
  const forget = (hashes: string[]) => {
    for (const hash of hashes) deps.forgetSession?.(hash);
  };
  return [
    route({
      method: 'put',
      path: '/api/showrooms/:code',
      operationId: 'updateShowroom',
      summary:
        'Rename a showroom or change its city (a showroom is never deleted: its sales, staff and terminals keep pointing at it)',
      tag: 'catalogue',
      access: 'admin',
      params: CodeParams,
      body: admin.UpdateShowroomRequest,
      responses: {
        200: { description: 'Saved; counters have it within seconds', schema: admin.ShowroomView },
        404: problem('No showroom has this code'),
      },
      handler: async ({ params, body, staff, req }) => {
        const saved = await updateShowroom(contextOf(staff, req), params.code, body);
        deps.writer.forgetReferenceData();
        return { status: 200, body: saved };
      },
    }),
    route({
      method: 'get',
      path: '/api/staff',
      operationId: 'listStaff',
      summary: 'List staff members, active or not',
      tag: 'staff',
      access: 'manager',
      responses: { 200: { description: 'Staff by username', schema: admin.StaffList } },
      handler: async () => ({
        status: 200,
        body: {
          staff: (await adminStore.listStaff(deps.db)).map(adminStore.toStaffAdminView),
        },
      }),
    }),
    route({
      method: 'put',
      path: '/api/staff/:username',
      operationId: 'updateStaff',
      summary: 'Change a staff member name, role, showroom or active flag',
      tag: 'staff',
      access: 'admin',
      params: UsernameParams,
      body: admin.UpdateStaffRequest,
      responses: {
        200: {
          description: 'Saved; a deactivated person is signed out and off every counter',
          schema: admin.StaffAdminView,
        },
        404: problem('No staff member has this username'),
        409: problem('The change would leave the chain without an active admin'),
        422: problem('An unknown showroom, or a cashier with a PIN left without a showroom'),
      },
      handler: async ({ params, body, staff, req }) => {
        const outcome = await updateStaffMember(contextOf(staff, req), params.username, body);
        forget(outcome.endedSessions);
        // The person's cached session (role, showroom) must not outlive the change here.
        if (outcome.endedSessions.length === 0)
          forget(await adminStore.sessionHashesOf(deps.db.knex, outcome.staff.id));
        return { status: 200, body: outcome.staff };
      },
    }),
    route({
      method: 'put',
      path: '/api/staff/:username/password',
      operationId: 'resetStaffPassword',
      summary: 'Set a new password for a staff member (their other sessions end)',
      tag: 'staff',
      access: 'admin',
      params: UsernameParams,
      body: admin.ResetPasswordRequest,
      responses: {
        200: { description: 'Set', schema: admin.ResetPasswordResponse },
        404: problem('No staff member has this username'),
      },
      handler: async ({ params, body, staff, req }) => {
        const { endedSessions } = await resetPassword(
          contextOf(staff, req),
          params.username,
          body.password,
          sessionHashOf(req),
        );
        forget(endedSessions);
        return {
          status: 200,
          body: {
            username: params.username,
            passwordReset: true,
            sessionsEnded: endedSessions.length,
          },
        };
      },
    }),
    route({
      method: 'get',
      path: '/api/rates',
      operationId: 'listRates',
      summary: 'Categories with their rate history, scheduled rates and the rate in force',
      tag: 'catalogue',
      access: 'manager',
      responses: { 200: { description: 'Rates by category', schema: admin.RatesList } },
      handler: async () => ({ status: 200, body: await listRates(deps.db, deps.clock.now()) }),
    }),
    route({
      method: 'put',
      path: '/api/categories/:code',
      operationId: 'renameCategory',
      summary: 'Rename a category (its code never changes)',
      tag: 'catalogue',
      access: 'admin',
      params: CodeParams,
      body: admin.UpdateCategoryRequest,
      responses: {
        200: {
          description: 'Saved',
          schema: z.object({ code: z.string(), name: z.string() }),
        },
        404: problem('No category has this code'),
      },
      handler: async ({ params, body, staff, req }) => ({
        status: 200,
        body: await renameCategory(contextOf(staff, req), params.code, body.name),
      }),
    }),
    route({
      method: 'delete',
      path: '/api/categories/:code/rates/:rateId',
      operationId: 'cancelRate',
      summary: 'Cancel a scheduled rate that starts more than a minute from now',
      tag: 'catalogue',
      access: 'admin',
      params: admin.RateParams,
      responses: {
        200: { description: 'Cancelled', schema: admin.CancelRateResponse },
        404: problem('The category has no such rate'),
        409: problem('The rate has started, or starts within a minute'),
      },
      handler: async ({ params, staff, req }) => {
        await cancelRate(contextOf(staff, req), params.code, params.rateId);
        deps.writer.forgetReferenceData();
        return {
          status: 200,
          body: { code: params.code, rateId: params.rateId, cancelled: true },
        };
      },
    }),
    route({
      method: 'post',
      path: '/api/rates/preview',
      operationId: 'previewRates',
      summary: 'What proposed rates would have earned on a period of sales (default last month)',
      tag: 'catalogue',
      access: 'manager',
      body: admin.RatePreviewRequest,
      responses: {
        200: { description: 'Figures by category; nothing is saved', schema: admin.RatePreview },
        422: problem('A proposed category does not exist'),
      },
      handler: async ({ body }) => ({
        status: 200,
        body: await previewRates(
          { db: deps.db, timeZone: deps.timeZone, now: deps.clock.now() },
          body,
        ),
      }),
    }),
    route({
      method: 'get',
      path: '/api/settings/program',
      operationId: 'getProgramSettings',
      summary: 'The program settings in force and their defaults',
      tag: 'settings',
      access: 'manager',
      responses: { 200: { description: 'Settings', schema: admin.ProgramSettingsView } },
      handler: async () => ({ status: 200, body: await programSettingsView(deps.db) }),
    }),
    route({
      method: 'put',
      path: '/api/settings/program',
      operationId: 'updateProgramSettings',
      summary: 'Change some program settings (only the fields sent)',
      tag: 'settings',
      access: 'admin',
      body: admin.ProgramSettingsPatch,
      responses: {
        200: {
          description: 'Saved; counters have it within seconds',
          schema: admin.ProgramSettingsView,
        },
        400: problem('A field is unknown or out of range (each is named); nothing was saved'),
      },
      handler: async ({ body, staff, req }) => {
        await updateProgramSettings(contextOf(staff, req), body);
        deps.settings.forget();
        return { status: 200, body: await programSettingsView(deps.db) };
      },
    }),
    route({
      method: 'get',
      path: '/api/settings/sms',
      operationId: 'getSmsSettings',
      summary: 'The SMS gateway, DLT registration and templates in use (secrets masked)',
      tag: 'settings',
      access: 'manager',
      responses: { 200: { description: 'SMS settings', schema: admin.SmsSettingsView } },
      handler: async () => ({ status: 200, body: await smsSettingsView(deps.db, deps.sms) }),
    }),
    route({
      method: 'put',
      path: '/api/settings/sms',
      operationId: 'updateSmsSettings',
      summary: 'Change the SMS gateway, DLT registration, templates or pace',
      tag: 'settings',
      access: 'admin',
      body: admin.SmsSettingsUpdate,
      responses: {
        200: {
          description: 'Saved and in use for the next message',
          schema: admin.SmsSettingsView,
        },
        400: problem('The configuration is not valid (each problem is named); nothing was saved'),
        409: problem('SMS_CONFIG_FILE is set: the file is the configuration'),
      },
      handler: async ({ body, staff, req }) => {
        await updateSmsSettings(contextOf(staff, req), deps.sms, body);
        return { status: 200, body: await smsSettingsView(deps.db, deps.sms) };
      },
    }),
    route({
      method: 'put',
      path: '/api/settings/sms/templates/:name',
      operationId: 'updateSmsTemplate',
      summary: 'Change one DLT template (text, variables, template id)',
      tag: 'settings',
      access: 'admin',
      params: admin.SmsTemplateParams,
      body: admin.SmsTemplateUpdate,
      responses: {
        200: {
          description: 'Saved and in use for the next message',
          schema: admin.SmsSettingsView,
        },
        400: problem('The template breaks a DLT rule or uses a variable its kind lacks'),
        409: problem('SMS_CONFIG_FILE is set: the file is the configuration'),
      },
      handler: async ({ params, body, staff, req }) => {
        await updateSmsSettings(contextOf(staff, req), deps.sms, {
          templates: { [params.name]: body },
        });
        return { status: 200, body: await smsSettingsView(deps.db, deps.sms) };
      },
    }),
    route({
      method: 'post',
      path: '/api/settings/sms/test',
      operationId: 'sendTestSms',
      summary: 'Send one test message through the gateway in use',
      tag: 'settings',
      access: 'admin',
      body: admin.SmsTestRequest,
      responses: {
        200: {
          description: 'What the gateway answered (ok false: its error)',
          schema: admin.SmsTestResult,
        },
      },
      handler: async ({ body, staff, req }) => {
        const kind = messageKindOf(body.kind ?? 'earn');
        if (!kind) {
          throw new AppError('validation', `There is no kind of message ${body.kind ?? ''}.`, [
            { pointer: '/kind', message: 'not a kind of message' },
          ]);
        }
        const settings = await loadProgramSettings(deps.db.knex);
        return {
          status: 200,
          body: await sendTestSms(
            contextOf(staff, req),
            deps.sms,
            fitName(settings.chainName),
            body.mobile,
            kind,
          ),
        };
      },
    }),
  ];
}

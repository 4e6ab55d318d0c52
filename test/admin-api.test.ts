import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { earnForSale, pointsForAmount, type EarnRate } from '../shared/points/earn.ts';
import { SECRET_MASK } from '../shared/protocol/admin.ts';
import { listAudit, type AuditEntry } from '../central/audit/audit-log.ts';
import { lastMonth } from '../central/admin/rate-preview.ts';
import { readSyncFacts } from '../central/db/rules-revision.ts';
import { readDevMessages } from '../central/sms/providers/dev.ts';
import {
  newKey,
  PASSWORDS,
  startPeerCentral,
  startTestCentral,
  type TestCentral,
} from './support/central.ts';
import { describeEachDb } from './support/databases.ts';
import { reportIfStalled } from './support/postgres.ts';
import { startTwilioStandIn } from './support/sms-standins.ts';
import { startPairedTerminal, waitFor } from './support/terminal.ts';

/** Audit rows of an action, newest first. */
async function auditOf(c: TestCentral, action: string): Promise<AuditEntry[]> {
  return listAudit(c.central.db, { action, limit: 100 });
}

async function auditCount(c: TestCentral): Promise<number> {
  const row: { n?: number | string } | undefined = await c.central.db
    .knex('audit_log')
    .count({ n: '*' })
    .first();
  return Number(row?.n ?? 0);
}

async function rulesRevision(c: TestCentral): Promise<number> {
  return Number((await readSyncFacts(c.central.db.knex)).rulesRevision);
}

async function login(c: TestCentral, username: string, password: string) {
  return c.request('POST', '/api/auth/login', { body: { username, password } });
}

/** Every write route of this part, with a body that would be valid for an admin. */
const WRITES: [string, string, unknown][] = [
  ['PUT', '/api/showrooms/MUM-01', { name: 'Andheri' }],
  ['POST', '/api/showrooms', { code: 'PUN-01', name: 'Koregaon Park', city: 'Pune' }],
  ['POST', '/api/terminals/pairing-codes', { showroomCode: 'MUM-01' }],
  ['POST', '/api/terminals/MUM-01-TABCDEF/revoke', undefined],
  [
    'POST',
    '/api/staff',
    { username: 'x.y', name: 'X Y', role: 'cashier', password: 'long-enough-1' },
  ],
  ['PUT', '/api/staff/mum.cashier', { name: 'Rahul V' }],
  ['PUT', '/api/staff/mum.cashier/password', { password: 'long-enough-1' }],
  ['PUT', '/api/staff/mum.cashier/pin', { pin: '1234' }],
  ['POST', '/api/categories', { code: 'TOYS', name: 'Toys', pointsPer100Rupees: 1 }],
  ['PUT', '/api/categories/ELEC', { name: 'Electricals' }],
  [
    'POST',
    '/api/categories/ELEC/rates',
    { pointsPer100Rupees: 3, effectiveFrom: '2027-01-01T00:00:00+05:30' },
  ],
  ['DELETE', '/api/categories/ELEC/rates/1', undefined],
  ['PUT', '/api/settings/program', { pointValuePaise: 50 }],
  ['PUT', '/api/settings/sms', { language: 'hi' }],
  [
    'PUT',
    '/api/settings/sms/templates/earn',
    {
      text: 'Hi {#var#}, {#var#} points. -SHWRMS',
      variables: ['name', 'points'],
      dltTemplateId: '1107000000000000002',
    },
  ],
  ['POST', '/api/settings/sms/test', { mobile: '98765 43210' }],
];

/** Read routes of this part: managers may use them. */
const READS: [string, string, unknown][] = [
  ['GET', '/api/staff', undefined],
  ['GET', '/api/rates', undefined],
  ['GET', '/api/settings/program', undefined],
  ['GET', '/api/settings/sms', undefined],
  ['POST', '/api/rates/preview', { changes: [{ categoryCode: 'BOOK', pointsPer100Rupees: 4 }] }],
];

describeEachDb('program administration API', (dialect) => {
  let c: TestCentral;

  beforeAll(async () => {
    c = await startTestCentral(dialect, { env: { SALE_MAX_AGE_DAYS: '366' } });
  });
  afterAll(async () => {
    await c.close();
  });

  describe('access', () => {
    it('answers 401 to every route of this part without a token', async () => {
      for (const [method, route, body] of [...WRITES, ...READS]) {
        const r = await c.request(method, route, { body });
        expect(r.status, `${method} ${route}`).toBe(401);
      }
    });

    it('refuses every write to a manager (403) and changes nothing', async () => {
      const audits = await auditCount(c);
      const revision = await rulesRevision(c);
      for (const [method, route, body] of WRITES) {
        const r = await c.request(method, route, { token: c.tokens.manager, body });
        expect(r.status, `${method} ${route}`).toBe(403);
        expect(r.body.type).toBe('/problems/forbidden');
      }
      expect(await auditCount(c)).toBe(audits);
      expect(await rulesRevision(c)).toBe(revision);
    });

    it('lets a manager read, and refuses a cashier', async () => {
      for (const [method, route, body] of READS) {
        const manager = await c.request(method, route, { token: c.tokens.manager, body });
        expect(manager.status, `${method} ${route}`).toBe(200);
        const cashier = await c.request(method, route, { token: c.tokens.cashier, body });
        expect(cashier.status, `${method} ${route}`).toBe(403);
      }
    });
  });

  describe('showrooms', () => {
    it('renames a showroom, audited before and after, and the counters rules move', async () => {
      const revision = await rulesRevision(c);
      const r = await c.request('PUT', '/api/showrooms/DEL-01', {
        token: c.tokens.admin,
        body: { name: 'Karol Bagh Main', city: 'Delhi' },
      });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ code: 'DEL-01', name: 'Karol Bagh Main', city: 'Delhi' });
      const list = await c.request('GET', '/api/showrooms', { token: c.tokens.cashier });
      expect(list.body.showrooms).toContainEqual(r.body);
      expect(await rulesRevision(c)).toBe(revision + 1);
      const [audit] = await auditOf(c, 'showroom.update');
      expect(audit).toMatchObject({
        username: 'admin',
        role: 'admin',
        targetType: 'showroom',
        targetId: 'DEL-01',
        before: { name: 'Karol Bagh', city: 'New Delhi' },
        after: { name: 'Karol Bagh Main', city: 'Delhi' },
      });
    });

    it('refuses an unknown showroom, an empty change and a new code in the body', async () => {
      const audits = await auditCount(c);
      const unknown = await c.request('PUT', '/api/showrooms/XXX-01', {
        token: c.tokens.admin,
        body: { name: 'Nowhere' },
      });
      expect(unknown.status).toBe(404);
      const empty = await c.request('PUT', '/api/showrooms/MUM-01', {
        token: c.tokens.admin,
        body: {},
      });
      expect(empty.status).toBe(400);
      const code = await c.request('PUT', '/api/showrooms/MUM-01', {
        token: c.tokens.admin,
        body: { code: 'MUM-02' },
      });
      expect(code.status).toBe(400);
      expect(await auditCount(c)).toBe(audits);
    });

    it('audits a new showroom', async () => {
      const r = await c.request('POST', '/api/showrooms', {
        token: c.tokens.admin,
        body: { code: 'PUN-01', name: 'Koregaon Park', city: 'Pune' },
      });
      expect(r.status).toBe(201);
      const [audit] = await auditOf(c, 'showroom.create');
      expect(audit).toMatchObject({
        targetId: 'PUN-01',
        before: null,
        after: { code: 'PUN-01', name: 'Koregaon Park', city: 'Pune' },
      });
      const again = await c.request('POST', '/api/showrooms', {
        token: c.tokens.admin,
        body: { code: 'PUN-01', name: 'Koregaon Park', city: 'Pune' },
      });
      expect(again.status).toBe(409);
      expect(await auditOf(c, 'showroom.create')).toHaveLength(1);
    });
  });

  describe('terminals, staff and what the counters get', () => {
    let terminal: Awaited<ReturnType<typeof startPairedTerminal>>;
    let pairingCode = '';

    beforeAll(async () => {
      const issued = await c.request('POST', '/api/terminals/pairing-codes', {
        token: c.tokens.admin,
        body: { showroomCode: 'MUM-01' },
      });
      pairingCode = issued.body.code as string;
      terminal = await startPairedTerminal(c, 'MUM-01');
      await waitFor(
        'the first rules at the counter',
        () => terminal.core.store.rules !== undefined,
      );
    });
    afterAll(async () => {
      await terminal.close();
    });

    it('issues a pairing code with its expiry, audited without the code', async () => {
      const before = await auditOf(c, 'terminal.pairing-code');
      const r = await c.request('POST', '/api/terminals/pairing-codes', {
        token: c.tokens.admin,
        body: { showroomCode: 'DEL-01' },
      });
      expect(r.status).toBe(201);
      expect(r.body.code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}$/);
      expect(Date.parse(r.body.expiresAt as string) - c.clock.now().getTime()).toBe(15 * 60_000);
      const after = await auditOf(c, 'terminal.pairing-code');
      expect(after).toHaveLength(before.length + 1);
      expect(after[0]).toMatchObject({
        targetType: 'showroom',
        targetId: 'DEL-01',
        after: { expiresAt: r.body.expiresAt },
      });
      const text = JSON.stringify(after);
      expect(text).not.toContain((r.body.code as string).replace('-', ''));
      expect(text).not.toContain(r.body.code);
      expect(text).not.toContain(pairingCode);
      const unknown = await c.request('POST', '/api/terminals/pairing-codes', {
        token: c.tokens.admin,
        body: { showroomCode: 'XXX-01' },
      });
      expect(unknown.status).toBe(422);
      expect(await auditOf(c, 'terminal.pairing-code')).toHaveLength(after.length);
    });

    it('lists terminals with showroom, label, paired at, last seen and version', async () => {
      const r = await c.request('GET', '/api/terminals', { token: c.tokens.admin });
      expect(r.status).toBe(200);
      const row = (r.body.terminals as { id: string }[]).find(
        (t) => t.id === terminal.credentials.terminalId,
      );
      expect(row).toMatchObject({
        showroomCode: 'MUM-01',
        name: 'Counter',
        pairedAt: c.clock.now().toISOString(),
        revokedAt: null,
        lastSeenAt: c.clock.now().toISOString(),
        appVersion: expect.stringMatching(/^\d+\.\d+\.\d+/) as unknown,
      });
    });

    it('lists staff without secrets, and audits a new one without password or PIN', async () => {
      const created = await c.request('POST', '/api/staff', {
        token: c.tokens.admin,
        body: {
          username: 'mum.temp',
          name: 'Sunil Rao',
          role: 'cashier',
          password: 'temp-password-1',
          pin: '4321',
          showroomCode: 'MUM-01',
        },
      });
      expect(created.status).toBe(201);
      const list = await c.request('GET', '/api/staff', { token: c.tokens.manager });
      expect(list.status).toBe(200);
      const temp = (list.body.staff as { username: string }[]).find(
        (s) => s.username === 'mum.temp',
      );
      expect(temp).toEqual({
        id: created.body.id,
        username: 'mum.temp',
        name: 'Sunil Rao',
        role: 'cashier',
        showroomCode: 'MUM-01',
        active: true,
        hasPin: true,
        createdAt: c.clock.now().toISOString(),
      });
      expect(JSON.stringify(list.body)).not.toMatch(/scrypt|Hash/);
      const [audit] = await auditOf(c, 'staff.create');
      expect(audit).toMatchObject({
        targetId: 'mum.temp',
        after: { name: 'Sunil Rao', role: 'cashier', showroomCode: 'MUM-01', hasPin: true },
      });
      expect(JSON.stringify(audit)).not.toMatch(/temp-password-1|4321|scrypt/);
      await waitFor('the new cashier at the counter', () =>
        (terminal.core.store.rules?.staff ?? []).some((s) => s.username === 'mum.temp'),
      );
    });

    it('audits a PIN without the PIN', async () => {
      const r = await c.request('PUT', '/api/staff/mum.cashier/pin', {
        token: c.tokens.admin,
        body: { pin: '8642' },
      });
      expect(r.status).toBe(200);
      const [audit] = await auditOf(c, 'staff.pin');
      expect(audit).toMatchObject({
        targetId: 'mum.cashier',
        before: { hasPin: false },
        after: { hasPin: true },
      });
      expect(JSON.stringify(audit)).not.toMatch(/8642|scrypt/);
      const unknown = await c.request('PUT', '/api/staff/no.body/pin', {
        token: c.tokens.admin,
        body: { pin: '8642' },
      });
      expect(unknown.status).toBe(404);
    });

    it('changes name, role and showroom; refuses a cashier with a PIN and no showroom', async () => {
      const r = await c.request('PUT', '/api/staff/mum.manager', {
        token: c.tokens.admin,
        body: { showroomCode: null, name: 'Priya  Sharma-Iyer' },
      });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        name: 'Priya Sharma-Iyer',
        showroomCode: null,
        role: 'manager',
      });
      const [audit] = await auditOf(c, 'staff.update');
      expect(audit).toMatchObject({
        targetId: 'mum.manager',
        before: { name: 'Priya Sharma', showroomCode: 'MUM-01' },
        after: { name: 'Priya Sharma-Iyer', showroomCode: null },
      });
      const audits = await auditCount(c);
      const refused = await c.request('PUT', '/api/staff/mum.temp', {
        token: c.tokens.admin,
        body: { showroomCode: null },
      });
      expect(refused.status).toBe(422);
      expect(refused.body.type).toBe('/problems/pin-needs-showroom');
      const unknownShowroom = await c.request('PUT', '/api/staff/mum.temp', {
        token: c.tokens.admin,
        body: { showroomCode: 'XXX-01' },
      });
      expect(unknownShowroom.status).toBe(422);
      const badRole = await c.request('PUT', '/api/staff/mum.temp', {
        token: c.tokens.admin,
        body: { role: 'owner' },
      });
      expect(badRole.status).toBe(400);
      expect(badRole.body.errors[0].pointer).toBe('/role');
      expect(await auditCount(c)).toBe(audits);
      const promoted = await c.request('PUT', '/api/staff/mum.temp', {
        token: c.tokens.admin,
        body: { role: 'manager' },
      });
      expect(promoted.body.role).toBe('manager');
      await waitFor('the promotion at the counter', () =>
        (terminal.core.store.rules?.staff ?? []).some(
          (s) => s.username === 'mum.temp' && s.role === 'manager',
        ),
      );
    });

    it('deactivating someone ends their sessions at once and takes them off the counters', async () => {
      const signedIn = await login(c, 'mum.temp', 'temp-password-1');
      expect(signedIn.status).toBe(200);
      const token = signedIn.body.token as string;
      expect((await c.request('GET', '/api/staff', { token })).status).toBe(200);
      const revision = await rulesRevision(c);
      const r = await c.request('PUT', '/api/staff/mum.temp', {
        token: c.tokens.admin,
        body: { active: false },
      });
      expect(r.status).toBe(200);
      expect(r.body.active).toBe(false);
      expect(await rulesRevision(c)).toBe(revision + 1);
      // No waiting for the session cache: the session is gone.
      expect((await c.request('GET', '/api/staff', { token })).status).toBe(401);
      expect((await login(c, 'mum.temp', 'temp-password-1')).status).toBe(401);
      const sessions: unknown[] = await c.central.db
        .knex('staff_sessions')
        .where('staff_id', r.body.id as number)
        .select('token_hash');
      expect(sessions).toEqual([]);
      const [audit] = await auditOf(c, 'staff.update');
      expect(audit).toMatchObject({
        targetId: 'mum.temp',
        before: { active: true },
        after: { active: false, sessionsEnded: 1 },
      });
      await waitFor('the counter to drop the deactivated manager', () =>
        (terminal.core.store.rules?.staff ?? []).every((s) => s.username !== 'mum.temp'),
      );
      expect(terminal.core.store.rules?.staff.map((s) => s.username)).toContain('mum.cashier');
    });

    it('never leaves the chain without an active admin', async () => {
      const audits = await auditCount(c);
      for (const body of [{ active: false }, { role: 'manager' }]) {
        const r = await c.request('PUT', '/api/staff/admin', { token: c.tokens.admin, body });
        expect(r.status).toBe(409);
        expect(r.body.type).toBe('/problems/last-admin');
        expect(r.body.detail).toContain('You are the last active admin');
      }
      expect(await auditCount(c)).toBe(audits);
      const second = await c.request('POST', '/api/staff', {
        token: c.tokens.admin,
        body: {
          username: 'ho.second',
          name: 'Meera Das',
          role: 'admin',
          password: 'second-admin-1',
        },
      });
      expect(second.status).toBe(201);
      const token = (await login(c, 'ho.second', 'second-admin-1')).body.token as string;
      // With two admins, one may step down; then the other is the last again.
      const down = await c.request('PUT', '/api/staff/ho.second', {
        token,
        body: { role: 'manager' },
      });
      expect(down.status).toBe(200);
      const last = await c.request('PUT', '/api/staff/admin', {
        token: c.tokens.admin,
        body: { active: false },
      });
      expect(last.status).toBe(409);
      const stillAdmin = await c.request('GET', '/api/terminals', { token: c.tokens.admin });
      expect(stillAdmin.status).toBe(200);
    });

    it('resets a password: their sessions end, the audit row holds no secret', async () => {
      await c.request('POST', '/api/staff', {
        token: c.tokens.admin,
        body: {
          username: 'del.temp',
          name: 'Anil Gupta',
          role: 'cashier',
          password: 'old-password-1',
          showroomCode: 'DEL-01',
        },
      });
      const old = (await login(c, 'del.temp', 'old-password-1')).body.token as string;
      const r = await c.request('PUT', '/api/staff/del.temp/password', {
        token: c.tokens.admin,
        body: { password: 'new-password-1' },
      });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ username: 'del.temp', passwordReset: true, sessionsEnded: 1 });
      expect((await c.request('GET', '/api/showrooms', { token: old })).status).toBe(401);
      expect((await login(c, 'del.temp', 'old-password-1')).status).toBe(401);
      expect((await login(c, 'del.temp', 'new-password-1')).status).toBe(200);
      const [audit] = await auditOf(c, 'staff.password-reset');
      expect(audit).toMatchObject({ targetId: 'del.temp', after: { passwordReset: true } });
      expect(JSON.stringify(audit)).not.toMatch(/password-1|scrypt/);
      const short = await c.request('PUT', '/api/staff/del.temp/password', {
        token: c.tokens.admin,
        body: { password: 'short' },
      });
      expect(short.status).toBe(400);
      expect(short.body.errors[0].pointer).toBe('/password');
    });

    it('program settings reach the counter', async () => {
      const r = await c.request('PUT', '/api/settings/program', {
        token: c.tokens.admin,
        body: { chainName: 'Demo Electricals' },
      });
      expect(r.status).toBe(200);
      await waitFor(
        'the chain name at the counter',
        () => terminal.core.store.rules?.chainName === 'Demo Electricals',
      );
    });

    it('revokes a terminal, audited once', async () => {
      const id = terminal.credentials.terminalId;
      const r = await c.request('POST', `/api/terminals/${id}/revoke`, { token: c.tokens.admin });
      expect(r.status).toBe(200);
      const again = await c.request('POST', `/api/terminals/${id}/revoke`, {
        token: c.tokens.admin,
      });
      expect(again.status).toBe(404);
      const audits = await auditOf(c, 'terminal.revoke');
      expect(audits).toHaveLength(1);
      expect(audits[0]).toMatchObject({
        targetType: 'terminal',
        targetId: id,
        before: { revokedAt: null },
        after: { revokedAt: c.clock.now().toISOString() },
      });
      const list = await c.request('GET', '/api/terminals', { token: c.tokens.admin });
      expect(
        (list.body.terminals as { id: string; revokedAt: string | null }[]).find((t) => t.id === id)
          ?.revokedAt,
      ).toBe(c.clock.now().toISOString());
    });
  });

  describe('categories and rates', () => {
    it('lists each category with its history and the rate in force', async () => {
      const r = await c.request('GET', '/api/rates', { token: c.tokens.manager });
      expect(r.status).toBe(200);
      const book = (r.body.categories as { code: string }[]).find((x) => x.code === 'BOOK');
      expect(book).toMatchObject({
        name: 'Books',
        rateInForce: { pointsPer100Rupees: 5, effectiveFrom: '2026-01-01T00:00:00.000Z' },
        rates: [{ pointsPer100Rupees: 5, status: 'in-force', cancellable: false, createdBy: null }],
      });
    });

    it('schedules a rate (audited, counters told) and cancels it while it is far enough away', async () => {
      const now = c.clock.now().getTime();
      const from = new Date(now + 2 * 86_400_000).toISOString();
      const revision = await rulesRevision(c);
      const scheduled = await c.request('POST', '/api/categories/ELEC/rates', {
        token: c.tokens.admin,
        body: { pointsPer100Rupees: 4, effectiveFrom: from },
      });
      expect(scheduled.status).toBe(201);
      expect(await rulesRevision(c)).toBe(revision + 1);
      const [audit] = await auditOf(c, 'rate.schedule');
      expect(audit).toMatchObject({
        targetId: 'ELEC',
        after: { pointsPer100Rupees: 4, effectiveFrom: from },
      });
      const list = await c.request('GET', '/api/rates', { token: c.tokens.admin });
      const elec = (
        list.body.categories as {
          code: string;
          rates: { id: number; status: string; pointsPer100Rupees: number }[];
          rateInForce: { pointsPer100Rupees: number } | null;
        }[]
      ).find((x) => x.code === 'ELEC');
      expect(elec?.rateInForce?.pointsPer100Rupees).toBe(2);
      const future = elec?.rates.find((x) => x.status === 'scheduled');
      if (!future) throw new Error('the scheduled rate is not listed');
      expect(future).toMatchObject({
        id: (audit?.after as { rateId: number }).rateId,
        pointsPer100Rupees: 4,
        effectiveFrom: from,
        cancellable: true,
        createdBy: 'admin',
      });
      const cancelled = await c.request('DELETE', `/api/categories/ELEC/rates/${future.id}`, {
        token: c.tokens.admin,
      });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toEqual({ code: 'ELEC', rateId: future.id, cancelled: true });
      expect(await rulesRevision(c)).toBe(revision + 2);
      const [cancelAudit] = await auditOf(c, 'rate.cancel');
      expect(cancelAudit).toMatchObject({
        targetId: 'ELEC',
        before: { rateId: future.id, pointsPer100Rupees: 4, effectiveFrom: from },
        after: null,
      });
      const again = await c.request('GET', '/api/rates', { token: c.tokens.admin });
      const elecAgain = (again.body.categories as { code: string; rates: unknown[] }[]).find(
        (x) => x.code === 'ELEC',
      );
      expect(elecAgain?.rates).toHaveLength(1);
      const gone = await c.request('DELETE', `/api/categories/ELEC/rates/${future.id}`, {
        token: c.tokens.admin,
      });
      expect(gone.status).toBe(404);
    });

    it('refuses to cancel a rate in force or one that starts within a minute', async () => {
      const list = await c.request('GET', '/api/rates', { token: c.tokens.admin });
      const eltr = (list.body.categories as { code: string; rates: { id: number }[] }[]).find(
        (x) => x.code === 'ELTR',
      );
      const audits = await auditCount(c);
      const inForce = await c.request(
        'DELETE',
        `/api/categories/ELTR/rates/${eltr?.rates[0]?.id}`,
        {
          token: c.tokens.admin,
        },
      );
      expect(inForce.status).toBe(409);
      expect(inForce.body.type).toBe('/problems/rate-not-cancellable');
      const soon = new Date(c.clock.now().getTime() + 90_000).toISOString();
      const scheduled = await c.request('POST', '/api/categories/ELTR/rates', {
        token: c.tokens.admin,
        body: { pointsPer100Rupees: 2, effectiveFrom: soon },
      });
      expect(scheduled.status).toBe(201);
      const rateId = ((await auditOf(c, 'rate.schedule'))[0]?.after as { rateId: number }).rateId;
      c.clock.advance(45_000);
      const late = await c.request('DELETE', `/api/categories/ELTR/rates/${rateId}`, {
        token: c.tokens.admin,
      });
      expect(late.status).toBe(409);
      expect(late.body.detail).toContain('less than a minute from now');
      // The schedule wrote one audit row; the refusals none.
      expect(await auditCount(c)).toBe(audits + 1);
      const wrongCategory = await c.request('DELETE', `/api/categories/BOOK/rates/${rateId}`, {
        token: c.tokens.admin,
      });
      expect(wrongCategory.status).toBe(404);
      const tooSoon = await c.request('POST', '/api/categories/ELTR/rates', {
        token: c.tokens.admin,
        body: { pointsPer100Rupees: 2, effectiveFrom: c.clock.now().toISOString() },
      });
      expect(tooSoon.status).toBe(422);
    });

    it('creates and renames categories, audited', async () => {
      const created = await c.request('POST', '/api/categories', {
        token: c.tokens.admin,
        body: { code: 'TOYS', name: 'Toys', pointsPer100Rupees: 3 },
      });
      expect(created.status).toBe(201);
      const [create] = await auditOf(c, 'category.create');
      expect(create).toMatchObject({
        targetId: 'TOYS',
        after: { name: 'Toys', pointsPer100Rupees: 3 },
      });
      const renamed = await c.request('PUT', '/api/categories/TOYS', {
        token: c.tokens.admin,
        body: { name: 'Toys & Games' },
      });
      expect(renamed.body).toEqual({ code: 'TOYS', name: 'Toys & Games' });
      const [rename] = await auditOf(c, 'category.update');
      expect(rename).toMatchObject({ before: { name: 'Toys' }, after: { name: 'Toys & Games' } });
      const unknown = await c.request('PUT', '/api/categories/NONE', {
        token: c.tokens.admin,
        body: { name: 'None' },
      });
      expect(unknown.status).toBe(404);
    });
  });

  describe('program settings', () => {
    it('shows the settings in force with the defaults', async () => {
      const r = await c.request('GET', '/api/settings/program', { token: c.tokens.manager });
      expect(r.status).toBe(200);
      expect(r.body.defaults).toMatchObject({ pointValuePaise: 100, minRedeemPoints: 100 });
      expect(r.body.settings.otp.maxAttempts).toBe(5);
    });

    it('saves a partial change, audited before and after for the fields that moved', async () => {
      const r = await c.request('PUT', '/api/settings/program', {
        token: c.tokens.admin,
        body: {
          pointValuePaise: 50,
          maxBillSharePercent: 40,
          otp: { maxAttempts: 3 },
          earnNotices: true,
        },
      });
      expect(r.status).toBe(200);
      expect(r.body.settings).toMatchObject({
        pointValuePaise: 50,
        maxBillSharePercent: 40,
        minRedeemPoints: 100,
        otp: { maxAttempts: 3, ttlSeconds: 300 },
      });
      expect(r.body.updatedBy).toBe('admin');
      expect(r.body.updatedAt).toBe(c.clock.now().toISOString());
      const [audit] = await auditOf(c, 'settings.update');
      expect(audit?.before).toEqual({
        pointValuePaise: 100,
        maxBillSharePercent: 50,
        otp: expect.objectContaining({ maxAttempts: 5 }) as unknown,
      });
      expect(audit?.after).toEqual({
        pointValuePaise: 50,
        maxBillSharePercent: 40,
        otp: expect.objectContaining({ maxAttempts: 3 }) as unknown,
      });
    });

    it('names each bad field and saves nothing', async () => {
      const audits = await auditCount(c);
      const before = await c.request('GET', '/api/settings/program', { token: c.tokens.admin });
      const r = await c.request('PUT', '/api/settings/program', {
        token: c.tokens.admin,
        body: {
          pointValuePaise: 0,
          minRedeemPoints: 'many',
          otp: { maxAttempts: 99 },
          colour: 'red',
        },
      });
      expect(r.status).toBe(400);
      const pointers = (r.body.errors as { pointer: string; message: string }[]).map(
        (e) => e.pointer,
      );
      expect(pointers).toEqual(
        expect.arrayContaining(['/pointValuePaise', '/minRedeemPoints', '/otp/maxAttempts']),
      );
      expect(JSON.stringify(r.body.errors)).toContain('colour');
      expect(r.body.detail).toContain('/pointValuePaise');
      const after = await c.request('GET', '/api/settings/program', { token: c.tokens.admin });
      expect(after.body).toEqual(before.body);
      expect(await auditCount(c)).toBe(audits);
    });
  });

  describe('SMS provider and templates', () => {
    const accountSid = `AC${'b'.repeat(32)}`;
    const authToken = 'twilio-secret-token-7788';
    let stand: Awaited<ReturnType<typeof startTwilioStandIn>>;
    let peer: Awaited<ReturnType<typeof startPeerCentral>>;
    const devLog = () => readDevMessages(path.join(c.database.env.DATA_DIR, 'sms-outbox.log'));

    beforeAll(async () => {
      stand = await startTwilioStandIn({ accountSid, authToken });
      peer = await startPeerCentral(c.database, c.clock, { SMS_WORKER: 'false' });
    });
    afterAll(async () => {
      await peer.close();
      await stand.close();
    });

    /** Enrols a consenting member and records a sale, which queues an earn notice. */
    async function saleWithNotice(mobile: string, bill: string): Promise<void> {
      const enrol = await c.request('POST', '/api/members', {
        token: c.tokens.cashier,
        body: { mobile, name: 'Lata Menon', smsConsent: true, showroomCode: 'MUM-01' },
      });
      expect([200, 201]).toContain(enrol.status);
      const sale = await c.request('POST', '/api/sales', {
        token: c.tokens.cashier,
        headers: { 'idempotency-key': newKey('sms') },
        body: {
          showroomCode: 'MUM-01',
          billNumber: bill,
          mobile,
          lines: [{ sku: 'B-1', categoryCode: 'BOOK', quantity: 1, amountPaise: 100_000 }],
        },
      });
      expect(sale.status).toBe(201);
    }

    it('starts on the defaults, editable', async () => {
      const r = await c.request('GET', '/api/settings/sms', { token: c.tokens.manager });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        source: 'default',
        editable: true,
        readOnlyReason: null,
        provider: { provider: 'dev' },
        language: 'en',
      });
      expect(r.body.kinds).toContainEqual({
        kind: 'earn',
        variables: ['name', 'points', 'bill', 'showroom', 'balance', 'chain'],
        required: true,
      });
      await saleWithNotice('+919811100001', 'SMS-1');
      await waitFor('the notice through the dev provider', () =>
        devLog().some((m) => m.to === '+919811100001'),
      );
    });

    it('switches to another gateway without a restart, in this process and the others', async () => {
      const r = await c.request('PUT', '/api/settings/sms', {
        token: c.tokens.admin,
        body: {
          provider: {
            provider: 'twilio',
            accountSid,
            authToken,
            from: '+15005550006',
            baseUrl: stand.url,
            timeoutMs: 2000,
          },
          worker: { pollMs: 50 },
        },
      });
      expect(r.status).toBe(200);
      expect(r.body.source).toBe('database');
      expect(r.body.provider).toMatchObject({
        provider: 'twilio',
        accountSid,
        authToken: `${SECRET_MASK}7788`,
      });
      expect(r.body.updatedBy).toBe('admin');
      const [audit] = await auditOf(c, 'sms.update');
      expect(audit?.before).toMatchObject({ provider: { provider: 'dev' } });
      expect(audit?.after).toMatchObject({
        provider: { provider: 'twilio', authToken: `${SECRET_MASK}7788` },
        worker: expect.objectContaining({ pollMs: 50 }) as unknown,
      });
      expect(JSON.stringify(audit)).not.toContain(authToken);

      await saleWithNotice('+919811100002', 'SMS-2');
      await waitFor('the notice at the Twilio stand-in', () =>
        stand.accepted.some((m) => m.to === '+919811100002'),
      );
      expect(devLog().some((m) => m.to === '+919811100002')).toBe(false);
      // Another central process on the same database picks it up by itself.
      await waitFor(
        'the peer process to switch',
        () =>
          peer.central.sms.provider.name !== 'dev' &&
          peer.central.sms.config.provider.provider === 'twilio',
        6_000,
      );
    });

    it('keeps a secret sent back masked, refuses a masked one it cannot keep', async () => {
      const shown = await c.request('GET', '/api/settings/sms', { token: c.tokens.admin });
      const r = await c.request('PUT', '/api/settings/sms', {
        token: c.tokens.admin,
        body: { provider: { ...shown.body.provider, from: '+15005550007' } },
      });
      expect(r.status).toBe(200);
      const row: { value: string } = await c.central.db
        .knex('settings')
        .where('key', 'sms')
        .first('value');
      expect(JSON.parse(row.value).provider).toMatchObject({ authToken, from: '+15005550007' });
      await saleWithNotice('+919811100003', 'SMS-3');
      await waitFor('the notice, authenticated with the kept token', () =>
        stand.accepted.some((m) => m.to === '+919811100003'),
      );

      const audits = await auditCount(c);
      const masked = await c.request('PUT', '/api/settings/sms', {
        token: c.tokens.admin,
        body: {
          provider: { provider: 'msg91', authKey: `${SECRET_MASK}7788` },
        },
      });
      expect(masked.status).toBe(400);
      const pointers = (masked.body.errors as { pointer: string }[]).map((e) => e.pointer);
      expect(pointers).toContain('/provider/authKey');
      expect(await auditCount(c)).toBe(audits);
      const bad = await c.request('PUT', '/api/settings/sms', {
        token: c.tokens.admin,
        body: { dlt: { entityId: '123', header: 'SHWRMS' } },
      });
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0].pointer).toBe('/dlt/entityId');
      expect(
        JSON.parse((await c.central.db.knex('settings').where('key', 'sms').first('value')).value)
          .provider.from,
      ).toBe('+15005550007');
    });

    it('edits a template within the DLT rules, used for the next message', async () => {
      const audits = await auditCount(c);
      const wrongVariable = await c.request('PUT', '/api/settings/sms/templates/earn', {
        token: c.tokens.admin,
        body: {
          text: 'Dear {#var#}, your OTP is {#var#}. -SHWRMS',
          variables: ['name', 'otp'],
          dltTemplateId: '1107000000000000002',
        },
      });
      expect(wrongVariable.status).toBe(400);
      expect(wrongVariable.body.errors[0]).toMatchObject({
        pointer: '/templates/earn/variables/1',
      });
      const wrongCount = await c.request('PUT', '/api/settings/sms/templates/earn', {
        token: c.tokens.admin,
        body: {
          text: 'Dear {#var#}. -SHWRMS',
          variables: ['name', 'points'],
          dltTemplateId: '1107000000000000002',
        },
      });
      expect(wrongCount.status).toBe(400);
      const badId = await c.request('PUT', '/api/settings/sms/templates/earn', {
        token: c.tokens.admin,
        body: { text: 'Dear {#var#}. -SHWRMS', variables: ['name'], dltTemplateId: '12' },
      });
      expect(badId.status).toBe(400);
      expect(badId.body.errors[0].pointer).toBe('/dltTemplateId');
      const unknownKind = await c.request('PUT', '/api/settings/sms/templates/promo', {
        token: c.tokens.admin,
        body: { text: 'Sale! -SHWRMS', variables: [], dltTemplateId: '1107000000000000099' },
      });
      expect(unknownKind.status).toBe(400);
      expect(await auditCount(c)).toBe(audits);

      const ok = await c.request('PUT', '/api/settings/sms/templates/earn', {
        token: c.tokens.admin,
        body: {
          text: 'Hi {#var#}, {#var#} points added at {#var#}. -SHWRMS',
          variables: ['name', 'points', 'showroom'],
          dltTemplateId: '1107000000000000022',
        },
      });
      expect(ok.status).toBe(200);
      expect(ok.body.templates.earn.dltTemplateId).toBe('1107000000000000022');
      await saleWithNotice('+919811100004', 'SMS-4');
      await waitFor('the notice in the new template', () =>
        stand.accepted.some(
          (m) =>
            m.to === '+919811100004' &&
            m.body === 'Hi Lata Menon, 50 points added at Andheri West. -SHWRMS',
        ),
      );
    });

    it('sends a test message through the gateway in use', async () => {
      const r = await c.request('POST', '/api/settings/sms/test', {
        token: c.tokens.admin,
        body: { mobile: '98111 00009', kind: 'birthday' },
      });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({
        ok: true,
        provider: 'twilio',
        to: '+919811100009',
        error: null,
      });
      expect(stand.accepted.some((m) => m.to === '+919811100009' && m.body === r.body.text)).toBe(
        true,
      );
      const [audit] = await auditOf(c, 'sms.test');
      expect(audit?.after).toMatchObject({ ok: true, template: 'birthday' });
      expect(JSON.stringify(audit)).not.toContain('9811100009');
      const badKind = await c.request('POST', '/api/settings/sms/test', {
        token: c.tokens.admin,
        body: { mobile: '98111 00009', kind: 'promo' },
      });
      expect(badKind.status).toBe(400);
    });

    it('with SMS_CONFIG_FILE set, shows the file as the source and refuses changes', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-sms-'));
      const file = path.join(dir, 'sms.json');
      fs.writeFileSync(
        file,
        JSON.stringify({ provider: { provider: 'msg91', authKey: 'msg91-file-key-12345' } }),
      );
      const fromFile = await startPeerCentral(c.database, c.clock, {
        SMS_CONFIG_FILE: file,
        SMS_WORKER: 'false',
      });
      try {
        const get = await reportIfStalled(
          'GET /api/settings/sms from a central with SMS_CONFIG_FILE',
          c.database.env.DATABASE_URL,
          fetch(`${fromFile.url}/api/settings/sms`, {
            headers: { authorization: `Bearer ${c.tokens.admin}` },
          }),
        );
        const view = (await get.json()) as {
          source: string;
          editable: boolean;
          provider: { authKey: string };
        };
        expect(view).toMatchObject({ source: 'file', editable: false });
        expect(view.provider.authKey).toBe(`${SECRET_MASK}2345`);
        const put = await reportIfStalled(
          'PUT /api/settings/sms to a central with SMS_CONFIG_FILE',
          c.database.env.DATABASE_URL,
          fetch(`${fromFile.url}/api/settings/sms`, {
            method: 'PUT',
            headers: {
              authorization: `Bearer ${c.tokens.admin}`,
              'content-type': 'application/json',
            },
            body: JSON.stringify({ language: 'hi' }),
          }),
        );
        expect(put.status).toBe(409);
        expect(((await put.json()) as { detail: string }).detail).toContain('SMS_CONFIG_FILE');
      } finally {
        await fromFile.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('rate-change preview', () => {
    const rates: EarnRate[] = [
      { categoryCode: 'ELEC', pointsPer100Rupees: 2, effectiveFrom: '2026-01-01T00:00:00.000Z' },
      { categoryCode: 'ELTR', pointsPer100Rupees: 1, effectiveFrom: '2026-01-01T00:00:00.000Z' },
      { categoryCode: 'APPL', pointsPer100Rupees: 1, effectiveFrom: '2026-01-01T00:00:00.000Z' },
      { categoryCode: 'BOOK', pointsPer100Rupees: 5, effectiveFrom: '2026-01-01T00:00:00.000Z' },
    ];
    const sent: {
      soldAt: string;
      lines: { sku: string; categoryCode: string; quantity: number; amountPaise: number }[];
    }[] = [];

    beforeAll(async () => {
      const mobile = '+919822200001';
      await c.request('POST', '/api/members', {
        token: c.tokens.cashier,
        body: { mobile, name: 'Arjun Pillai', smsConsent: false, showroomCode: 'MUM-01' },
      });
      // Deterministic amounts with every kind of remainder, and sales just inside and outside
      // October in India (UTC+05:30).
      let seed = 7;
      const next = (n: number) => {
        seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
        return seed % n;
      };
      const times = [
        '2026-09-30T18:29:59.999Z',
        '2026-09-30T18:30:00.000Z',
        '2026-10-31T18:29:59.999Z',
        '2026-10-31T18:30:00.000Z',
      ];
      for (let i = 0; i < 36; i += 1)
        times.push(new Date(Date.UTC(2026, 9, 1 + (i % 30), 6, i)).toISOString());
      const codes = ['ELEC', 'ELTR', 'APPL', 'BOOK'];
      for (const [i, soldAt] of times.entries()) {
        const lines = Array.from({ length: 1 + next(4) }, (_, j) => ({
          sku: `P-${i}-${j}`,
          categoryCode: codes[next(4)] ?? 'BOOK',
          quantity: 1 + next(3),
          amountPaise: 1 + next(2_500_000),
        }));
        const r = await c.request('POST', '/api/sales', {
          token: c.tokens.cashier,
          headers: { 'idempotency-key': newKey('pv') },
          body: { showroomCode: 'MUM-01', billNumber: `PV-${i}`, soldAt, mobile, lines },
        });
        expect(r.status, JSON.stringify(r.body)).toBe(201);
        sent.push({ soldAt, lines });
      }
    });

    it('defaults to last calendar month in the chain time zone', () => {
      expect(lastMonth(new Date('2026-11-20T06:30:00Z'), 'Asia/Kolkata')).toEqual({
        from: '2026-10-01',
        to: '2026-10-31',
      });
      expect(lastMonth(new Date('2026-12-31T19:00:00Z'), 'Asia/Kolkata')).toEqual({
        from: '2026-12-01',
        to: '2026-12-31',
      });
      expect(lastMonth(new Date('2026-01-15T00:00:00Z'), 'Asia/Kolkata')).toEqual({
        from: '2025-12-01',
        to: '2025-12-31',
      });
    });

    it('equals a recomputation of each line with the shared earn rule', async () => {
      const proposal = { ELEC: 3, BOOK: 4, TOYS: 9 } as Record<string, number>;
      const r = await c.request('POST', '/api/rates/preview', {
        token: c.tokens.manager,
        body: {
          changes: Object.entries(proposal).map(([categoryCode, pointsPer100Rupees]) => ({
            categoryCode,
            pointsPer100Rupees,
          })),
        },
      });
      expect(r.status).toBe(200);
      const settings = await c.request('GET', '/api/settings/program', { token: c.tokens.admin });
      const pointValuePaise = settings.body.settings.pointValuePaise as number;
      const start = Date.parse('2026-09-30T18:30:00.000Z');
      const end = Date.parse('2026-10-31T18:30:00.000Z');
      const expected = new Map<
        string,
        { lines: number; amountPaise: number; earned: number; proposed: number }
      >();
      let sales = 0;
      for (const sale of sent) {
        const at = Date.parse(sale.soldAt);
        if (at < start || at >= end) continue;
        sales += 1;
        const earning = earnForSale(sale.lines, rates, new Date(sale.soldAt));
        if (!earning.ok) throw new Error('a test sale has no rate');
        for (const line of earning.lines) {
          const e = expected.get(line.categoryCode) ?? {
            lines: 0,
            amountPaise: 0,
            earned: 0,
            proposed: 0,
          };
          const rate = proposal[line.categoryCode];
          e.lines += 1;
          e.amountPaise += line.amountPaise;
          e.earned += line.points;
          e.proposed += rate === undefined ? line.points : pointsForAmount(line.amountPaise, rate);
          expected.set(line.categoryCode, e);
        }
      }
      expect(sales).toBe(38);
      expect(r.body).toMatchObject({
        from: '2026-10-01',
        to: '2026-10-31',
        timeZone: 'Asia/Kolkata',
        pointValuePaise,
      });
      const byCode = new Map(
        (r.body.categories as { categoryCode: string }[]).map((x) => [x.categoryCode, x]),
      );
      for (const [code, e] of expected) {
        expect(byCode.get(code), code).toMatchObject({
          lines: e.lines,
          amountPaise: e.amountPaise,
          pointsEarned: e.earned,
          pointsProposed: e.proposed,
          pointsDifference: e.proposed - e.earned,
          differenceValuePaise: (e.proposed - e.earned) * pointValuePaise,
          proposedRate: proposal[code] ?? null,
        });
      }
      // A proposed category without sales is listed with zeros.
      expect(byCode.get('TOYS')).toMatchObject({
        lines: 0,
        pointsProposed: 0,
        proposedRate: 9,
        currentRate: 3,
      });
      const all = [...expected.values()];
      expect(r.body.totals).toEqual({
        sales,
        lines: all.reduce((t, e) => t + e.lines, 0),
        amountPaise: all.reduce((t, e) => t + e.amountPaise, 0),
        pointsEarned: all.reduce((t, e) => t + e.earned, 0),
        pointsProposed: all.reduce((t, e) => t + e.proposed, 0),
        pointsDifference: all.reduce((t, e) => t + e.proposed - e.earned, 0),
        differenceValuePaise: all.reduce(
          (t, e) => t + (e.proposed - e.earned) * pointValuePaise,
          0,
        ),
      });
      // Rounding matters: per line, not per category total.
      const elec = expected.get('ELEC');
      expect(elec?.proposed).not.toBe(Math.floor(((elec?.amountPaise ?? 0) * 3) / 10_000));
    });

    it('takes an explicit period, and refuses unknown categories and bad periods', async () => {
      const one = await c.request('POST', '/api/rates/preview', {
        token: c.tokens.admin,
        body: {
          changes: [{ categoryCode: 'BOOK', pointsPer100Rupees: 5 }],
          from: '2026-11-01',
          to: '2026-11-30',
        },
      });
      expect(one.status).toBe(200);
      expect(one.body.totals.sales).toBe(1 + 4); // the sale just after October, the SMS tests' sales
      expect(one.body.totals.pointsDifference).toBe(0);
      const unknown = await c.request('POST', '/api/rates/preview', {
        token: c.tokens.admin,
        body: { changes: [{ categoryCode: 'NONE', pointsPer100Rupees: 5 }] },
      });
      expect(unknown.status).toBe(422);
      expect(unknown.body.errors[0].pointer).toBe('/changes/0/categoryCode');
      const twice = await c.request('POST', '/api/rates/preview', {
        token: c.tokens.admin,
        body: {
          changes: [
            { categoryCode: 'BOOK', pointsPer100Rupees: 5 },
            { categoryCode: 'BOOK', pointsPer100Rupees: 6 },
          ],
        },
      });
      expect(twice.status).toBe(400);
      const half = await c.request('POST', '/api/rates/preview', {
        token: c.tokens.admin,
        body: { changes: [{ categoryCode: 'BOOK', pointsPer100Rupees: 5 }], from: '2026-10-01' },
      });
      expect(half.status).toBe(400);
      const long = await c.request('POST', '/api/rates/preview', {
        token: c.tokens.admin,
        body: {
          changes: [{ categoryCode: 'BOOK', pointsPer100Rupees: 5 }],
          from: '2024-01-01',
          to: '2026-01-01',
        },
      });
      expect(long.status).toBe(400);
      const fraction = await c.request('POST', '/api/rates/preview', {
        token: c.tokens.admin,
        body: { changes: [{ categoryCode: 'BOOK', pointsPer100Rupees: 2.5 }] },
      });
      expect(fraction.status).toBe(400);
    });
  });

  it('never wrote a secret to the audit log', async () => {
    const rows = await listAudit(c.central.db, { limit: 1000 });
    expect(rows.length).toBeGreaterThan(20);
    const text = JSON.stringify(rows);
    for (const secret of [
      ...Object.values(PASSWORDS),
      'temp-password-1',
      'old-password-1',
      'new-password-1',
      'second-admin-1',
      '4321',
      '8642',
      'twilio-secret-token-7788',
      'scrypt$',
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});

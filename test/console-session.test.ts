import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../central/config.ts';
import { prepareSetup, SETUP_CODE_FILE } from '../central/console/setup.ts';
import { createCentral, listen, type Central, type Listening } from '../central/server.ts';
import { createTestDatabase, describeEachDb, type TestDatabase } from './support/databases.ts';
import { PASSWORDS, startTestCentral, type TestCentral } from './support/central.ts';

/** Signs in to the console and returns the cookie header to send back and the CSRF token. */
async function signIn(
  c: TestCentral,
  username: string,
  password: string,
): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const r = await c.request('POST', '/api/console/session', { body: { username, password } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  const setCookie = r.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0] ?? '';
  return { cookie, csrf: String(r.body.csrfToken), setCookie };
}

describeEachDb('console session', (dialect) => {
  let c: TestCentral;
  beforeAll(async () => {
    c = await startTestCentral(dialect);
  });
  afterAll(async () => {
    await c.close();
  });

  it('signs an admin in with an HttpOnly, SameSite=Strict cookie and answers who is signed in', async () => {
    const { cookie, csrf, setCookie } = await signIn(c, 'admin', PASSWORDS.admin);
    expect(setCookie).toMatch(/^sl_session=[A-Za-z0-9_-]{20,}/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).toMatch(/Path=\//);
    const me = await c.request('GET', '/api/console/session', { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(me.body.staff.username).toBe('admin');
    expect(me.body.csrfToken).toBe(csrf);
    // The cookie alone reads the API as the signed-in admin.
    const showrooms = await c.request('GET', '/api/showrooms', { headers: { cookie } });
    expect(showrooms.status).toBe(200);
    const audit = await c.request('GET', '/api/audit?action=console.sign-in', {
      headers: { cookie },
    });
    expect(audit.status).toBe(200);
    expect(audit.body.entries[0]).toMatchObject({ username: 'admin', action: 'console.sign-in' });
  });

  it('refuses a change made with the cookie but without the CSRF token, or from another origin', async () => {
    const { cookie, csrf } = await signIn(c, 'admin', PASSWORDS.admin);
    const body = { code: 'PUN-01', name: 'FC Road', city: 'Pune' };
    const none = await c.request('POST', '/api/showrooms', { headers: { cookie }, body });
    expect(none.status).toBe(403);
    expect(none.body.type).toBe('/problems/csrf');
    const wrong = await c.request('POST', '/api/showrooms', {
      headers: { cookie, 'x-csrf-token': 'A'.repeat(43) },
      body,
    });
    expect(wrong.status).toBe(403);
    const foreign = await c.request('POST', '/api/showrooms', {
      headers: { cookie, 'x-csrf-token': csrf, origin: 'https://evil.example' },
      body,
    });
    expect(foreign.status).toBe(403);
    expect(foreign.body.detail).toContain('evil.example');
    const list = await c.request('GET', '/api/showrooms', { token: c.tokens.admin });
    expect(list.body.showrooms.map((s: { code: string }) => s.code)).not.toContain('PUN-01');
    const ok = await c.request('POST', '/api/showrooms', {
      headers: { cookie, 'x-csrf-token': csrf, origin: c.url },
      body,
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
  });

  it('keeps cashiers out of the console and a manager out of admin pages', async () => {
    const cashier = await c.request('POST', '/api/console/session', {
      body: { username: 'mum.cashier', password: PASSWORDS.cashier },
    });
    expect(cashier.status).toBe(403);
    expect(cashier.headers.get('set-cookie')).toBeNull();
    const { cookie } = await signIn(c, 'mum.manager', PASSWORDS.manager);
    const audit = await c.request('GET', '/api/audit', { headers: { cookie } });
    expect(audit.status).toBe(403);
  });

  it('gives a signed-out or unknown visitor nothing', async () => {
    const { cookie, csrf } = await signIn(c, 'admin', PASSWORDS.admin);
    const out = await c.request('DELETE', '/api/console/session', {
      headers: { cookie, 'x-csrf-token': csrf },
    });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/sl_session=;/);
    for (const path of [
      '/api/console/session',
      '/api/showrooms',
      '/api/members?mobile=9820012345',
    ]) {
      const r = await c.request('GET', path, { headers: { cookie } });
      expect(r.status, path).toBe(401);
    }
    const forged = await c.request('GET', '/api/showrooms', {
      headers: { cookie: `sl_session=${'x'.repeat(43)}` },
    });
    expect(forged.status).toBe(401);
  });

  it('sends security headers and serves the console or says how to build it', async () => {
    const r = await c.request('GET', '/api/showrooms', { token: c.tokens.admin });
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(r.headers.get('x-frame-options')).toBe('DENY');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    const root = await fetch(`${c.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console/');
    const page = await fetch(`${c.url}/console/members/1`);
    if (page.status === 200) {
      expect(await page.text()).toContain('<div id="root"');
    } else {
      expect(page.status).toBe(503);
      expect(await page.text()).toContain('npm run build:ui');
    }
  });
});

describe('console sign-in throttling', () => {
  let c: TestCentral;
  beforeAll(async () => {
    c = await startTestCentral('sqlite');
  });
  afterAll(async () => {
    await c.close();
  });

  it('locks a username after 5 wrong passwords, even for the right one, across both sign-ins', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await c.request('POST', '/api/console/session', {
        body: { username: 'mum.manager', password: 'wrong' },
      });
      expect(r.status).toBe(401);
    }
    for (let i = 0; i < 2; i++) {
      const r = await c.request('POST', '/api/auth/login', {
        body: { username: 'mum.manager', password: 'wrong' },
      });
      expect(r.status).toBe(401);
    }
    const right = await c.request('POST', '/api/console/session', {
      body: { username: 'mum.manager', password: PASSWORDS.manager },
    });
    expect(right.status).toBe(429);
    expect(right.body.detail).toContain('15 minutes');
    c.clock.advance(15 * 60_000 + 1);
    const later = await c.request('POST', '/api/console/session', {
      body: { username: 'mum.manager', password: PASSWORDS.manager },
    });
    expect(later.status).toBe(200);
  });

  it('locks an address that tries one password on many usernames', async () => {
    for (let i = 0; i < 20; i++) {
      const r = await c.request('POST', '/api/console/session', {
        body: { username: `nobody${i}`, password: 'password1' },
      });
      expect(r.status).toBe(401);
    }
    const r = await c.request('POST', '/api/console/session', {
      body: { username: 'admin', password: PASSWORDS.admin },
    });
    expect(r.status).toBe(429);
    expect(r.body.detail).toContain('this computer');
  });
});

describeEachDb('console first-run setup', (dialect) => {
  let database: TestDatabase;
  let central: Central;
  let listening: Listening;
  let url: string;
  const post = (body: unknown) =>
    fetch(`${url}/api/console/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    const config = loadConfig({
      ...database.env,
      LOG_LEVEL: 'silent',
      PORT: '0',
      HOST: '127.0.0.1',
    });
    central = await createCentral(config);
    listening = await listen(central);
    url = listening.url;
  });
  afterAll(async () => {
    await listening.close();
    await central.db.knex.destroy();
    await database.drop();
  });

  it('lets the holder of the printed code create the first admin once, and nobody else', async () => {
    const state = await (await fetch(`${url}/api/console/setup`)).json();
    expect(state).toEqual({ needed: true });
    const code = await prepareSetup(central.db, database.env.DATA_DIR);
    expect(code).toMatch(/^[2-9A-Z]{12}$/);
    const file = path.join(database.env.DATA_DIR, SETUP_CODE_FILE);
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(code);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const admin = { username: 'head.office', name: 'Head Office', password: 'first-admin-2026' };

    const wrong = await post({ ...admin, setupCode: 'AAAAAAAAAAAA' });
    expect(wrong.status).toBe(401);
    expect(Number((await central.db.knex('staff').count({ n: '*' }).first())?.n)).toBe(0);

    const typed = `${String(code).slice(0, 4).toLowerCase()}-${String(code).slice(4)}`;
    const ok = await post({ ...admin, setupCode: typed });
    expect(ok.status).toBe(200);
    const session = (await ok.json()) as { staff: { role: string }; csrfToken: string };
    expect(session.staff.role).toBe('admin');
    const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    // Signed in at once: the new admin can add the first showroom.
    const showroom = await fetch(`${url}/api/showrooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': session.csrfToken },
      body: JSON.stringify({ code: 'BLR-01', name: 'Indiranagar', city: 'Bengaluru' }),
    });
    expect(showroom.status).toBe(201);

    const again = await post({ ...admin, username: 'intruder', setupCode: code });
    expect(again.status).toBe(409);
    expect(await (await fetch(`${url}/api/console/setup`)).json()).toEqual({ needed: false });
    const audit = await central.db
      .knex('audit_log')
      .where('action', 'staff.create')
      .select('username');
    expect(audit).toEqual([{ username: 'head.office' }]);
    // Restarting with an admin in place makes no new code and removes the old file.
    expect(await prepareSetup(central.db, database.env.DATA_DIR)).toBeUndefined();
    expect(fs.existsSync(file)).toBe(false);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachDb } from './support/databases.ts';
import { newKey, PASSWORDS, startTestCentral, type TestCentral } from './support/central.ts';
import { MAX_LINE_PAISE } from '../shared/money.ts';

type Reply = Awaited<ReturnType<TestCentral['request']>>;
type Body = Record<string, unknown>;

/** The member every sale below is for; enrolled before the tests. */
const MOBILE = '+919812345678';
const REASON = 'goodwill gesture';

/** Mobiles no endpoint may accept, with what the refusal must say. */
const BAD_MOBILES: [string, string, RegExp][] = [
  ['too short', '12345', /not a valid number.*10 digits/],
  ['letters', 'abcdefghij', /not a phone number: use digits/],
  ['too long', '98765432101234', /not a valid number.*10 digits/],
  ['empty', '', /not a phone number: use digits/],
  ['US', '+1 415 555 2671', /not an IN number.*only to IN mobiles/],
  ['UK', '+44 7911 123456', /not an IN number.*only to IN mobiles/],
  ['SQL-looking', "9812345678' OR '1'='1", /not a phone number/],
];

/** Tables a refused request must leave alone, beyond those `c.counts()` covers. */
const MORE_TABLES = [
  'showrooms',
  'categories',
  'category_rates',
  'staff',
  'staff_sessions',
  'return_lines',
];

describeEachDb('central refuses bad input and writes nothing', (dialect) => {
  let c: TestCentral;
  let memberId: number;
  let saleId: number;

  const line = (o: Body = {}) => ({
    sku: 'LED-9W',
    categoryCode: 'ELEC',
    quantity: 2,
    amountPaise: 10_000,
    ...o,
  });
  const saleBody = (o: Body = {}) => ({
    showroomCode: 'MUM-01',
    billNumber: `MUM/${newKey('bill')}`,
    mobile: MOBILE,
    lines: [line()],
    ...o,
  });
  const enrolBody = (o: Body = {}) => ({
    mobile: '9811100000',
    name: 'Test Member',
    smsConsent: true,
    showroomCode: 'MUM-01',
    ...o,
  });
  const keyed = (key = newKey()) => ({ 'idempotency-key': key });
  const get = (path: string, token = c.tokens.cashier) => c.request('GET', path, { token });
  type HeaderMap = Record<string, string>;
  const post = (
    path: string,
    body: unknown,
    token = c.tokens.cashier,
    headers: HeaderMap = keyed(),
  ) => c.request('POST', path, { token, body, headers });
  const sale = (body: unknown, token = c.tokens.cashier, headers: HeaderMap = keyed()) =>
    post('/api/sales', body, token, headers);
  const enrol = (o: Body, token = c.tokens.cashier) => post('/api/members', enrolBody(o), token);
  const adjust = (body: unknown, id: number | string = memberId, token = c.tokens.manager) =>
    post(`/api/members/${id}/adjustments`, body, token);
  const giveBack = (body: unknown, id: number | string = saleId, token = c.tokens.manager) =>
    post(`/api/sales/${id}/returns`, body, token);
  const raw = (path: string, headers: HeaderMap, text?: string) =>
    c.request('POST', path, {
      token: c.tokens.cashier,
      headers: { ...keyed(), ...headers },
      ...(text === undefined ? {} : { raw: text }),
    });

  /** Row counts of every table a request could write. */
  const snapshot = async () => {
    const out = await c.counts();
    for (const t of MORE_TABLES) {
      const row: { n?: number | string } | undefined = await c.central.db
        .knex(t)
        .count({ n: '*' })
        .first();
      out[t] = Number(row?.n ?? 0);
    }
    return out;
  };

  /**
   * Sends a request and shows it was refused as `expected` ("400 validation /mobile": status,
   * problem code, optional JSON pointer), with a detail that says why, and that nothing was written.
   */
  const refused = async (
    expected: string,
    send: () => Promise<Reply>,
    why?: RegExp | string,
  ): Promise<Reply> => {
    const [status, code, pointer] = expected.split(' ');
    const before = await snapshot();
    const r = await send();
    expect(r.status, JSON.stringify(r.body)).toBe(Number(status));
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json\b/);
    expect(r.body).toMatchObject({ type: `/problems/${code}`, status: Number(status) });
    expect(r.body.detail).toMatch(/[a-z].{9,}/i);
    if (why !== undefined) expect(r.body.detail).toMatch(why);
    if (pointer !== undefined) {
      expect(r.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    }
    expect(await snapshot()).toEqual(before);
    return r;
  };

  beforeAll(async () => {
    c = await startTestCentral(dialect);
    const enrolled = await enrol({ mobile: MOBILE, name: 'Asha Rao' });
    expect(enrolled.status).toBe(201);
    memberId = enrolled.body.member.id;
    const sold = await sale(saleBody());
    expect(sold.status).toBe(201);
    saleId = sold.body.saleId;
  });
  afterAll(async () => {
    await c.close();
  });

  describe('mobiles', () => {
    it.each(BAD_MOBILES)('refuses a %s mobile on enrol, find and sale', async (_, mobile, why) => {
      await refused('400 validation /mobile', () => enrol({ mobile }), why);
      const find = `/api/members?mobile=${encodeURIComponent(mobile)}`;
      await refused('400 validation query:mobile', () => get(find), why);
      await refused('400 validation /mobile', () => sale(saleBody({ mobile })), why);
    });

    it('refuses a find without a mobile, or with two', async () => {
      await refused('400 validation query:mobile', () => get('/api/members'));
      const two = '/api/members?mobile=9812345678&mobile=9812345679';
      await refused('400 validation query:mobile', () => get(two));
    });
  });

  describe('sales', () => {
    it.each<[string, Body]>([
      ['a zero line amount', { amountPaise: 0 }],
      ['a negative line amount', { amountPaise: -500 }],
      ['a fractional line amount', { amountPaise: 100.5 }],
      ['a line amount of 1e12', { amountPaise: 1e12 }],
      ['a line amount of 1e20', { amountPaise: 1e20 }],
      ['a line amount as a string', { amountPaise: '100' }],
      ['a quantity of 0', { quantity: 0 }],
      ['a fractional quantity', { quantity: 1.5 }],
      ['SQL in a SKU', { sku: "X'); DELETE FROM sale_lines;--" }],
    ])('refuses %s with 400', async (_, bad) => {
      const pointer = `/lines/0/${Object.keys(bad).join('')}`;
      await refused(`400 validation ${pointer}`, () => sale(saleBody({ lines: [line(bad)] })));
    });

    it.each<[string, Body, string]>([
      ['no lines', { lines: [] }, '/lines'],
      ['SQL in the bill number', { billNumber: "1'; DROP TABLE sales;--" }, '/billNumber'],
      ['SQL in the showroom code', { showroomCode: "MUM-01' OR '1'='1" }, '/showroomCode'],
      ['a sale time without offset', { soldAt: '2026-11-20T10:00:00' }, '/soldAt'],
    ])('refuses a sale with %s with 400', async (_, bad, pointer) => {
      await refused(`400 validation ${pointer}`, () => sale(saleBody(bad)));
    });

    it('refuses a bill total above ₹10 crore, each line at the line maximum', async () => {
      const lines = Array.from({ length: 11 }, (_, i) =>
        line({ sku: `TV-${i}`, quantity: 1, amountPaise: MAX_LINE_PAISE }),
      );
      await refused('400 validation /lines', () => sale(saleBody({ lines })), 'bill total');
    });

    it('refuses an unknown category or showroom with 422', async () => {
      const lines = [line(), line({ categoryCode: 'GOLD' })];
      await refused(
        '422 unknown-category /lines/1/categoryCode',
        () => sale(saleBody({ lines })),
        'GOLD',
      );
      await refused(
        '422 unknown-showroom /showroomCode',
        () => sale(saleBody({ showroomCode: 'PUN-01' })),
        'PUN-01',
      );
    });

    it('refuses a sale at another showroom than the cashier’s with 403', async () => {
      await refused('403 wrong-showroom', () => sale(saleBody({ showroomCode: 'DEL-01' })));
      await refused('403 wrong-showroom', () => sale(saleBody(), c.tokens.otherCashier));
    });

    it('refuses a sale for a mobile that is not a member with 404', async () => {
      const stranger = saleBody({ mobile: '9000012345' });
      await refused('404 member-not-found', () => sale(stranger), 'enrol');
    });

    it.each<[string, number, RegExp]>([
      ['6 minutes in the future', 6 * 60_000, /in the future/],
      ['31 days ago', -31 * 86_400_000, /more than 30 days ago/],
    ])('refuses a sale time %s with 422', async (_, offsetMs, why) => {
      const soldAt = new Date(c.clock.now().getTime() + offsetMs).toISOString();
      await refused('422 sale-time-out-of-range /soldAt', () => sale(saleBody({ soldAt })), why);
    });
  });

  describe('request bodies', () => {
    it('refuses a body over 64 KB with 413', async () => {
      const body = { ...saleBody(), note: 'x'.repeat(70 * 1024) };
      await refused('413 body-too-large', () => sale(body));
    });

    it.each(['{"showroomCode": "MUM-01",', "{'mobile': '9812345678'}", 'null', '"a string"'])(
      'refuses malformed JSON %j with 400',
      async (text) => {
        const json = { 'content-type': 'application/json' };
        await refused('400 malformed-json', () => raw('/api/sales', json, text), 'not valid JSON');
      },
    );

    it('refuses a gzip body that is not gzip with 400', async () => {
      // Before the fix: body-parser's zlib error answered 500.
      const gzip = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
      const text = JSON.stringify(saleBody());
      await refused('400 malformed-json', () => raw('/api/sales', gzip, text), 'Content-Encoding');
    });

    it.each([
      ['text/plain', JSON.stringify(enrolBody())],
      ['application/x-www-form-urlencoded', 'mobile=9811100000&name=Test'],
      ['application/json; charset=latin1', JSON.stringify(enrolBody())],
    ])('refuses a %s body with 415', async (type, text) => {
      const headers = { 'content-type': type };
      await refused('415 unsupported-media-type', () => raw('/api/members', headers, text));
    });

    it('refuses a missing body or a JSON array with 400', async () => {
      await refused('400 validation', () => raw('/api/sales', {}), 'needs a JSON body');
      await refused('400 validation /', () => sale([saleBody()]));
    });
  });

  describe('idempotency keys', () => {
    const OPS: [string, (headers: HeaderMap) => Promise<Reply>][] = [
      ['a sale', (h) => sale(saleBody(), c.tokens.cashier, h)],
      [
        'an adjustment',
        (h) =>
          post(
            `/api/members/${memberId}/adjustments`,
            { points: 5, reason: REASON },
            c.tokens.manager,
            h,
          ),
      ],
      ['a return', (h) => post(`/api/sales/${saleId}/returns`, {}, c.tokens.manager, h)],
    ];
    it.each(OPS)('refuses %s without a key, or with a bad one', async (_, send) => {
      for (const [headers, why] of [
        [{}, 'the Idempotency-Key header is required'],
        [{ 'idempotency-key': 'abc1234' }, '8–128'],
        [{ 'idempotency-key': 'key with spaces' }, '8–128'],
      ] as const) {
        await refused('400 validation header:idempotency-key', () => send(headers), why);
      }
    });

    it('refuses a key reused with a different body with 409', async () => {
      const key = newKey();
      expect((await sale(saleBody(), c.tokens.cashier, keyed(key))).status).toBe(201);
      const again = () => sale(saleBody(), c.tokens.cashier, keyed(key));
      await refused('409 idempotency-key-reused', again, key);
    });

    it('refuses a key reused for another kind of operation with 409', async () => {
      const key = newKey();
      const path = `/api/members/${memberId}/adjustments`;
      const first = await post(path, { points: 1, reason: REASON }, c.tokens.manager, keyed(key));
      expect(first.status).toBe(201);
      const again = () => sale(saleBody(), c.tokens.manager, keyed(key));
      await refused('409 idempotency-key-reused', again, 'use a new key');
    });
  });

  describe('names and SQL-looking text', () => {
    it.each<[string, string, string]>([
      ['SQL', "Robert'); DROP TABLE members;--", 'a name may hold letters of any script'],
      ['empty', '', 'the name is empty'],
      ['whitespace-only', ' \t\n\u00a0 ', 'the name is empty'],
      ['over 120 characters', 'अ'.repeat(121), 'a name has at most 120 characters'],
      ['NUL-holding', 'Ravi\u0000Kumar', 'a name may hold letters of any script'],
    ])('refuses a %s name on enrol', async (_, name, why) => {
      await refused('400 validation /name', () => enrol({ name }), `/name: ${why}`);
    });

    it('refuses an enrolment at an unknown, malformed or other showroom', async () => {
      const at = (showroomCode: string) => () => enrol({ showroomCode });
      await refused('422 unknown-showroom /showroomCode', at('PUN-01'), 'PUN-01');
      await refused('400 validation /showroomCode', at("MUM-01'--"));
      await refused('403 wrong-showroom', at('DEL-01'), 'another showroom');
    });

    it.each([
      ['Hindi with vowel signs', 'सुनीता देवी', '9811100011'],
      ['Hindi with conjuncts', 'श्रीमती ज्योति', '9811100012'],
      ['an apostrophe', "Seán O'Brien", '9811100013'],
      ['an apostrophe and a dash', "Anne-Marie D'Souza", '9811100014'],
    ])('stores a name with %s and reads it back byte-exact', async (_, name, mobile) => {
      expect(name.normalize('NFC')).toBe(name);
      const enrolled = await enrol({ name, mobile });
      expect(enrolled.status).toBe(201);
      const id = enrolled.body.member.id as number;
      const byId = await get(`/api/members/${id}`);
      const byMobile = await get(`/api/members?mobile=${mobile}`);
      const row = await c.central.db.knex('members').where('id', id).first('name');
      for (const read of [enrolled.body.member.name, byId.body.name, byMobile.body.name, row.name])
        expect(Buffer.from(read as string, 'utf8')).toEqual(Buffer.from(name, 'utf8'));
    });

    it('keeps SQL-looking free text verbatim, and every table in place', async () => {
      const before = await snapshot();
      const reason = 'refund\'); DROP TABLE ledger_entries;-- "quoted" \\ back';
      const r = await adjust({ points: 3, reason });
      expect(r.status).toBe(201);
      expect(r.body.entry.reason).toBe(reason);
      expect(await snapshot()).toEqual({
        ...before,
        ledger_entries: (before.ledger_entries ?? 0) + 1,
        idempotency_keys: (before.idempotency_keys ?? 0) + 1,
      });
      for (const t of ['members', 'sales', 'sale_lines', 'ledger_entries'])
        expect(await c.central.db.knex.schema.hasTable(t), t).toBe(true);
      expect((await get(`/api/members/${memberId}`)).body.name).toBe('Asha Rao');
    });

    // Before the fix: PostgreSQL cannot store NUL and answered 500; SQLite stored it.
    it.each<[string, string, () => Promise<Reply>]>([
      [
        'a login username',
        '/username',
        () =>
          c.request('POST', '/api/auth/login', { body: { username: 'admin\0', password: 'x' } }),
      ],
      ['an adjustment reason', '/reason', () => adjust({ points: 5, reason: 'late\0delivery' })],
      [
        'a reason with a lone surrogate',
        '/reason',
        () => adjust({ points: 5, reason: 'late \ud800 delivery' }),
      ],
      ['a return reason', '/reason', () => giveBack({ reason: 'faulty\0unit' })],
      [
        'a showroom name',
        '/name',
        () =>
          post('/api/showrooms', { code: 'PUN-01', name: 'K\0P', city: 'Pune' }, c.tokens.admin),
      ],
      [
        'a category name',
        '/name',
        () =>
          post(
            '/api/categories',
            { code: 'GOLD', name: 'Gold\u0007', pointsPer100Rupees: 1 },
            c.tokens.admin,
          ),
      ],
    ])('refuses control characters or broken UTF-16 in %s with 400', async (_, pointer, send) => {
      await refused(`400 validation ${pointer}`, send, 'control characters');
    });
  });

  describe('signing in', () => {
    it.each([
      ['a wrong password', 'mum.cashier', `${PASSWORDS.cashier}x`],
      ['an unknown user', 'nobody', PASSWORDS.cashier],
    ])('refuses %s with 401', async (_, username, password) => {
      const login = () => c.request('POST', '/api/auth/login', { body: { username, password } });
      const r = await refused('401 unauthenticated', login, 'Wrong username or password.');
      expect(r.body.token).toBeUndefined();
    });

    it('refuses a request without a token with 401', async () => {
      for (const send of [
        () => c.request('GET', `/api/members/${memberId}`),
        () => c.request('POST', '/api/sales', { body: saleBody(), headers: keyed() }),
      ]) {
        await refused('401 unauthenticated', send, 'Sign in with POST /api/auth/login');
      }
    });

    it('refuses a garbage token with 401', async () => {
      const garbage = () => sale(saleBody(), 'x'.repeat(43));
      await refused('401 unauthenticated', garbage, 'expired or was revoked');
    });

    it.each([
      'Basic YWRtaW46YWRtaW4=',
      'Bearer',
      'Bearer short',
      'Token TOKEN',
      'Bearer TOKEN extra',
      'Bearer TOKEN; DROP TABLE staff_sessions',
    ])('refuses the Authorization header %j with 401', async (header) => {
      const authorization = header.replace('TOKEN', c.tokens.cashier);
      const send = () =>
        c.request('POST', '/api/sales', {
          body: saleBody(),
          headers: { ...keyed(), authorization },
        });
      await refused('401 unauthenticated', send, 'not "Bearer <token>"');
    });
  });

  describe('dates of birth and anniversary', () => {
    it.each([
      ['birthday', '0000-01-01'],
      ['birthday', '1850-05-05'],
      ['birthday', '2026-02-30'],
      ['anniversary', '23/11/2010'],
      ['birthday', '2099-01-01'],
    ])('refuses %s %s with 400', async (field, date) => {
      await refused(`400 validation /${field}`, () =>
        enrol({ mobile: '9812300001', name: 'Date Case', [field]: date }),
      );
    });
  });

  it('accepts the Authorization scheme in any letter case', async () => {
    const r = await c.request('GET', `/api/members/${memberId}`, {
      headers: { authorization: `bearer ${c.tokens.cashier}` },
    });
    expect(r.status).toBe(200);
    expect(r.body.id).toBe(memberId);
  });

  describe('roles', () => {
    it('refuses a cashier an adjustment or a return with 403', async () => {
      const adjustment = () => adjust({ points: 5, reason: REASON }, memberId, c.tokens.cashier);
      await refused('403 forbidden', adjustment, 'needs a manager');
      await refused(
        '403 forbidden',
        () => giveBack({}, saleId, c.tokens.cashier),
        'needs a manager',
      );
    });

    it.each<[string, () => Body]>([
      ['/api/categories', () => ({ code: 'GOLD', name: 'Gold', pointsPer100Rupees: 3 })],
      ['/api/showrooms', () => ({ code: 'PUN-01', name: 'Koregaon Park', city: 'Pune' })],
      [
        '/api/staff',
        () => ({
          username: 'new.admin',
          name: 'Nisha Patil',
          role: 'admin',
          password: 'long-enough-pw',
        }),
      ],
      [
        '/api/categories/ELEC/rates',
        () => ({
          pointsPer100Rupees: 9,
          effectiveFrom: new Date(c.clock.now().getTime() + 86_400_000).toISOString(),
        }),
      ],
    ])('refuses cashier and manager POST %s with 403', async (path, body) => {
      for (const token of [c.tokens.cashier, c.tokens.manager]) {
        await refused('403 forbidden', () => post(path, body(), token), 'needs an admin');
      }
    });
  });

  describe('paths and queries', () => {
    it.each([
      ['GET', '/api/nope'],
      ['GET', '/api/members/1/points'],
      ['POST', '/api/members/1/redeem'],
      ['DELETE', '/api/sales/1'],
      ['GET', '/problems/no-such-problem'],
    ])('answers %s %s with a 404 problem', async (method, path) => {
      const send = () => c.request(method, path, { token: c.tokens.admin, headers: keyed() });
      await refused('404 not-found', send, 'There is no');
    });

    it.each(['abc', '-1', '0', '1.5', '99999999999999999999', '0x1', '1e3', '01', '+1'])(
      'refuses member id %j in the path with 400',
      async (id) => {
        await refused('400 validation path:memberId', () => get(`/api/members/${id}`));
        const adjustment = () => adjust({ points: 5, reason: REASON }, id);
        await refused('400 validation path:memberId', adjustment);
      },
    );

    it('refuses a sale id that is not a number with 400', async () => {
      await refused('400 validation path:saleId', () => get('/api/sales/abc'));
      await refused('400 validation path:saleId', () => giveBack({}, 'abc'));
    });

    it.each(['%ZZ', '%E0%A4'])('refuses a broken percent-encoding %s with 400', async (id) => {
      // Before the fix: Express's URIError answered 500.
      await refused('400 validation', () => get(`/api/members/${id}`), 'percent-encoded');
    });

    it('answers 404 for a member or sale that does not exist', async () => {
      await refused('404 not-found', () => get('/api/members/999999'), 'no member 999999');
      const adjustment = () => adjust({ points: 5, reason: REASON }, 999999);
      await refused('404 not-found', adjustment, 'no member 999999');
      await refused('404 sale-not-found', () => get('/api/sales/999999'), 'no sale 999999');
      await refused('404 sale-not-found', () => giveBack({}, 999999), 'no sale 999999');
    });

    it.each([
      ['from after to', 'from=2026-11-02&to=2026-11-01', 'query:from'],
      ['a month 13', 'from=2026-13-01&to=2026-11-30', 'query:from'],
      ['no dashes', 'from=20261101&to=2026-11-30', 'query:from'],
      ['day first', 'from=2026-11-01&to=30-11-2026', 'query:to'],
      ['no end', 'from=2026-11-01', 'query:to'],
      ['SQL', 'from=2026-11-01%27%20OR%20%271%27%3D%271&to=2026-11-30', 'query:from'],
      ['over 366 days', 'from=2024-01-01&to=2026-11-30', 'query:from'],
    ])('refuses a date range with %s on ledger and sales', async (_, query, pointer) => {
      for (const what of ['ledger', 'sales']) {
        const send = () => get(`/api/members/${memberId}/${what}?${query}`);
        await refused(`400 validation ${pointer}`, send);
      }
    });
  });

  describe('adjustments and returns', () => {
    it.each<[string, Body, string]>([
      ['0 points', { points: 0, reason: REASON }, '/points'],
      ['fractional points', { points: 1.5, reason: REASON }, '/points'],
      ['points as a string', { points: '10', reason: REASON }, '/points'],
      ['over a million points', { points: 1_000_001, reason: REASON }, '/points'],
      ['a 3-letter reason', { points: 5, reason: 'abc' }, '/reason'],
      ['a reason short once trimmed', { points: 5, reason: '   abcd    ' }, '/reason'],
      ['no reason', { points: 5 }, '/reason'],
    ])('refuses an adjustment of %s with 400', async (_, body, pointer) => {
      await refused(`400 validation ${pointer}`, () => adjust(body));
    });

    it('refuses an adjustment below zero with 409', async () => {
      const balance = (await get(`/api/members/${memberId}/balance`)).body.balance as number;
      expect(balance).toBeGreaterThan(0);
      const down = () => adjust({ points: -(balance + 1), reason: 'points spent elsewhere' });
      await refused('409 insufficient-points', down, `has ${balance} points`);
    });

    it('refuses a return of 0 units, or of more units than were sold', async () => {
      const sold = await sale(saleBody());
      expect(sold.status).toBe(201);
      const back = (quantity: number) => () =>
        giveBack({ lines: [{ lineNo: 1, quantity }] }, sold.body.saleId);
      await refused('400 validation /lines/0/quantity', back(0));
      await refused('422 return-not-possible /lines/0/quantity', back(3), '2 unit(s) left');
    });
  });

  // Last: these move the clock past every session of the suite.
  describe('expired sessions', () => {
    // Guards the per-process session cache (SESSION_CACHE_MS): a session looked up in its last
    // seconds must not stay cached past its own expiry.
    it('refuses a session used just before it ends, a moment after it ends', async () => {
      const login = await c.request('POST', '/api/auth/login', {
        body: { username: 'mum.cashier', password: PASSWORDS.cashier },
      });
      const token = login.body.token as string;
      const endsAt = Date.parse(login.body.expiresAt as string);
      c.clock.set(new Date(endsAt - 5_000).toISOString());
      expect((await get('/api/showrooms', token)).status).toBe(200);
      c.clock.set(new Date(endsAt + 1_000).toISOString());
      await refused('401 unauthenticated', () => sale(saleBody(), token), 'expired');
    });

    it('refuses every token 12 hours on', async () => {
      c.clock.advance(12 * 3_600_000 + 60_000);
      for (const token of Object.values(c.tokens)) {
        await refused('401 unauthenticated', () => get('/api/showrooms', token), 'expired');
      }
    });
  });
});

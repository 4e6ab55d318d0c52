import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  INDIAN_GATEWAY_PATH,
  startIndianGatewayStandIn,
  startMsg91StandIn,
  startTwilioStandIn,
  type StandIn,
} from '../../test/support/sms-standins.ts';
import type { SendResult, SmsMessage, SmsProvider } from './provider.ts';
import {
  createProvider,
  DevProvider,
  HttpProvider,
  Msg91Provider,
  parseSmsProviderConfig,
  readDevMessages,
  SmsConfigError,
  TwilioProvider,
  type DevMessage,
  type HttpProviderOptions,
} from './providers/index.ts';

const HINDI = 'नमस्ते राम, आपके 120 पॉइंट जुड़ गए';
const TRICKY = 'a & b = c; "quoted" + plus 100%\nline two {{to}} नमस्ते';
const MSG91_KEY = '123456AbCdEfGhIjKlMnOp';
const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const AUTH_TOKEN = 'f'.repeat(32);
const GATEWAY_KEY = 'gw-key-Secret1';

function message(overrides: Partial<SmsMessage> = {}): SmsMessage {
  return {
    outboxId: 42,
    kind: 'earn',
    to: '+919812345678',
    text: HINDI,
    unicode: true,
    variables: ['राम', '120'],
    templateName: 'earn.hi',
    providerTemplateId: '65f1a2b3c4d5e6f7a8b9c0d1',
    dlt: { entityId: '1101000000000000001', templateId: '1107161234567890123', header: 'SHWRMS' },
    ...overrides,
  };
}

function expectFailure(result: SendResult, retryable: boolean): string {
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('expected a failure');
  expect(result.retryable).toBe(retryable);
  expect(result.error).not.toMatch(/\n/);
  expect(result.error.length).toBeLessThanOrEqual(300);
  return result.error;
}

function expectSuccess(result: SendResult): string {
  if (!result.ok) throw new Error(`expected success, got: ${result.error}`);
  return result.providerMessageId;
}

const standIns: Array<StandIn<unknown>> = [];
async function track<T extends StandIn<unknown>>(standIn: Promise<T>): Promise<T> {
  const started = await standIn;
  standIns.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(standIns.splice(0).map((standIn) => standIn.close()));
});

describe('Msg91Provider', () => {
  it('sends the template id, the number without plus, the variables and the header', async () => {
    const msg91 = await track(startMsg91StandIn({ authKey: MSG91_KEY }));
    const provider = new Msg91Provider({ authKey: MSG91_KEY, baseUrl: msg91.url });

    const id = expectSuccess(await provider.send(message()));

    expect(msg91.accepted).toEqual([
      {
        requestId: id,
        templateId: '65f1a2b3c4d5e6f7a8b9c0d1',
        mobiles: '919812345678',
        variables: { var1: 'राम', var2: '120' },
        sender: 'SHWRMS',
        unicode: 1,
        shortUrl: '0',
      },
    ]);
    const request = msg91.received[0];
    expect(request?.path).toBe('/api/v5/flow/');
    expect(request?.headers['content-type']).toMatch(/^application\/json/);
  });

  it("uses the template's configured variable names", async () => {
    const msg91 = await track(
      startMsg91StandIn({
        authKey: MSG91_KEY,
        templates: { '65f1a2b3c4d5e6f7a8b9c0d1': ['name', 'points'] },
      }),
    );
    const provider = new Msg91Provider({
      authKey: MSG91_KEY,
      baseUrl: msg91.url,
      variableNames: { 'earn.hi': ['name', 'points'] },
    });

    expectSuccess(await provider.send(message()));

    expect(msg91.accepted[0]?.variables).toEqual({ name: 'राम', points: '120' });
  });

  it('reports a wrong authkey as an authentication failure, not retryable', async () => {
    const msg91 = await track(startMsg91StandIn({ authKey: MSG91_KEY }));
    const provider = new Msg91Provider({ authKey: 'wrong-key', baseUrl: msg91.url });

    const error = expectFailure(await provider.send(message()), false);

    expect(error).toMatch(/^msg91: authentication failed \(HTTP 401\): AuthenticationFailure/);
    expect(error).not.toContain('wrong-key');
    expect(msg91.accepted).toEqual([]);
  });

  it('reports a refusal answered with HTTP 200 and type "error" as not retryable', async () => {
    const msg91 = await track(
      startMsg91StandIn({ authKey: MSG91_KEY, templates: { 'other-template': [] } }),
    );
    const provider = new Msg91Provider({ authKey: MSG91_KEY, baseUrl: msg91.url });

    const error = expectFailure(await provider.send(message()), false);

    expect(error).toBe('msg91: refused (HTTP 200): Template ID is invalid');
  });

  it("reports a documented 4xx with MSG91's message and code, not retryable", async () => {
    const msg91 = await track(startMsg91StandIn({ authKey: MSG91_KEY }));
    msg91.failNext({ status: 400, code: '418', message: 'IP is not whitelisted' });
    const provider = new Msg91Provider({ authKey: MSG91_KEY, baseUrl: msg91.url });

    const error = expectFailure(await provider.send(message()), false);

    expect(error).toBe('msg91: HTTP 400: IP is not whitelisted (code 418)');
  });

  it('treats 429 and 5xx as retryable, and succeeds once MSG91 recovers', async () => {
    const msg91 = await track(startMsg91StandIn({ authKey: MSG91_KEY }));
    msg91.failNext('rate-limit');
    msg91.failNext('server-error');
    const provider = new Msg91Provider({ authKey: MSG91_KEY, baseUrl: msg91.url });

    expect(expectFailure(await provider.send(message()), true)).toBe(
      'msg91: HTTP 429: Too Many Requests',
    );
    expect(expectFailure(await provider.send(message()), true)).toBe(
      'msg91: HTTP 500: Internal Server Error',
    );
    expectSuccess(await provider.send(message()));
    expect(msg91.received).toHaveLength(3);
  });

  it('refuses a message without an MSG91 template id before calling MSG91', async () => {
    const msg91 = await track(startMsg91StandIn({ authKey: MSG91_KEY }));
    const provider = new Msg91Provider({ authKey: MSG91_KEY, baseUrl: msg91.url });

    const error = expectFailure(
      await provider.send(message({ providerTemplateId: undefined })),
      false,
    );

    expect(error).toContain('template "earn.hi" has no MSG91 template id');
    expect(msg91.received).toEqual([]);
  });
});

describe('TwilioProvider', () => {
  it('sends To in E.164, From and the Hindi body intact, with Basic auth', async () => {
    const twilio = await track(
      startTwilioStandIn({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }),
    );
    const provider = new TwilioProvider({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      from: 'SHWRMS',
      baseUrl: twilio.url,
    });

    const sid = expectSuccess(await provider.send(message()));

    expect(sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(twilio.accepted).toEqual([{ sid, to: '+919812345678', from: 'SHWRMS', body: HINDI }]);
    expect(twilio.received[0]?.path).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
    expect(twilio.received[0]?.headers['content-type']).toMatch(
      /^application\/x-www-form-urlencoded/,
    );
  });

  it('sends MessagingServiceSid instead of From when configured, and keeps + & = and newlines', async () => {
    const twilio = await track(
      startTwilioStandIn({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }),
    );
    const serviceSid = `MG${'a'.repeat(32)}`;
    const provider = new TwilioProvider({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      messagingServiceSid: serviceSid,
      baseUrl: twilio.url,
    });

    expectSuccess(await provider.send(message({ text: TRICKY })));

    expect(twilio.accepted[0]).toMatchObject({ messagingServiceSid: serviceSid, body: TRICKY });
    expect(twilio.accepted[0]).not.toHaveProperty('from');
  });

  it('reports a wrong auth token as 401 code 20003, not retryable', async () => {
    const twilio = await track(
      startTwilioStandIn({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }),
    );
    const provider = new TwilioProvider({
      accountSid: ACCOUNT_SID,
      authToken: 'e'.repeat(32),
      from: '+15017122661',
      baseUrl: twilio.url,
    });

    const error = expectFailure(await provider.send(message()), false);

    expect(error).toBe('twilio: authentication failed, HTTP 401 code 20003: Authenticate');
  });

  it('reports 21211 (invalid To) and 21610 (unsubscribed) with their messages, not retryable', async () => {
    const twilio = await track(
      startTwilioStandIn({
        accountSid: ACCOUNT_SID,
        authToken: AUTH_TOKEN,
        optedOut: ['+919900000001'],
      }),
    );
    const provider = new TwilioProvider({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      from: '+15017122661',
      baseUrl: twilio.url,
    });

    expect(expectFailure(await provider.send(message({ to: '+911234567890' })), false)).toBe(
      "twilio: HTTP 400 code 21211: Invalid 'To' Phone Number: +911234567890",
    );
    expect(expectFailure(await provider.send(message({ to: '+919900000001' })), false)).toBe(
      'twilio: HTTP 400 code 21610: Attempt to send to unsubscribed recipient',
    );
    expect(twilio.accepted).toEqual([]);
  });

  it('treats 429 (20429) and 5xx as retryable', async () => {
    const twilio = await track(
      startTwilioStandIn({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }),
    );
    twilio.failNext('rate-limit');
    twilio.failNext({ status: 503, code: 20503, message: 'Service Unavailable' });
    const provider = new TwilioProvider({
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      from: '+15017122661',
      baseUrl: twilio.url,
    });

    expect(expectFailure(await provider.send(message()), true)).toBe(
      'twilio: HTTP 429 code 20429: Too Many Requests',
    );
    expect(expectFailure(await provider.send(message()), true)).toBe(
      'twilio: HTTP 503 code 20503: Service Unavailable',
    );
    expectSuccess(await provider.send(message()));
  });
});

describe('HttpProvider', () => {
  const sendhttpQuery =
    `authkey=${GATEWAY_KEY}&mobiles={{to91}}&message={{text}}&sender={{header}}` +
    '&route=4&DLT_TE_ID={{templateId}}&PE_ID={{entityId}}&unicode={{unicode}}';

  async function gateway() {
    return track(startIndianGatewayStandIn({ authKey: GATEWAY_KEY }));
  }

  function provider(url: string, options: Partial<HttpProviderOptions> = {}): HttpProvider {
    return new HttpProvider({
      url: `${url}${INDIAN_GATEWAY_PATH}`,
      method: 'GET',
      template: sendhttpQuery,
      label: 'sendhttp',
      ...options,
    });
  }

  it('sends a GET with every field in the query and takes the text answer as the id', async () => {
    const standIn = await gateway();

    const id = expectSuccess(await provider(standIn.url).send(message()));

    expect(standIn.accepted).toEqual([
      {
        requestId: id,
        via: 'query',
        mobile: '919812345678',
        message: HINDI,
        sender: 'SHWRMS',
        route: '4',
        dltTemplateId: '1107161234567890123',
        peId: '1101000000000000001',
        unicode: '1',
      },
    ]);
    expect(standIn.received[0]?.method).toBe('GET');
  });

  it('encodes & = " + newline and Hindi in a query string', async () => {
    const standIn = await gateway();

    expectSuccess(await provider(standIn.url).send(message({ text: TRICKY })));

    expect(standIn.accepted[0]?.message).toBe(TRICKY);
    expect(standIn.received[0]?.query.route).toBe('4');
  });

  it('encodes the same text in a form body', async () => {
    const standIn = await gateway();
    const form = provider(standIn.url, { method: 'POST', bodyType: 'form' });

    expectSuccess(await form.send(message({ text: TRICKY, to: '+917012345678' })));

    expect(standIn.accepted[0]).toMatchObject({
      via: 'form',
      message: TRICKY,
      mobile: '917012345678',
    });
    expect(standIn.received[0]?.query).toEqual({});
  });

  it('fills a JSON template by value, nested objects and arrays included', async () => {
    const standIn = await gateway();
    const jsonProvider = provider(standIn.url, {
      method: 'POST',
      bodyType: 'json',
      template: {
        authkey: GATEWAY_KEY,
        mobiles: '{{to10}}',
        message: '{{text}}',
        sender: '{{header}}',
        route: '4',
        DLT_TE_ID: '{{templateId}}',
        response: 'json',
        meta: { ref: 'outbox-{{outboxId}}', to: ['{{to}}'], flag: true },
      },
      successPattern: '"type"\\s*:\\s*"success"',
      messageIdPattern: '"message"\\s*:\\s*"([0-9a-f]{24})"',
    });

    const id = expectSuccess(await jsonProvider.send(message({ text: TRICKY })));

    expect(standIn.accepted[0]).toMatchObject({
      requestId: id,
      via: 'json',
      mobile: '9812345678',
      message: TRICKY,
    });
    expect(standIn.received[0]?.body).toMatchObject({
      meta: { ref: 'outbox-42', to: ['+919812345678'], flag: true },
    });
  });

  it('refuses, not retryable, a 2xx answer that fails successPattern', async () => {
    const standIn = await gateway();
    const checked = provider(standIn.url, { successPattern: '^[0-9a-f]{24}$' });

    // +1 555... has no Indian mobile range: the gateway answers 200 with an error body.
    const error = expectFailure(await checked.send(message({ to: '+15551234567' })), false);

    expect(error).toBe(
      'sendhttp: refused (HTTP 200, no success in answer): {"type":"error","message":"Invalid mobile number","code":"202"}',
    );
  });

  it('reports a wrong key (401) as not retryable without leaking the key', async () => {
    const standIn = await gateway();
    const wrong = provider(standIn.url, {
      template: sendhttpQuery.replace(GATEWAY_KEY, 'nope-Secret9'),
    });

    const error = expectFailure(await wrong.send(message()), false);

    expect(error).toBe(
      'sendhttp: HTTP 401: {"type":"error","message":"Invalid authentication key","code":"207"}',
    );
    expect(error).not.toContain('Secret');
  });

  it('treats 408, 429 and 5xx as retryable and other 4xx as refusals', async () => {
    const standIn = await gateway();
    standIn.failNext({ status: 408, message: 'Request Timeout' });
    standIn.failNext('rate-limit');
    standIn.failNext('server-error');
    standIn.failNext({ status: 400, message: 'Template not approved', code: 'DLT' });
    const sender = provider(standIn.url);

    expect(expectFailure(await sender.send(message()), true)).toContain('HTTP 408');
    expect(expectFailure(await sender.send(message()), true)).toBe(
      'sendhttp: HTTP 429: Too Many Requests',
    );
    expect(expectFailure(await sender.send(message()), true)).toBe(
      'sendhttp: HTTP 503: Service temporarily unavailable',
    );
    expect(expectFailure(await sender.send(message()), false)).toContain('Template not approved');
  });
});

describe('every HTTP provider, when the gateway misbehaves', () => {
  const TIMEOUT_MS = 300;
  const cases: Array<{
    name: string;
    start: () => Promise<StandIn<unknown>>;
    make: (url: string, timeoutMs: number) => SmsProvider;
  }> = [
    {
      name: 'msg91',
      start: () => startMsg91StandIn({ authKey: MSG91_KEY }),
      make: (url, timeoutMs) => new Msg91Provider({ authKey: MSG91_KEY, baseUrl: url, timeoutMs }),
    },
    {
      name: 'twilio',
      start: () => startTwilioStandIn({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }),
      make: (url, timeoutMs) =>
        new TwilioProvider({
          accountSid: ACCOUNT_SID,
          authToken: AUTH_TOKEN,
          from: '+15017122661',
          baseUrl: url,
          timeoutMs,
        }),
    },
    {
      name: 'http gateway',
      start: () => startIndianGatewayStandIn({ authKey: GATEWAY_KEY }),
      make: (url, timeoutMs) =>
        new HttpProvider({
          url: `${url}${INDIAN_GATEWAY_PATH}`,
          template: {
            authkey: GATEWAY_KEY,
            mobiles: '{{to91}}',
            message: '{{text}}',
            sender: '{{header}}',
            route: '4',
            DLT_TE_ID: '{{templateId}}',
          },
          timeoutMs,
        }),
    },
  ];

  for (const { name, start, make } of cases) {
    it(`${name}: a gateway that never answers is a retryable timeout, within about the timeout`, async () => {
      const standIn = await track(start());
      standIn.failNext('hang');
      const provider = make(standIn.url, TIMEOUT_MS);

      const startedAt = performance.now();
      const result = await provider.send(message());
      const elapsedMs = performance.now() - startedAt;
      const error = expectFailure(result, true);
      // The gateway may have sent it before going silent: the worker must not send it again.
      expect(result).toMatchObject({ maybeSent: true });

      expect(error).toBe(`${name}: no answer within ${TIMEOUT_MS} ms (timed out)`);
      expect(elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
      expect(elapsedMs).toBeLessThan(TIMEOUT_MS + 700);
      expectSuccess(await provider.send(message()));
    });

    it(`${name}: a dropped connection is retryable`, async () => {
      const standIn = await track(start());
      standIn.failNext('drop');
      const provider = make(standIn.url, 5_000);

      const result = await provider.send(message());
      const error = expectFailure(result, true);

      expect(error).toMatch(new RegExp(`^${name}: request failed: `));
      expect(result).toMatchObject({ maybeSent: true });
      expect(standIn.received).toHaveLength(1);
      expectSuccess(await provider.send(message()));
    });

    it(`${name}: a refused connection is retryable`, async () => {
      const standIn = await start();
      await standIn.close();
      const provider = make(standIn.url, 5_000);

      const result = await provider.send(message());
      const error = expectFailure(result, true);

      expect(error).toContain('ECONNREFUSED');
      // Never connected, so nothing can have been sent: safe to try again.
      expect(result).not.toHaveProperty('maybeSent');
    });
  }
});

describe('DevProvider', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sms-dev-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('appends one JSON line per message that readDevMessages reads back, creating the folder', async () => {
    const file = path.join(dir, 'nested', 'data', 'sms-outbox.log');
    const logged: DevMessage[] = [];
    const provider = new DevProvider({ file, log: (line) => logged.push(line) });

    expect(await provider.send(message())).toEqual({ ok: true, providerMessageId: 'dev-42' });
    expect(await provider.send(message({ outboxId: 43, kind: 'otp', text: TRICKY }))).toEqual({
      ok: true,
      providerMessageId: 'dev-43',
    });

    const messages = readDevMessages(file);
    expect(messages.map(({ at: _at, ...rest }) => rest)).toEqual([
      {
        outboxId: 42,
        kind: 'earn',
        to: '+919812345678',
        text: HINDI,
        unicode: true,
        templateName: 'earn.hi',
        dlt: message().dlt,
        variables: ['राम', '120'],
      },
      expect.objectContaining({ outboxId: 43, kind: 'otp', text: TRICKY }),
    ]);
    expect(Number.isNaN(Date.parse(messages[0]?.at ?? ''))).toBe(false);
    expect(fs.readFileSync(file, 'utf8').split('\n')).toHaveLength(3);
    expect(logged.map((line) => line.outboxId)).toEqual([42, 43]);
  });

  it('logs through a pino-like logger with a domain:verb event', async () => {
    const calls: Array<{ object: object; text: string | undefined }> = [];
    const provider = new DevProvider({
      file: path.join(dir, 'sms-outbox.log'),
      log: { info: (object, text) => calls.push({ object, text }) },
    });

    await provider.send(message({ kind: 'otp', text: 'Your OTP is 482913' }));

    expect(calls).toEqual([
      {
        object: expect.objectContaining({ event: 'sms:dev-sent', outboxId: 42, kind: 'otp' }),
        text: 'sms to +919812345678: Your OTP is 482913',
      },
    ]);
  });

  it('reads nothing from a file not written yet, and names a corrupt line', () => {
    const file = path.join(dir, 'sms-outbox.log');
    expect(readDevMessages(file)).toEqual([]);
    fs.writeFileSync(file, '{"half": \n');
    expect(() => readDevMessages(file)).toThrow(`${file}:1 is not a JSON line`);
  });

  it('keeps every line whole when several processes append at once', async () => {
    const file = path.join(dir, 'sms-outbox.log');
    const longText = `${HINDI} `.repeat(120);
    const perWriter = 150;
    const devUrl = pathToFileURL(path.join(import.meta.dirname, 'providers', 'dev.ts')).href;
    const script = `
      const { DevProvider } = await import(${JSON.stringify(devUrl)});
      const [file, base, count, text] = process.argv.slice(1);
      const provider = new DevProvider({ file });
      for (let i = 0; i < Number(count); i++) {
        await provider.send({ outboxId: Number(base) + i, kind: 'earn', to: '+919812345678', text,
          unicode: true, variables: [], templateName: 'earn.hi',
          dlt: { entityId: '1', templateId: '2', header: 'SHWRMS' } });
      }`;
    const run = promisify(execFile);
    const writers = [1, 2, 3, 4].map((writer) =>
      run(process.execPath, [
        '--input-type=module',
        '--no-warnings',
        '-e',
        script,
        file,
        String(writer * 10_000),
        String(perWriter),
        longText,
      ]),
    );
    const inProcess = new DevProvider({ file });
    const local = Array.from({ length: perWriter }, (_, i) =>
      inProcess.send(message({ outboxId: i, text: longText })),
    );
    await Promise.all([...writers, ...local]);

    const messages = readDevMessages(file);
    expect(messages).toHaveLength(perWriter * 5);
    expect(new Set(messages.map((m) => m.outboxId)).size).toBe(perWriter * 5);
    expect(messages.every((m) => m.text === longText)).toBe(true);
  });

  it('reports a file it cannot write as a retryable failure', async () => {
    const provider = new DevProvider({ file: dir });

    const error = expectFailure(await provider.send(message()), true);

    expect(error).toMatch(/^dev: cannot append to /);
  });
});

describe('SmsProviderConfig and createProvider', () => {
  it('builds the dev provider in DATA_DIR by default', () => {
    const provider = createProvider({ provider: 'dev' }, { dataDir: '/var/lib/loyalty' });
    if (!(provider instanceof DevProvider)) throw new Error(`expected dev, got ${provider.name}`);
    expect(provider.file).toBe('/var/lib/loyalty/sms-outbox.log');
  });

  it('fills in the real gateway hosts and the 10 s timeout', () => {
    expect(parseSmsProviderConfig({ provider: 'msg91', authKey: 'k' })).toEqual({
      provider: 'msg91',
      authKey: 'k',
      baseUrl: 'https://control.msg91.com',
      timeoutMs: 10_000,
      shortUrl: false,
      variableNames: {},
    });
    expect(
      parseSmsProviderConfig({
        provider: 'twilio',
        accountSid: ACCOUNT_SID,
        authToken: AUTH_TOKEN,
        from: '+15017122661',
        timeoutMs: '2500',
      }),
    ).toMatchObject({ baseUrl: 'https://api.twilio.com', timeoutMs: 2500 });
    expect(
      createProvider(
        { provider: 'http', url: 'https://sms.example.in/send', template: 'to={{to}}' },
        { dataDir: '.' },
      ),
    ).toBeInstanceOf(HttpProvider);
  });

  it.each([
    [{ provider: 'sms-magic' }, 'sms.provider: provider must be one of dev, msg91, twilio, http'],
    [{ provider: 'msg91' }, 'sms.authKey: authKey is required'],
    [{ provider: 'msg91', authkey: 'k', authKey: 'k' }, 'authkey'],
    [
      { provider: 'twilio', accountSid: 'AC1', authToken: 't', from: '+15017122661' },
      'sms.accountSid: accountSid must be "AC" and 32 hex digits',
    ],
    [
      {
        provider: 'twilio',
        accountSid: ACCOUNT_SID,
        authToken: 't',
        from: '+15017122661',
        messagingServiceSid: `MG${'a'.repeat(32)}`,
      },
      'sms.from: set exactly one of from and messagingServiceSid',
    ],
    [
      { provider: 'http', url: 'https://x.in/send', template: 'msg={{message}}' },
      'sms.template: template.msg uses unknown placeholder {{message}}',
    ],
    [
      { provider: 'http', url: 'https://x.in/send', method: 'GET', bodyType: 'json', template: {} },
      'sms.bodyType: a GET request has no body',
    ],
    [
      { provider: 'http', url: 'https://x.in/send', bodyType: 'json', template: '{"a": ' },
      'sms.template: template is not valid JSON',
    ],
    [
      { provider: 'http', url: 'https://x.in/send', template: 'a=1', messageIdPattern: '\\d+' },
      'sms.messageIdPattern: "\\d+" has no capture group',
    ],
    [
      { provider: 'http', url: 'ftp://x.in/send', template: 'a=1' },
      'sms.url: url must be an http:// or https:// URL',
    ],
  ])('refuses %j with a clear message', (raw, expected) => {
    expect(() => parseSmsProviderConfig(raw)).toThrow(SmsConfigError);
    expect(() => parseSmsProviderConfig(raw)).toThrow(expected);
  });

  it('never puts a secret in its error messages', () => {
    const raw = { provider: 'twilio', accountSid: 'AC-not-valid', authToken: 'TopSecretToken' };
    expect(() => parseSmsProviderConfig(raw)).toThrow(SmsConfigError);
    expect(() => parseSmsProviderConfig(raw)).not.toThrow(/TopSecretToken/);
  });
});

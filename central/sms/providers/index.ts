import path from 'node:path';
import { z } from 'zod';
import type { SmsProvider } from '../provider.ts';
import { DevProvider, type DevLog } from './dev.ts';
import { DEFAULT_TIMEOUT_MS } from './gateway-http.ts';
import { HttpProvider, compileHttpTemplate, compilePattern, defaultBodyType } from './http.ts';
import { MSG91_BASE_URL, Msg91Provider } from './msg91.ts';
import { TWILIO_BASE_URL, TwilioProvider } from './twilio.ts';

export { DevProvider, readDevMessages, type DevLog, type DevMessage } from './dev.ts';
export { HttpProvider, HTTP_PLACEHOLDERS, type HttpProviderOptions } from './http.ts';
export { Msg91Provider, type Msg91Options } from './msg91.ts';
export { TwilioProvider, type TwilioOptions } from './twilio.ts';

/** The dev provider's file name inside DATA_DIR when its config names none. */
export const DEV_OUTBOX_FILE = 'sms-outbox.log';

const timeoutMs = z.coerce
  .number()
  .int()
  .min(100, { error: 'timeoutMs must be at least 100' })
  .max(120_000, { error: 'timeoutMs must be at most 120000 (two minutes)' })
  .default(DEFAULT_TIMEOUT_MS);

const httpUrl = (what: string) =>
  z.url({ protocol: /^https?$/, error: `${what} must be an http:// or https:// URL` });

// Env variables arrive as text; a JSON config file gives real booleans.
const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], {
  error: 'must be true or false',
});

const secret = (name: string, what: string) =>
  z.string({ error: `${name} is required: ${what}` }).min(1, { error: `${name} is empty` });

const devConfig = z.strictObject({
  provider: z.literal('dev'),
  /** Relative paths are inside DATA_DIR; default sms-outbox.log. */
  file: z.string().min(1).optional(),
});

const msg91Config = z.strictObject({
  provider: z.literal('msg91'),
  authKey: secret('authKey', 'the MSG91 authkey (MSG91 panel > Authkey)'),
  baseUrl: httpUrl('baseUrl').default(MSG91_BASE_URL),
  timeoutMs,
  shortUrl: flag.default(false),
  variableNames: z
    .record(z.string(), z.array(z.string().min(1)), {
      error:
        'variableNames maps a template name to its MSG91 variable names, e.g. {"otp": ["otp"]}',
    })
    .default({}),
});

const twilioConfig = z
  .strictObject({
    provider: z.literal('twilio'),
    accountSid: z
      .string({ error: 'accountSid is required: "AC" and 32 hex digits, from the Twilio console' })
      .regex(/^AC[0-9a-fA-F]{32}$/, {
        error: 'accountSid must be "AC" and 32 hex digits, from the Twilio console',
      }),
    authToken: secret('authToken', 'the Twilio auth token for accountSid'),
    from: z
      .string()
      .regex(/^(\+[1-9]\d{7,14}|[A-Za-z0-9 ]{1,11})$/, {
        error: 'from must be a Twilio number in E.164 (+15017122661) or an alphanumeric sender id',
      })
      .optional(),
    messagingServiceSid: z
      .string()
      .regex(/^MG[0-9a-fA-F]{32}$/, { error: 'messagingServiceSid must be "MG" and 32 hex digits' })
      .optional(),
    baseUrl: httpUrl('baseUrl').default(TWILIO_BASE_URL),
    timeoutMs,
  })
  .superRefine((config, context) => {
    if ((config.from === undefined) === (config.messagingServiceSid === undefined)) {
      context.addIssue({
        code: 'custom',
        path: ['from'],
        message: 'set exactly one of from and messagingServiceSid',
      });
    }
  });

const httpConfig = z
  .strictObject({
    provider: z.literal('http'),
    label: z.string().min(1).max(40).default('http gateway'),
    url: httpUrl('url'),
    method: z.enum(['GET', 'POST'], { error: 'method must be GET or POST' }).default('POST'),
    headers: z.record(z.string(), z.string()).default({}),
    bodyType: z
      .enum(['form', 'json', 'none'], { error: 'bodyType must be form, json or none' })
      .optional(),
    template: z.union([z.string(), z.record(z.string(), z.unknown())], {
      error: 'template is required: a query/form string, an object, or JSON text',
    }),
    successPattern: z.string().min(1).optional(),
    messageIdPattern: z.string().min(1).optional(),
    timeoutMs,
  })
  .superRefine((config, context) => {
    const bodyType = config.bodyType ?? defaultBodyType(config.method);
    if (config.method === 'GET' && bodyType !== 'none') {
      context.addIssue({
        code: 'custom',
        path: ['bodyType'],
        message: 'a GET request has no body: use bodyType "none" (the template becomes the query)',
      });
      return;
    }
    if (/\{\{.*\}\}/.test(config.url)) {
      context.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'placeholders are not replaced in url: move them into template',
      });
    }
    tryOrReport(context, ['template'], () => compileHttpTemplate(bodyType, config.template));
    if (config.successPattern !== undefined) {
      const pattern = config.successPattern;
      tryOrReport(context, ['successPattern'], () => compilePattern(pattern, false));
    }
    if (config.messageIdPattern !== undefined) {
      const pattern = config.messageIdPattern;
      tryOrReport(context, ['messageIdPattern'], () => compilePattern(pattern, true));
    }
  });

function tryOrReport(context: z.RefinementCtx, at: string[], check: () => unknown): void {
  try {
    check();
  } catch (error) {
    context.addIssue({
      code: 'custom',
      path: at,
      message: error instanceof Error ? error.message : String(error),
    });
  }
}

/** Which SMS gateway central uses and its settings; secrets stay plain strings. */
export const SmsProviderConfig = z.discriminatedUnion(
  'provider',
  [devConfig, msg91Config, twilioConfig, httpConfig],
  { error: 'provider must be one of dev, msg91, twilio, http' },
);

/** A validated SMS provider configuration, defaults filled in. */
export type SmsProviderConfig = z.output<typeof SmsProviderConfig>;

/** An SMS provider configuration as written in a config file, before defaults. */
export type SmsProviderConfigInput = z.input<typeof SmsProviderConfig>;

/** Thrown for an SMS configuration that cannot work; the message lists every problem. */
export class SmsConfigError extends Error {}

/** Validates a raw configuration (from a JSON file or env) and fills in defaults. */
export function parseSmsProviderConfig(raw: unknown): SmsProviderConfig {
  const parsed = SmsProviderConfig.safeParse(raw);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const at = issue.path.map(String).join('.');
    return `  sms${at ? `.${at}` : ''}: ${issue.message}`;
  });
  throw new SmsConfigError(`the SMS provider configuration is invalid:\n${lines.join('\n')}`);
}

/** What a provider may need from central. */
export interface ProviderDeps {
  /** Central's DATA_DIR: the dev provider's file lives there. */
  dataDir: string;
  /** Where the dev provider reports each message. */
  log?: DevLog;
}

/** Builds the configured provider; throws SmsConfigError when the configuration is invalid. */
export function createProvider(config: SmsProviderConfigInput, deps: ProviderDeps): SmsProvider {
  const valid = parseSmsProviderConfig(config);
  switch (valid.provider) {
    case 'dev':
      return new DevProvider({
        file: path.resolve(deps.dataDir, valid.file ?? DEV_OUTBOX_FILE),
        ...(deps.log ? { log: deps.log } : {}),
      });
    case 'msg91':
      return new Msg91Provider(valid);
    case 'twilio':
      return new TwilioProvider(valid);
    case 'http':
      return new HttpProvider(valid);
  }
}

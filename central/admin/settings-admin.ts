import { DEFAULT_SETTINGS } from '../../shared/points/redeem.ts';
import { maskMobile } from '../../shared/mobile.ts';
import {
  SECRET_MASK,
  type ProgramSettingsPatch,
  type ProgramSettingsView,
  type SmsSettingsUpdate,
  type SmsSettingsView,
  type SmsTemplateUpdate,
  type SmsTestResult,
} from '../../shared/protocol/admin.ts';
import { recordAudit } from '../audit/audit-log.ts';
import type { Db } from '../db/connect.ts';
import {
  loadProgramSettings,
  loadSettingRow,
  loadSettingText,
  saveProgramSettings,
  saveSettingRow,
} from '../db/settings-store.ts';
import { AppError } from '../errors.ts';
import {
  parseSmsConfig,
  SMS_SETTINGS_KEY,
  SmsConfig,
  templateName,
  type SmsRuntime,
} from '../sms/config.ts';
import type { SmsProviderConfig } from '../sms/providers/index.ts';
import {
  DLT_VAR,
  KIND_VARIABLES,
  MAX_SEGMENTS,
  measure,
  MESSAGE_KINDS,
  OPTIONAL_MESSAGE_KINDS,
  render,
  type MessageKind,
  type SmsTemplate,
} from '../sms/templates.ts';
import type { AdminContext } from './staff-admin.ts';

// ---------------------------------------------------------------- program settings

/** The program settings in force, the defaults, and who saved them last. */
export async function programSettingsView(db: Db): Promise<ProgramSettingsView> {
  const row = await loadSettingRow(db.knex, 'program');
  return {
    settings: await loadProgramSettings(db.knex),
    defaults: DEFAULT_SETTINGS,
    updatedAt: row?.updatedAt ?? null,
    updatedBy: row?.updatedBy ?? null,
  };
}

/**
 * Saves a partial change of the program settings with an audit row of the fields that moved
 * (before and after). An invalid result is refused naming each field, and nothing is saved.
 */
export async function updateProgramSettings(
  ctx: AdminContext,
  patch: ProgramSettingsPatch,
): Promise<void> {
  const { db } = ctx;
  await db.knex.transaction(async (trx) => {
    const before = await loadProgramSettings(trx);
    const after = await saveProgramSettings(trx, patch, {
      staffId: ctx.actor.staffId,
      now: ctx.now,
    });
    const diff = changedKeys(before, after);
    if (diff.length === 0) return;
    await recordAudit(
      db,
      trx,
      ctx.actor,
      {
        action: 'settings.update',
        targetType: 'settings',
        targetId: 'program',
        before: only(before, diff),
        after: only(after, diff),
      },
      ctx.now,
    );
  });
}

function changedKeys<T extends object>(before: T, after: T): (keyof T)[] {
  return (Object.keys({ ...before, ...after }) as (keyof T)[]).filter(
    (key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]),
  );
}

function only<T extends object>(value: T, keys: (keyof T)[]): Partial<T> {
  return Object.fromEntries(keys.map((k) => [k, value[k]])) as Partial<T>;
}

// ---------------------------------------------------------------- SMS

const ALL_KINDS: readonly MessageKind[] = [...MESSAGE_KINDS, ...OPTIONAL_MESSAGE_KINDS];

/** The kind of message a name is, or undefined for a name that is none. */
export function messageKindOf(name: string): MessageKind | undefined {
  return ALL_KINDS.find((k) => k === name);
}

/** Fields of each gateway's settings that are secrets: shown masked, never audited in clear. */
const SECRET_FIELDS: Record<string, readonly string[]> = {
  msg91: ['authKey'],
  twilio: ['authToken'],
};

/** '••••' and the last 4 characters of a long secret (enough to tell two keys apart). */
export function maskSecret(secret: string): string {
  return secret.length >= 12 ? `${SECRET_MASK}${secret.slice(-4)}` : SECRET_MASK;
}

const isMasked = (value: unknown): boolean =>
  typeof value === 'string' && value.startsWith(SECRET_MASK);

/** A gateway's settings with its secrets masked (and the http gateway's header values). */
export function maskProvider(config: SmsProviderConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const field of SECRET_FIELDS[config.provider] ?? []) {
    const value = out[field];
    if (typeof value === 'string') out[field] = maskSecret(value);
  }
  if (config.provider === 'http') {
    // Headers carry the API key of most generic gateways (Authorization, X-Api-Key...).
    out.headers = Object.fromEntries(
      Object.entries(config.headers).map(([name, value]) => [name, maskSecret(value)]),
    );
  }
  return out;
}

/**
 * The gateway settings to save: what was sent, with each secret left out or sent masked
 * replaced by the saved one (same gateway only). A masked value that has nothing to keep is
 * named as a problem.
 */
function unmaskProvider(
  sent: Record<string, unknown>,
  saved: SmsProviderConfig,
): { provider: Record<string, unknown>; problems: { pointer: string; message: string }[] } {
  const out: Record<string, unknown> = { ...sent };
  const problems: { pointer: string; message: string }[] = [];
  const same = sent.provider === saved.provider;
  const savedFields = saved as unknown as Record<string, unknown>;
  for (const field of SECRET_FIELDS[String(sent.provider)] ?? []) {
    if (out[field] === undefined || isMasked(out[field])) {
      if (same && typeof savedFields[field] === 'string') out[field] = savedFields[field];
      else if (isMasked(out[field])) {
        problems.push({
          pointer: `/provider/${field}`,
          message: `send the ${field} itself: there is no saved one to keep`,
        });
      }
    }
  }
  if (sent.provider === 'http') {
    const savedHeaders = saved.provider === 'http' ? saved.headers : {};
    if (out.headers === undefined && same) out.headers = savedHeaders;
    else if (out.headers !== null && typeof out.headers === 'object') {
      const headers: Record<string, unknown> = { ...(out.headers as Record<string, unknown>) };
      for (const [name, value] of Object.entries(headers)) {
        if (!isMasked(value)) continue;
        const kept = savedHeaders[name];
        if (same && kept !== undefined) headers[name] = kept;
        else {
          problems.push({
            pointer: `/provider/headers/${name}`,
            message: 'send the header value itself: there is no saved one to keep',
          });
        }
      }
      out.headers = headers;
    }
  }
  return { provider: out, problems };
}

/** The SMS configuration as the console shows it: secrets masked, where it comes from. */
export async function smsSettingsView(db: Db, runtime: SmsRuntime): Promise<SmsSettingsView> {
  const config = runtime.config;
  const row =
    runtime.source === 'file' ? undefined : await loadSettingRow(db.knex, SMS_SETTINGS_KEY);
  return {
    source: runtime.source,
    editable: runtime.source !== 'file',
    readOnlyReason:
      runtime.source === 'file'
        ? 'SMS_CONFIG_FILE is set: central reads the SMS configuration from that file at start. Edit the file and restart, or remove SMS_CONFIG_FILE to manage SMS here.'
        : null,
    provider: maskProvider(config.provider) as SmsSettingsView['provider'],
    dlt: config.dlt,
    language: config.language,
    templates: config.templates,
    worker: config.worker,
    kinds: ALL_KINDS.map((kind) => ({
      kind,
      variables: [...KIND_VARIABLES[kind]],
      required: (MESSAGE_KINDS as readonly string[]).includes(kind),
    })),
    updatedAt: row?.updatedAt ?? null,
    updatedBy: row?.updatedBy ?? null,
  };
}

/** Problems of one template against the DLT rules and the variables its kind can fill. */
export function templateProblems(
  name: string,
  template: SmsTemplateUpdate | SmsTemplate,
): { pointer: string; message: string }[] {
  const at = `/templates/${name}`;
  const [base = '', language] = name.split('.');
  const kind = messageKindOf(base);
  if (!kind) {
    return [
      { pointer: at, message: `no kind of message is called ${base}: ${ALL_KINDS.join(', ')}` },
    ];
  }
  if (language !== undefined && language !== 'hi') {
    return [{ pointer: at, message: 'a template in another language is named <kind>.hi' }];
  }
  const problems: { pointer: string; message: string }[] = [];
  const allowed = KIND_VARIABLES[kind];
  template.variables.forEach((v, i) => {
    if (!allowed.includes(v)) {
      problems.push({
        pointer: `${at}/variables/${i}`,
        message: `${kind} messages fill ${allowed.join(', ')}; not ${v}`,
      });
    }
  });
  const slots = template.text.split(DLT_VAR).length - 1;
  if (slots !== template.variables.length) {
    problems.push({
      pointer: `${at}/text`,
      message: `the text has ${slots} ${DLT_VAR} and variables names ${template.variables.length}: one name for each ${DLT_VAR}, in order`,
    });
  }
  const fixed = measure(template.text.split(DLT_VAR).join(''));
  if (fixed.segments > MAX_SEGMENTS) {
    problems.push({
      pointer: `${at}/text`,
      message: `the fixed text alone needs ${fixed.segments} SMS parts; at most ${MAX_SEGMENTS}`,
    });
  }
  return problems;
}

/** The saved document (or the defaults), inside the caller's transaction. */
async function savedSmsConfig(q: Parameters<typeof loadSettingText>[0]): Promise<SmsConfig> {
  const text = await loadSettingText(q, SMS_SETTINGS_KEY);
  if (text === undefined) return SmsConfig.parse({});
  const parsed = parseSmsConfig(JSON.parse(text));
  // A saved document that no longer parses is replaced by a valid one built over the defaults.
  return parsed.ok ? parsed.config : SmsConfig.parse({});
}

function maskedDocument(config: SmsConfig): Record<string, unknown> {
  return { ...config, provider: maskProvider(config.provider) };
}

/**
 * Saves a change of the SMS configuration from the console, checked as a whole, with an audit
 * row of the groups that moved (secrets masked); this process uses it for the next message and
 * every other one within seconds (SmsRuntime). Refused when SMS_CONFIG_FILE is the source.
 */
export async function updateSmsSettings(
  ctx: AdminContext,
  runtime: SmsRuntime,
  update: SmsSettingsUpdate,
): Promise<void> {
  if (runtime.source === 'file') {
    throw new AppError(
      'sms-config-read-only',
      'SMS_CONFIG_FILE is set, so central takes its SMS configuration from that file: edit the file and restart central, or remove SMS_CONFIG_FILE to manage SMS in the console.',
    );
  }
  const { db } = ctx;
  await db.knex.transaction(async (trx) => {
    const saved = await savedSmsConfig(trx);
    const problems: { pointer: string; message: string }[] = [];
    let provider: Record<string, unknown> = saved.provider;
    if (update.provider) {
      const unmasked = unmaskProvider(update.provider, saved.provider);
      provider = unmasked.provider;
      problems.push(...unmasked.problems);
    }
    const templates: Record<string, SmsTemplate> = { ...saved.templates };
    for (const [name, template] of Object.entries(update.templates ?? {})) {
      if (template === null) {
        Reflect.deleteProperty(templates, name);
        continue;
      }
      problems.push(...templateProblems(name, template));
      templates[name] = template;
    }
    if (problems.length > 0) refuse(problems);
    const merged = {
      provider,
      dlt: update.dlt ?? saved.dlt,
      language: update.language ?? saved.language,
      templates,
      worker: { ...saved.worker, ...update.worker },
    };
    const parsed = parseSmsConfig(merged);
    if (!parsed.ok) {
      refuse(parsed.issues.map((i) => ({ pointer: `/${i.path}`, message: i.message })));
    }
    const next = parsed.config;
    await saveSettingRow(trx, SMS_SETTINGS_KEY, next, {
      staffId: ctx.actor.staffId,
      now: ctx.now,
    });
    const before = maskedDocument(saved);
    const after = maskedDocument(next);
    const diff = changedKeys(before, after);
    await recordAudit(
      db,
      trx,
      ctx.actor,
      {
        action: 'sms.update',
        targetType: 'settings',
        targetId: SMS_SETTINGS_KEY,
        before: only(before, diff),
        after: only(after, diff),
      },
      ctx.now,
    );
  });
  await runtime.refresh();
}

function refuse(problems: { pointer: string; message: string }[]): never {
  throw new AppError(
    'validation',
    `This SMS configuration is not valid: ${problems.map((p) => `${p.pointer}: ${p.message}`).join('; ')}`,
    problems,
  );
}

/** Values for a test message: plainly a test, within DLT's 30 characters each. */
const SAMPLE_VALUES: Record<string, string> = {
  otp: '123456',
  points: '100',
  rupees: '100',
  bill: 'TEST-1',
  showroom: 'Test',
  minutes: '5',
  name: 'Test',
  balance: '100',
  bonus: '',
};

/**
 * Sends one message of a kind with sample values straight through the provider in use (not
 * through the outbox), and says what the gateway answered. Audited, with the mobile masked.
 */
export async function sendTestSms(
  ctx: AdminContext,
  runtime: SmsRuntime,
  chainName: string,
  to: string,
  kind: MessageKind,
): Promise<SmsTestResult> {
  const { config, provider } = runtime;
  const name = templateName(config, kind);
  const template = config.templates[name];
  if (!template) throw new AppError('validation', `There is no template named ${name}.`);
  const rendered = render(template, { ...SAMPLE_VALUES, chain: chainName });
  if (!rendered.ok) {
    throw new AppError('validation', `The ${name} template cannot be filled: ${rendered.reason}.`);
  }
  let result: Awaited<ReturnType<typeof provider.send>>;
  try {
    result = await provider.send({
      // 0: no outbox row; a gateway's logs show it as a test.
      outboxId: 0,
      kind,
      to,
      text: rendered.text,
      unicode: rendered.unicode,
      variables: rendered.variables,
      templateName: name,
      ...(template.providerTemplateId ? { providerTemplateId: template.providerTemplateId } : {}),
      dlt: { ...config.dlt, templateId: template.dltTemplateId },
    });
  } catch (error) {
    result = { ok: false, retryable: false, error: `provider threw: ${(error as Error).message}` };
  }
  const answer: SmsTestResult = {
    ok: result.ok,
    provider: provider.name,
    to,
    text: rendered.text,
    providerMessageId: result.ok ? result.providerMessageId : null,
    error: result.ok ? null : result.error,
  };
  await ctx.db.knex.transaction((trx) =>
    recordAudit(
      ctx.db,
      trx,
      ctx.actor,
      {
        action: 'sms.test',
        targetType: 'settings',
        targetId: SMS_SETTINGS_KEY,
        after: {
          to: maskMobile(to),
          template: name,
          provider: provider.name,
          ok: answer.ok,
          error: answer.error,
        },
      },
      ctx.now,
    ),
  );
  return answer;
}

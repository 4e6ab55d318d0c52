import fs from 'node:fs';
import { z } from 'zod';
import type { Db } from '../db/connect.ts';
import { loadSettingText } from '../db/settings-store.ts';
import type { Logger } from '../log.ts';
import type { SmsProvider } from './provider.ts';
import { createProvider, SmsProviderConfig, type ProviderDeps } from './providers/index.ts';
import { DEFAULT_TEMPLATES, MESSAGE_KINDS, SmsTemplate } from './templates.ts';

/** SMS settings of a deployment: gateway, DLT registration, templates and the worker's pace. */
export const SmsConfig = z
  .object({
    provider: SmsProviderConfig.default({ provider: 'dev' }),
    dlt: z
      .object({
        /** The chain's principal entity id on the DLT platform: 19 digits. */
        entityId: z.string().regex(/^\d{19}$/, 'a DLT entity id is 19 digits'),
        /** The registered header (sender id): six letters. */
        header: z.string().regex(/^[A-Z]{6}$/, 'a DLT header is six capital letters'),
      })
      .default({ entityId: '1101000000000000001', header: 'SHWRMS' }),
    /** Language of members' messages: 'en', or 'hi' for the templates named <kind>.hi. */
    language: z.enum(['en', 'hi']).default('en'),
    templates: z.record(z.string(), SmsTemplate).default(DEFAULT_TEMPLATES),
    worker: z
      .object({
        concurrency: z.int().min(1).max(64).default(4),
        pollMs: z.int().min(50).max(60_000).default(1_000),
        retryBaseSeconds: z.int().min(1).max(3600).default(5),
        retryMaxSeconds: z.int().min(1).max(86_400).default(600),
        maxAttempts: z.int().min(1).max(50).default(8),
        /** A send taken longer ago than this by a process that is gone is 'unknown'. */
        leaseSeconds: z.int().min(5).max(3600).default(60),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    // A send still waiting for its gateway must not look abandoned to the sweep (which would
    // mark a delivered message 'unknown'): the lease is at least twice the gateway timeout.
    const timeoutMs = 'timeoutMs' in config.provider ? config.provider.timeoutMs : 0;
    if (timeoutMs * 2 > config.worker.leaseSeconds * 1000) {
      ctx.addIssue({
        code: 'custom',
        path: ['worker', 'leaseSeconds'],
        message: `must be at least twice the provider's timeoutMs (${timeoutMs} ms): ${Math.ceil((timeoutMs * 2) / 1000)} or more`,
      });
    }
    for (const kind of MESSAGE_KINDS) {
      if (!config.templates[kind]) {
        ctx.addIssue({
          code: 'custom',
          path: ['templates', kind],
          message: `a template for ${kind} messages is required`,
        });
      }
    }
  });
export type SmsConfig = z.infer<typeof SmsConfig>;

/** Reads the SMS configuration file (JSON) when one is given; else the development defaults. */
export function loadSmsConfig(file: string | undefined): SmsConfig {
  if (!file) return SmsConfig.parse({});
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`SMS_CONFIG_FILE ${file} cannot be read as JSON: ${(error as Error).message}`);
  }
  const parsed = SmsConfig.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new Error(`SMS_CONFIG_FILE ${file} is not valid:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** The template for a kind of message in the configured language, falling back to English. */
export function templateName(config: SmsConfig, kind: string): string {
  const localised = `${kind}.${config.language}`;
  return config.language !== 'en' && config.templates[localised] ? localised : kind;
}

/** `settings` key of the SMS configuration saved from the console. */
export const SMS_SETTINGS_KEY = 'sms';

/** Where the configuration in use came from (SMS_CONFIG_FILE wins over the database). */
export type SmsConfigSource = 'file' | 'database' | 'default';

/** Parses a saved or sent configuration; the problems named by path, or the valid config. */
export function parseSmsConfig(
  raw: unknown,
): { ok: true; config: SmsConfig } | { ok: false; issues: { path: string; message: string }[] } {
  const parsed = SmsConfig.safeParse(raw);
  if (parsed.success) return { ok: true, config: parsed.data };
  return {
    ok: false,
    issues: parsed.error.issues.map((i) => ({
      path: i.path.map(String).join('/'),
      message: i.message,
    })),
  };
}

export interface SmsRuntimeOptions {
  db: Db;
  /** SMS_CONFIG_FILE: when set, it is the configuration and the database's is ignored. */
  file: string | undefined;
  providerDeps: ProviderDeps;
  log: Logger;
  /** How often a process looks for a configuration another process saved. */
  refreshMs?: number;
}

/**
 * The SMS configuration and provider a process uses now. Everything that sends or composes
 * asks it on each message, so a configuration saved from the console (settings key 'sms')
 * applies to the next message: at once in the process that saved it, and within `refreshMs`
 * in every other process, which polls the row's text.
 */
export class SmsRuntime {
  private readonly fromFile: boolean;
  private current: { config: SmsConfig; provider: SmsProvider; text: string | undefined };
  private readonly options: SmsRuntimeOptions;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<boolean> | undefined;

  private constructor(
    options: SmsRuntimeOptions,
    fromFile: boolean,
    config: SmsConfig,
    text: string | undefined,
  ) {
    this.options = options;
    this.fromFile = fromFile;
    this.current = {
      config,
      provider: createProvider(config.provider, options.providerDeps),
      text,
    };
  }

  /** Loads the file's configuration, else the saved one, else the defaults. */
  static async open(options: SmsRuntimeOptions): Promise<SmsRuntime> {
    if (options.file) return new SmsRuntime(options, true, loadSmsConfig(options.file), undefined);
    const text = await loadSettingText(options.db.knex, SMS_SETTINGS_KEY);
    if (text === undefined) return new SmsRuntime(options, false, SmsConfig.parse({}), undefined);
    const parsed = parseSmsConfig(JSON.parse(text));
    if (!parsed.ok) {
      throw new Error(
        `the SMS configuration saved in the database (settings '${SMS_SETTINGS_KEY}') is not valid:\n${parsed.issues.map((i) => `  ${i.path || '(top)'}: ${i.message}`).join('\n')}`,
      );
    }
    return new SmsRuntime(options, false, parsed.config, text);
  }

  get config(): SmsConfig {
    return this.current.config;
  }

  get provider(): SmsProvider {
    return this.current.provider;
  }

  /** The file, else the database once a configuration was saved there, else the defaults. */
  get source(): SmsConfigSource {
    if (this.fromFile) return 'file';
    return this.current.text === undefined ? 'default' : 'database';
  }

  /**
   * Reads the saved configuration and switches to it when it changed; true when it did. A
   * saved configuration that no longer parses is logged and the current one kept.
   */
  refresh(): Promise<boolean> {
    if (this.fromFile) return Promise.resolve(false);
    this.refreshing ??= this.reload().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async reload(): Promise<boolean> {
    const text = await loadSettingText(this.options.db.knex, SMS_SETTINGS_KEY);
    if (text === undefined || text === this.current.text) return false;
    const parsed = parseSmsConfig(JSON.parse(text));
    if (!parsed.ok) {
      this.options.log.error(
        { event: 'sms:config-invalid', issues: parsed.issues },
        'the saved SMS configuration is not valid; keeping the one in use',
      );
      this.current = { ...this.current, text };
      return false;
    }
    // Sends already under way finish on the provider they started with.
    this.current = {
      config: parsed.config,
      provider: createProvider(parsed.config.provider, this.options.providerDeps),
      text,
    };
    this.options.log.info(
      { event: 'sms:config-applied', provider: parsed.config.provider.provider },
      'SMS configuration applied',
    );
    return true;
  }

  /** Polls for configurations saved by other processes until stop(). */
  start(): void {
    if (this.timer || this.fromFile) return;
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) => {
        this.options.log.warn(
          { event: 'sms:config-poll-failed', err: error },
          'could not read the SMS configuration',
        );
      });
    }, this.options.refreshMs ?? 2_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

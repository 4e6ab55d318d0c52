import fs from 'node:fs';
import { z } from 'zod';
import { SmsProviderConfig } from './providers/index.ts';
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

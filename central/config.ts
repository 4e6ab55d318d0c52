import { z } from 'zod';

const positiveInt = (fallback: number, max: number) =>
  z.coerce.number().int().min(1).max(max).default(fallback);

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// or postgresql:// URL' })
    .optional(),
  DB_POOL_MAX: positiveInt(10, 200),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_REQUESTS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  CHAIN_NAME: z.string().min(1).max(120).default('Demo Electricals & Books'),
  TIME_ZONE: z
    .string()
    .default('Asia/Kolkata')
    .refine(isTimeZone, 'must be an IANA time zone such as Asia/Kolkata'),
  DEMO_SEED: z.enum(['auto', 'always', 'never']).default('auto'),
  SESSION_TTL_HOURS: positiveInt(12, 24 * 30),
  BODY_LIMIT_KB: positiveInt(64, 1024),
  /**
   * Which reverse proxies to believe about the client's address and https (Express 'trust
   * proxy'): 'false' (default: no proxy), 'loopback', a hop count, or addresses/subnets.
   */
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((v): boolean | number | string =>
      v === 'false' ? false : v === 'true' ? true : /^\d+$/.test(v) ? Number(v) : v,
    ),
  SALE_MAX_AGE_DAYS: positiveInt(30, 366),
  CLOCK_SKEW_SECONDS: positiveInt(300, 86_400),
  WRITE_BATCH_MAX: positiveInt(256, 5000),
  WRITE_CONCURRENCY: positiveInt(4, 64),
  /** Writes waiting before another batch starts beside those running (see GroupCommitter). */
  WRITE_PARALLEL_FROM: positiveInt(8, 5000),
  /** Keys OTP hashes; every central process of a chain must have the same (≥ 32 characters). */
  OTP_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  /** JSON file with the SMS gateway, DLT ids and templates; the development provider without it. */
  SMS_CONFIG_FILE: z.string().min(1).optional(),
  /** Whether this process sends the SMS outbox and runs the daily wishes (one or all may). */
  SMS_WORKER: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
});

/** Central's validated configuration. */
export type Config = z.infer<typeof schema>;

/** Thrown when the environment cannot run central; its message lists every problem. */
export class ConfigError extends Error {}

/** Reads and validates configuration from an environment; empty strings count as unset. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const relevant = Object.fromEntries(
    Object.keys(schema.shape)
      .map((key) => [key, env[key]] as const)
      .filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = schema.safeParse(relevant);
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (issue) =>
        `  ${issue.path.join('.')}=${JSON.stringify(relevant[String(issue.path[0])] ?? '')}: ${issue.message}`,
    );
    throw new ConfigError(`central cannot start; fix these settings:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

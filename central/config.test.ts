import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

/** Runs loadConfig and returns the ConfigError it throws; fails the test if it does not throw one. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('fills in the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 8080,
      HOST: '0.0.0.0',
      DATA_DIR: './data',
      TIME_ZONE: 'Asia/Kolkata',
      LOG_LEVEL: 'info',
      LOG_REQUESTS: true,
      DEMO_SEED: 'auto',
      DB_POOL_MAX: 10,
    });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('reads set values and coerces numbers and booleans', () => {
    const config = loadConfig({
      PORT: '9090',
      DATA_DIR: '/var/lib/loyalty',
      DATABASE_URL: 'postgres://loyalty@db:5432/loyalty',
      TIME_ZONE: 'Asia/Dubai',
      LOG_REQUESTS: 'false',
      SESSION_TTL_HOURS: '8',
    });
    expect(config).toMatchObject({
      PORT: 9090,
      DATA_DIR: '/var/lib/loyalty',
      DATABASE_URL: 'postgres://loyalty@db:5432/loyalty',
      TIME_ZONE: 'Asia/Dubai',
      LOG_REQUESTS: false,
      SESSION_TTL_HOURS: 8,
    });
  });

  it('accepts postgresql:// as well as postgres://', () => {
    expect(loadConfig({ DATABASE_URL: 'postgresql://u@h/db' }).DATABASE_URL).toBe(
      'postgresql://u@h/db',
    );
  });

  it('treats empty strings as unset', () => {
    const config = loadConfig({
      PORT: '',
      DATA_DIR: '',
      DATABASE_URL: '',
      TIME_ZONE: '',
      LOG_LEVEL: '',
    });
    expect(config).toMatchObject({
      PORT: 8080,
      DATA_DIR: './data',
      TIME_ZONE: 'Asia/Kolkata',
      LOG_LEVEL: 'info',
    });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('ignores variables it does not know', () => {
    expect(loadConfig({ PATH: '/usr/bin', HOME: '/root', PORT: '81' }).PORT).toBe(81);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_URL', 'not a url'],
    ['TIME_ZONE', 'Mars/Base'],
    ['LOG_LEVEL', 'loud'],
    ['DEMO_SEED', 'sometimes'],
    ['LOG_REQUESTS', 'yes'],
    ['DB_POOL_MAX', '0'],
  ])('refuses %s=%s with a ConfigError naming the variable and its value', (name, value) => {
    const error = configError({ [name]: value });
    expect(error.message).toContain(`${name}=${JSON.stringify(value)}`);
    // Only the bad variable is listed.
    expect(error.message.trim().split('\n')).toHaveLength(2);
  });

  it('lists every bad variable together, each with a reason', () => {
    const error = configError({
      PORT: 'abc',
      DATABASE_URL: 'mysql://x',
      TIME_ZONE: 'Mars/Base',
      LOG_LEVEL: 'loud',
      DATA_DIR: '/fine',
    });
    const lines = error.message.split('\n').filter((l) => /^\s+\w+=/.test(l));
    expect(lines.map((l) => l.trim().split('=')[0]).sort()).toEqual([
      'DATABASE_URL',
      'LOG_LEVEL',
      'PORT',
      'TIME_ZONE',
    ]);
    expect(error.message).toContain('postgres://');
    expect(error.message).toContain('IANA time zone');
    expect(error.message).not.toContain('DATA_DIR');
  });

  it('reads process.env when given no environment', () => {
    const saved = process.env.PORT;
    process.env.PORT = '4321';
    try {
      expect(loadConfig().PORT).toBe(4321);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });
});

import type { TFunction } from 'i18next';
import { ApiFailure, UNREACHABLE } from '../api.ts';
import { formatTime } from '../format.ts';

/** Refusals this screen words itself in Hindi; any other code shows the counter's sentence. */
const KNOWN_CODES = [
  'offline',
  'not-a-member',
  'bad-mobile',
  'wrong-otp',
  'otp-expired',
  'not-found',
  'forbidden',
  'locked',
  'validation',
  'wrong-pin',
  'signed-out',
  'no-printer',
  UNREACHABLE,
] as const;

type KnownCode = (typeof KNOWN_CODES)[number];

function isKnownCode(code: string): code is KnownCode {
  return (KNOWN_CODES as readonly string[]).includes(code);
}

/**
 * What to show for a failure. English shows the counter's own sentence (written for cashiers);
 * Hindi shows our translation for the codes we know, and the counter's sentence otherwise.
 */
export function describeError(error: unknown, t: TFunction, language: string): string {
  if (!(error instanceof ApiFailure)) {
    return error instanceof Error ? error.message : t('errors.unexpected');
  }
  if (error.code === 'locked' && error.retryAfterSeconds !== null) {
    const until = new Date(Date.now() + error.retryAfterSeconds * 1000);
    return t('errors.locked-until', { time: formatTime(until) });
  }
  if (language !== 'en' && isKnownCode(error.code)) return t(`errors.${error.code}`);
  return error.message;
}

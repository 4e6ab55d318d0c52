import { parsePhoneNumberWithError, ParseError, type CountryCode } from 'libphonenumber-js/max';

/** Outcome of normalising a mobile number typed at a counter or sent by an integrator. */
export type MobileResult =
  | { ok: true; e164: string; country: CountryCode }
  | { ok: false; reason: 'malformed' | 'not-mobile' | 'foreign-region'; message: string };

/**
 * Normalises a mobile number to E.164. Numbers without a country code are read in
 * `defaultRegion`; a number from a region outside `allowedRegions` is refused because
 * the chain's SMS gateway cannot reach it.
 */
export function normaliseMobile(
  input: string,
  defaultRegion: CountryCode = 'IN',
  allowedRegions: readonly CountryCode[] = ['IN'],
): MobileResult {
  // Parsing with full metadata costs tens of microseconds and the same members come back daily.
  const key = `${defaultRegion}|${allowedRegions.join(',')}|${input}`;
  const known = memo.get(key);
  if (known) return known;
  const result = Object.freeze(parseMobile(input, defaultRegion, allowedRegions));
  if (memo.size >= MEMO_MAX) memo.clear();
  memo.set(key, result);
  return result;
}

const MEMO_MAX = 50_000;
const memo = new Map<string, MobileResult>();

function parseMobile(
  input: string,
  defaultRegion: CountryCode,
  allowedRegions: readonly CountryCode[],
): MobileResult {
  const text = input.trim();
  if (text.length === 0 || text.length > 32 || !/^[+\d\s().-]+$/.test(text)) {
    return {
      ok: false,
      reason: 'malformed',
      message: `"${text.slice(0, 32)}" is not a phone number: use digits, e.g. 98765 43210 or +91 98765 43210.`,
    };
  }
  let parsed;
  try {
    parsed = parsePhoneNumberWithError(text, defaultRegion);
  } catch (error) {
    const why = error instanceof ParseError ? error.message : 'unreadable';
    return {
      ok: false,
      reason: 'malformed',
      message: `"${text}" is not a phone number (${why.toLowerCase().replaceAll('_', ' ')}).`,
    };
  }
  if (!parsed.isValid()) {
    return {
      ok: false,
      reason: 'malformed',
      message: `"${text}" is not a valid number: an Indian mobile has 10 digits and starts with 6, 7, 8 or 9.`,
    };
  }
  const country = parsed.country;
  if (country === undefined || !allowedRegions.includes(country)) {
    return {
      ok: false,
      reason: 'foreign-region',
      message: `${parsed.number} is not an ${allowedRegions.join('/')} number: the programme sends its SMS only to ${allowedRegions.join('/')} mobiles.`,
    };
  }
  const type = parsed.getType();
  if (type !== 'MOBILE' && type !== 'FIXED_LINE_OR_MOBILE') {
    return {
      ok: false,
      reason: 'not-mobile',
      message: `${parsed.number} is a landline or service number; members need a mobile that can receive SMS.`,
    };
  }
  return { ok: true, e164: parsed.number, country };
}

/** Masks a mobile for slips and screens: "+919876543210" → "+91 XXXXXX3210". */
export function maskMobile(e164: string): string {
  const digits = e164.replace(/^\+91/, '');
  const shown = digits.slice(-4);
  const prefix = e164.startsWith('+91') ? '+91 ' : '';
  return `${prefix}${'X'.repeat(Math.max(0, digits.length - 4))}${shown}`;
}

/**
 * What the cashier typed in the member field: nothing yet, the last digits of a mobile, a whole
 * Indian mobile (looked up exactly), or the start of a name. The counter normalises again; this
 * only decides what to ask it.
 */
export type LookupText =
  | { kind: 'empty' }
  | { kind: 'digits'; digits: string }
  | { kind: 'mobile'; e164: string; digits: string }
  | { kind: 'name'; prefix: string };

/** Digits before the counter is asked for matches: fewer match half the members. */
export const MIN_DIGITS = 4;
/** Letters before the counter is asked for matching names. */
export const MIN_LETTERS = 2;

export function readLookup(text: string): LookupText {
  const trimmed = text.trim();
  if (trimmed === '') return { kind: 'empty' };
  if (/^\+?[\d\s-]+$/.test(trimmed)) {
    const digits = trimmed.replace(/\D/g, '');
    const national = nationalMobile(trimmed.startsWith('+'), digits);
    if (national !== undefined) return { kind: 'mobile', e164: `+91${national}`, digits: national };
    return { kind: 'digits', digits };
  }
  return { kind: 'name', prefix: trimmed.replace(/\s+/g, ' ') };
}

// 98123 45678, 098123 45678, 91 98123 45678 and +91 98123 45678 are all the same mobile.
function nationalMobile(hasPlus: boolean, digits: string): string | undefined {
  let national = digits;
  if (hasPlus) {
    if (!digits.startsWith('91')) return undefined;
    national = digits.slice(2);
  } else if (digits.length === 11 && digits.startsWith('0')) {
    national = digits.slice(1);
  } else if (digits.length === 12 && digits.startsWith('91')) {
    national = digits.slice(2);
  }
  return /^[6-9]\d{9}$/.test(national) ? national : undefined;
}

/** The query for type-ahead, or undefined when there is too little to ask about. */
export function suggestionQuery(lookup: LookupText): string | undefined {
  switch (lookup.kind) {
    case 'digits':
      return lookup.digits.length >= MIN_DIGITS ? lookup.digits : undefined;
    case 'mobile':
      return lookup.digits;
    case 'name':
      return lookup.prefix.length >= MIN_LETTERS ? lookup.prefix : undefined;
    case 'empty':
      return undefined;
  }
}

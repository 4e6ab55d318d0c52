/**
 * What a scanned code means at the counter: a product, a member, or something to refuse with a
 * message the cashier can act on. Shared by every scanner kind (wedge, serial, HID-POS).
 */
import { normaliseMobile } from '../../../shared/mobile.ts';
import { MEMBER_CARD_QR_PREFIX, parseMemberCardQr } from '../member-card.ts';

/**
 * A scanned code, classified: a product; a member card (open the member by id, the cashier
 * confirms the last four digits); or a bare mobile number (look the member up by mobile).
 */
export type ScannedCode =
  | { kind: 'product'; sku: string; symbology: 'ean-13' | 'ean-8' | 'upc-a' | 'text' }
  | { kind: 'member-card'; memberId: number; mobileLast4: string }
  | { kind: 'member-mobile'; mobile: string }
  | { kind: 'unknown'; reason: string };

const MEMBER_CARD_PREFIX = `${MEMBER_CARD_QR_PREFIX}:`;

/** Longest SKU the catalogue accepts. */
export const MAX_SKU_LENGTH = 64;

/** Longest code worth reading at all; anything longer is noise or a wrong scanner mode. */
export const MAX_CODE_LENGTH = 256;

const SKU_PATTERN = /^[A-Za-z0-9._/-]+$/;
// The GTIN lengths: EAN-8, UPC-A, EAN-13. Other all-digit codes are read as plain SKUs.
const GTIN_KINDS = new Map<number, 'ean-8' | 'upc-a' | 'ean-13'>([
  [8, 'ean-8'],
  [12, 'upc-a'],
  [13, 'ean-13'],
]);

/** Classifies one scanned code; surrounding whitespace is ignored. */
export function classifyCode(raw: string): ScannedCode {
  const code = raw.trim();
  if (code.length === 0) return unknown('The scan was empty; scan again.');
  if (/[\p{Cc}]/u.test(code)) {
    return unknown(
      "The scan contains control characters; set the scanner's keyboard/country setting to match this terminal, then scan again.",
    );
  }
  if (code.length > MAX_CODE_LENGTH) {
    return unknown(
      `The scan is too long (${code.length} characters); scan the product barcode or member card only.`,
    );
  }
  if (code.toUpperCase().startsWith(MEMBER_CARD_PREFIX)) return classifyMemberCard(code);
  if (/^\d+$/.test(code)) {
    if (code.length === 10 && /^[6-9]/.test(code)) {
      const mobile = normaliseMobile(code);
      if (mobile.ok) return { kind: 'member-mobile', mobile: mobile.e164 };
    }
    const symbology = GTIN_KINDS.get(code.length);
    if (symbology !== undefined) {
      if (!hasValidCheckDigit(code)) {
        return unknown("The barcode's check digit is wrong; scan again or type the number.");
      }
      return { kind: 'product', sku: code, symbology };
    }
  }
  if (code.length > MAX_SKU_LENGTH) {
    return unknown(
      `The code is too long for a SKU (${code.length} characters, at most ${MAX_SKU_LENGTH}); type the product in by category.`,
    );
  }
  if (!SKU_PATTERN.test(code)) {
    return unknown(
      `"${code}" is not a product or member code: a SKU has only letters, digits and - _ . /.`,
    );
  }
  return { kind: 'product', sku: code, symbology: 'text' };
}

/**
 * Whether the last digit of a GTIN (EAN-8, UPC-A, EAN-13, GTIN-14) is its check digit: from the
 * right, data digits are weighted 3, 1, 3, … and the total with the check digit is a multiple of 10.
 */
export function hasValidCheckDigit(digits: string): boolean {
  if (!/^\d{8,14}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    const fromRight = digits.length - 1 - i;
    const weight = fromRight % 2 === 1 ? 3 : 1;
    sum += Number(digits[i]) * weight;
  }
  return sum % 10 === 0;
}

function classifyMemberCard(code: string): ScannedCode {
  const card = parseMemberCardQr(code);
  if (card) return { kind: 'member-card', ...card };
  return unknown(
    'This member card code is damaged or not from this programme; look the member up by mobile.',
  );
}

function unknown(reason: string): ScannedCode {
  return { kind: 'unknown', reason };
}

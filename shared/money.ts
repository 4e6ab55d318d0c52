/** Largest amount one sale line may carry: ₹1 crore, in paise. */
export const MAX_LINE_PAISE = 1_000_000_000;

/** Largest bill total: ₹10 crore, in paise; far above any showroom bill, far below 2^53. */
export const MAX_BILL_PAISE = 10_000_000_000;

const groupIndian = new Intl.NumberFormat('en-IN', { maximumFractionDigits: 0 });

/** Formats integer paise the Indian way: 12345600 → "₹1,23,456.00"; never goes through a float. */
export function formatRupees(amountPaise: number | bigint): string {
  const paise = BigInt(amountPaise);
  const sign = paise < 0n ? '-' : '';
  const abs = paise < 0n ? -paise : paise;
  const rupees = abs / 100n;
  const rest = (abs % 100n).toString().padStart(2, '0');
  return `${sign}₹${groupIndian.format(rupees)}.${rest}`;
}

/** True for a whole number of paise that JavaScript holds exactly. */
export function isPaise(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** Reads rupees as typed ("1234", "1,234.5", "₹1,23,456.00") into integer paise, without floats. */
export function parseRupees(text: string): number | undefined {
  const match = /^₹?\s*(\d{1,3}(?:,\d{2,3})*|\d+)(?:\.(\d{1,2}))?$/.exec(text.trim());
  if (!match) return undefined;
  const rupees = Number((match[1] ?? '').replace(/,/g, ''));
  const paise = Number((match[2] ?? '').padEnd(2, '0'));
  const total = rupees * 100 + paise;
  return Number.isSafeInteger(total) && total <= MAX_BILL_PAISE ? total : undefined;
}

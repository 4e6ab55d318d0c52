/**
 * Dates and numbers the Indian way, the same in English and Hindi: dd/mm/yyyy in Asia/Kolkata,
 * points grouped 1,23,456. Money goes through formatRupees (shared/money.ts) only.
 */

const ZONE = 'Asia/Kolkata';

const dateParts = new Intl.DateTimeFormat('en-GB', {
  timeZone: ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

const groupIndian = new Intl.NumberFormat('en-IN', { maximumFractionDigits: 0 });

type Parts = { year: string; month: string; day: string; hour: string; minute: string };

function partsOf(instant: Date): Parts {
  const parts: Parts = { year: '', month: '', day: '', hour: '', minute: '' };
  for (const part of dateParts.formatToParts(instant)) {
    if (part.type in parts) parts[part.type as keyof Parts] = part.value;
  }
  return parts;
}

function toDate(value: string | Date): Date | undefined {
  const date = typeof value === 'string' ? new Date(value) : value;
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** "2025-11-23T08:30:00Z" → "23/11/2025" (Asia/Kolkata); '' for anything unreadable. */
export function formatDate(value: string | Date): string {
  const date = toDate(value);
  if (!date) return '';
  const p = partsOf(date);
  return `${p.day}/${p.month}/${p.year}`;
}

/** "2025-11-23T08:30:00Z" → "23/11/2025 14:00" (Asia/Kolkata). */
export function formatDateTime(value: string | Date): string {
  const date = toDate(value);
  if (!date) return '';
  const p = partsOf(date);
  return `${p.day}/${p.month}/${p.year} ${p.hour}:${p.minute}`;
}

/** "14:00" in Asia/Kolkata. */
export function formatTime(value: string | Date): string {
  const date = toDate(value);
  if (!date) return '';
  const p = partsOf(date);
  return `${p.hour}:${p.minute}`;
}

/** The calendar date in Asia/Kolkata as YYYY-MM-DD (what the ledger query takes). */
export function kolkataDate(instant: Date): string {
  const p = partsOf(instant);
  return `${p.year}-${p.month}-${p.day}`;
}

/** Adds whole days to a YYYY-MM-DD date. */
export function addDays(isoDate: string, days: number): string {
  const ms = Date.parse(`${isoDate}T00:00:00Z`) + days * 86_400_000;
  return new Date(ms).toISOString().slice(0, 10);
}

/** Points with Indian grouping: 123456 → "1,23,456". */
export function formatPoints(points: number): string {
  return groupIndian.format(points);
}

/** How long ago, in the largest whole unit a cashier cares about. */
export type Age =
  { unit: 'never' } | { unit: 'now' } | { unit: 'minutes' | 'hours' | 'days'; count: number };

export function ageOf(value: string | null, nowMs: number): Age {
  if (value === null) return { unit: 'never' };
  const ms = nowMs - Date.parse(value);
  if (Number.isNaN(ms)) return { unit: 'never' };
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return { unit: 'now' };
  if (minutes < 60) return { unit: 'minutes', count: minutes };
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return { unit: 'hours', count: hours };
  return { unit: 'days', count: Math.floor(hours / 24) };
}

/** "m:ss" until an instant; "0:00" once past. */
export function formatCountdown(untilIso: string, nowMs: number): string {
  const seconds = Math.max(0, Math.ceil((Date.parse(untilIso) - nowMs) / 1000));
  if (Number.isNaN(seconds)) return '';
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/**
 * A date typed the Indian way ("15/08/1990", "5-8-1990", "05.08.1990") as YYYY-MM-DD; '' for
 * nothing typed; undefined for anything that is not a real calendar date.
 */
export function parseIndianDate(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return '';
  const match = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(trimmed);
  if (!match) return undefined;
  const [day, month, year] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  const isReal =
    year >= 1900 &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day;
  return isReal ? date.toISOString().slice(0, 10) : undefined;
}

/** "2025-08-15" → "15/08/2025" (a calendar date: no time zone involved). */
export function formatIsoDate(isoDate: string): string {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  return match ? `${match[3]}/${match[2]}/${match[1]}` : isoDate;
}

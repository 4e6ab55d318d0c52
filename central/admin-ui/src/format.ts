/**
 * Numbers and times for head office: Indian digit grouping (1,23,456), dates dd/mm/yyyy in the
 * chain's time zone. Money goes through formatRupees (shared/money.ts) only: integer paise in,
 * text out, never a float.
 */
import { dayIn, zonedFields, zoneOffsetMs } from '../../../shared/calendar.ts';
import { formatRupees } from '../../../shared/money.ts';

export { formatRupees };

/** The chain's zone until central says otherwise (the session tells it). */
export const DEFAULT_ZONE = 'Asia/Kolkata';

const groupIndian = new Intl.NumberFormat('en-IN', { maximumFractionDigits: 0 });
const percent1 = new Intl.NumberFormat('en-IN', {
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});

/** Whole numbers (points, counts) with Indian grouping: 1234567 → "12,34,567". */
export function formatCount(value: number): string {
  return groupIndian.format(value);
}

/** Points with a sign when asked: 250 → "+250", -1200 → "-1,200". */
export function formatPoints(points: number, signed = false): string {
  const text = groupIndian.format(points);
  return signed && points > 0 ? `+${text}` : text;
}

/** A ratio for display only (0.1234 → "12.3%"); '—' when there is nothing to divide. */
export function formatPercent(part: number, whole: number): string {
  if (whole === 0 || !Number.isFinite(part / whole)) return '—';
  return `${percent1.format((part / whole) * 100)}%`;
}

/** Paise with a sign for differences: 12345 → "+₹123.45". */
export function formatRupeesSigned(paise: number): string {
  const text = formatRupees(paise);
  return paise > 0 ? `+${text}` : text;
}

function toDate(value: string | Date): Date | undefined {
  const date = typeof value === 'string' ? new Date(value) : value;
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** An instant as "23/11/2026 14:05" in the zone; '' for nothing or anything unreadable. */
export function formatDateTime(
  value: string | Date | null | undefined,
  zone = DEFAULT_ZONE,
): string {
  if (value === null || value === undefined) return '';
  const date = toDate(value);
  if (!date) return '';
  const p = zonedFields(date, zone);
  return `${p.day}/${p.month}/${p.year} ${p.hour}:${p.minute}`;
}

/** The calendar date of an instant in the zone, YYYY-MM-DD. */
export function calendarDateIn(instant: Date, zone = DEFAULT_ZONE): string {
  return dayIn(instant, zone);
}

/** "2026-08-15" → "15/08/2026"; a calendar date needs no zone. Anything else comes back as is. */
export function formatIsoDate(isoDate: string | null | undefined): string {
  if (isoDate === null || isoDate === undefined) return '';
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(isoDate);
  return match ? `${match[3]}/${match[2]}/${match[1]}` : isoDate;
}

/** A report bucket's label: a day (YYYY-MM-DD), an ISO week (2026-W47) or a month (2026-11). */
export function formatBucket(bucket: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(bucket)) return formatIsoDate(bucket);
  const month = /^(\d{4})-(\d{2})$/.exec(bucket);
  if (month) {
    const names = [
      'Jan',
      'Feb',
      'Mar',
      'Apr',
      'May',
      'Jun',
      'Jul',
      'Aug',
      'Sep',
      'Oct',
      'Nov',
      'Dec',
    ];
    return `${names[Number(month[2]) - 1] ?? month[2]} ${month[1]}`;
  }
  return bucket;
}

/**
 * The local wall time of a `datetime-local` input ("2026-12-01T00:00") in the zone, as an ISO
 * instant with the zone's offset at that moment ("2026-12-01T00:00:00+05:30"); undefined when
 * the text is not a time.
 */
export function zonedInstant(local: string, zone = DEFAULT_ZONE): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(local);
  if (!match) return undefined;
  const [y, mo, d, h, mi] = match.slice(1).map(Number) as [number, number, number, number, number];
  const asUtc = Date.UTC(y, mo - 1, d, h, mi);
  // The zone's offset at that wall time: what the wall clock reads at the UTC instant, minus it.
  // Asked twice so a time next to an offset change settles on the offset in force then.
  let offsetMs = zoneOffsetMs(asUtc, zone);
  offsetMs = zoneOffsetMs(asUtc - offsetMs, zone);
  const minutes = Math.round(offsetMs / 60_000);
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:00${offset}`;
}

/** How long ago, in the largest whole unit: "just now", "5 min ago", "3 h ago", "2 days ago". */
export function formatAge(iso: string | null, nowMs: number): string {
  if (iso === null) return 'never';
  const ms = nowMs - Date.parse(iso);
  if (Number.isNaN(ms)) return '';
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.floor(hours / 24);
  return days === 1 ? '1 day ago' : `${days} days ago`;
}

/** "m:ss" until an instant; "0:00" once past. */
export function formatCountdown(untilIso: string, nowMs: number): string {
  const seconds = Math.max(0, Math.ceil((Date.parse(untilIso) - nowMs) / 1000));
  if (Number.isNaN(seconds)) return '';
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

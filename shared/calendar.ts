/**
 * Calendar days (YYYY-MM-DD) and the wall clock of an instant in a time zone, by Intl alone:
 * central and the console both use these (the console runs in a browser).
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock fields of an instant in a time zone (hours 00–23). */
export function zonedFields(at: Date | number, zone: string) {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, formatter);
  }
  const parts = formatter.formatToParts(typeof at === 'number' ? new Date(at) : at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}

/** Offset of `zone` from UTC at instant `atMs`, in milliseconds. */
export function zoneOffsetMs(atMs: number, zone: string): number {
  const f = zonedFields(atMs, zone);
  const asUtc = Date.UTC(
    Number(f.year),
    Number(f.month) - 1,
    Number(f.day),
    Number(f.hour),
    Number(f.minute),
    Number(f.second),
  );
  return asUtc - Math.floor(atMs / 1000) * 1000;
}

/** The calendar day (YYYY-MM-DD) of an instant in a time zone. */
export function dayIn(at: Date | string | number, zone: string): string {
  const f = zonedFields(typeof at === 'string' ? new Date(at) : at, zone);
  return `${f.year}-${f.month}-${f.day}`;
}

const dayMs = (day: string) => Date.parse(`${day}T00:00:00Z`);

/** `day` moved by `days` calendar days (a calendar day has no zone). */
export function addDays(day: string, days: number): string {
  return new Date(dayMs(day) + days * 86_400_000).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return Math.round((dayMs(to) - dayMs(from)) / 86_400_000);
}

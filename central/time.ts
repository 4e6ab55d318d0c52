/** The wall-clock fields of an instant in a time zone. */
function zonedFields(atMs: number, zone: string) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(atMs));
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
function offsetMs(atMs: number, zone: string): number {
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

/** Local date (YYYY-MM-DD) and time (HH:MM) of an instant in a time zone. */
export function localDateTime(at: Date, zone: string): { date: string; time: string } {
  const f = zonedFields(at.getTime(), zone);
  return { date: `${f.year}-${f.month}-${f.day}`, time: `${f.hour}:${f.minute}` };
}

/** The instant a calendar day (YYYY-MM-DD) begins in `zone`. */
export function startOfDay(date: string, zone: string): Date {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const guess = Date.UTC(y, m - 1, d);
  let at = guess - offsetMs(guess, zone);
  at = guess - offsetMs(at, zone);
  return new Date(at);
}

/** The calendar day after `date`. */
export function nextDay(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

/** A clock, passed in so tests can move time. */
export interface Clock {
  now(): Date;
}

/** The machine's clock. */
export const systemClock: Clock = { now: () => new Date() };

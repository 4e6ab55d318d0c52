import { addDays, zonedFields, zoneOffsetMs } from '../shared/calendar.ts';

/** Local date (YYYY-MM-DD) and time (HH:MM) of an instant in a time zone. */
export function localDateTime(at: Date, zone: string): { date: string; time: string } {
  const f = zonedFields(at.getTime(), zone);
  return { date: `${f.year}-${f.month}-${f.day}`, time: `${f.hour}:${f.minute}` };
}

/** The instant a calendar day (YYYY-MM-DD) begins in `zone`. */
export function startOfDay(date: string, zone: string): Date {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const guess = Date.UTC(y, m - 1, d);
  let at = guess - zoneOffsetMs(guess, zone);
  at = guess - zoneOffsetMs(at, zone);
  return new Date(at);
}

/** The calendar day after `date`. */
export function nextDay(date: string): string {
  return addDays(date, 1);
}

/** A clock, passed in so tests can move time. */
export interface Clock {
  now(): Date;
}

/** The machine's clock. */
export const systemClock: Clock = { now: () => new Date() };

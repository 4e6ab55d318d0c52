import { addDays } from '../../shared/calendar.ts';
import type { ReportGranularity } from '../../shared/protocol/reports.ts';

/** dayOf: the calendar day (YYYY-MM-DD) of an instant in a time zone. */
export { addDays, dayIn as dayOf, daysBetween } from '../../shared/calendar.ts';

/** First day of the period holding `day`: itself, its ISO week's Monday, or its month's 1st. */
export function periodStart(day: string, granularity: ReportGranularity): string {
  if (granularity === 'day') return day;
  if (granularity === 'month') return `${day.slice(0, 8)}01`;
  const weekday = (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  return addDays(day, -weekday);
}

/** A period of a report: its first and last day, both inside the range. */
export interface Period {
  period: string;
  periodEnd: string;
}

/** The periods covering [from, to], clipped to it, in order. */
export function periodsOf(from: string, to: string, granularity: ReportGranularity): Period[] {
  const periods: Period[] = [];
  let start = from;
  while (start <= to) {
    let next: string;
    if (granularity === 'day') next = addDays(start, 1);
    else if (granularity === 'week') next = addDays(periodStart(start, 'week'), 7);
    else {
      const [y, m] = start.split('-').map(Number) as [number, number];
      next = new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10);
    }
    const end = addDays(next, -1);
    periods.push({ period: start, periodEnd: end < to ? end : to });
    start = next;
  }
  return periods;
}

/** Finds the index of the period holding `day` (periods in order, contiguous). */
export function periodIndexer(periods: Period[]): (day: string) => number {
  return (day) => {
    let lo = 0;
    let hi = periods.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((periods[mid] as Period).period <= day) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
}

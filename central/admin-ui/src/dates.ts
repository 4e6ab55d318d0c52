/** Date ranges for reports: inclusive calendar dates (YYYY-MM-DD) in the chain's zone. */
import { addDays } from '../../../shared/calendar.ts';

export { addDays };

export type DateRange = { from: string; to: string };

/** The presets every report offers. */
export const PRESETS = ['today', 'last7', 'thisMonth', 'lastMonth', 'last90', 'thisYear'] as const;
export type Preset = (typeof PRESETS)[number];

/** The range a preset means on `today` (a calendar date in the chain's zone). */
export function presetRange(preset: Preset, today: string): DateRange {
  const year = today.slice(0, 4);
  const month = today.slice(0, 7);
  switch (preset) {
    case 'today':
      return { from: today, to: today };
    case 'last7':
      return { from: addDays(today, -6), to: today };
    case 'thisMonth':
      return { from: `${month}-01`, to: today };
    case 'lastMonth': {
      const lastDay = addDays(`${month}-01`, -1);
      return { from: `${lastDay.slice(0, 7)}-01`, to: lastDay };
    }
    case 'last90':
      return { from: addDays(today, -89), to: today };
    case 'thisYear':
      return { from: `${year}-01-01`, to: today };
  }
}

/** Which preset a range is, if any (to highlight its button). */
export function presetOf(range: DateRange, today: string): Preset | undefined {
  return PRESETS.find((p) => {
    const r = presetRange(p, today);
    return r.from === range.from && r.to === range.to;
  });
}

/** Why a range cannot be asked for, or undefined when it can. */
export function rangeProblem(range: DateRange, maxDays = 366): string | undefined {
  const iso = /^\d{4}-\d{2}-\d{2}$/;
  if (!iso.test(range.from) || !iso.test(range.to)) return 'Choose both dates.';
  if (range.from > range.to) return '"From" is after "to".';
  const days = (Date.parse(range.to) - Date.parse(range.from)) / 86_400_000 + 1;
  if (days > maxDays) return `A range covers at most ${maxDays} days.`;
  return undefined;
}

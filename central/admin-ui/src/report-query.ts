/**
 * A report's filters as the page's URL holds them (so a report can be bookmarked and shared)
 * and as the API takes them: the same parameters serve the JSON call and the CSV link.
 */
import { presetRange, type Preset } from './dates.ts';
import type { QueryValue } from './query.ts';

export type ReportId = 'sales' | 'liability' | 'members' | 'patterns' | 'sms';
export type Granularity = 'day' | 'week' | 'month';

export type ReportDef = {
  id: ReportId;
  path: string;
  defaultPreset: Preset;
  /** The report's default grouping over time; undefined when it has none. */
  granularity?: Granularity;
  dimensions?: readonly string[];
  defaultDimension?: string;
  /** Parts a CSV download can hold (buying patterns). */
  sections?: readonly string[];
};

export type ReportFilters = {
  from: string;
  to: string;
  showrooms: string[];
  granularity?: Granularity;
  dimension?: string;
  section?: string;
};

const GRANULARITIES: readonly Granularity[] = ['day', 'week', 'month'];

/** The filters a URL's search parameters ask for, with the report's defaults for the rest. */
export function filtersOf(def: ReportDef, params: URLSearchParams, today: string): ReportFilters {
  const preset = presetRange(def.defaultPreset, today);
  const filters: ReportFilters = {
    from: params.get('from') ?? preset.from,
    to: params.get('to') ?? preset.to,
    showrooms: (params.get('showrooms') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  };
  if (def.granularity !== undefined) {
    const asked = params.get('granularity') as Granularity | null;
    filters.granularity = asked !== null && GRANULARITIES.includes(asked) ? asked : def.granularity;
  }
  if (def.dimensions !== undefined) {
    const asked = params.get('dimension');
    filters.dimension =
      asked !== null && def.dimensions.includes(asked)
        ? asked
        : (def.defaultDimension ?? def.dimensions[0]);
  }
  if (def.sections !== undefined) {
    const asked = params.get('section');
    filters.section = asked !== null && def.sections.includes(asked) ? asked : def.sections[0];
  }
  return filters;
}

/** The filters as URL search parameters (what the page's address keeps). */
export function searchOf(filters: ReportFilters): Record<string, string> {
  const search: Record<string, string> = { from: filters.from, to: filters.to };
  if (filters.showrooms.length > 0) search.showrooms = filters.showrooms.join(',');
  if (filters.granularity !== undefined) search.granularity = filters.granularity;
  if (filters.dimension !== undefined) search.dimension = filters.dimension;
  if (filters.section !== undefined) search.section = filters.section;
  return search;
}

/** The API's query for the JSON report (the CSV section only matters to a download). */
export function apiParams(filters: ReportFilters): Record<string, QueryValue> {
  return {
    from: filters.from,
    to: filters.to,
    showrooms: filters.showrooms,
    granularity: filters.granularity,
    dimension: filters.dimension,
  };
}

/** The API's query for the CSV download: the JSON query and, for patterns, the section. */
export function csvParams(filters: ReportFilters): Record<string, QueryValue> {
  return { ...apiParams(filters), section: filters.section };
}

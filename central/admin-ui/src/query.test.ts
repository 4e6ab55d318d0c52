import { describe, expect, it } from 'vitest';
import { csvUrl, withQuery } from './query.ts';
import { apiParams, csvParams, filtersOf, searchOf, type ReportDef } from './report-query.ts';

const SALES: ReportDef = {
  id: 'sales',
  path: '/api/reports/sales',
  defaultPreset: 'last7',
  granularity: 'day',
  dimensions: ['time', 'showroom', 'category'],
  defaultDimension: 'time',
};

const PATTERNS: ReportDef = {
  id: 'patterns',
  path: '/api/reports/patterns',
  defaultPreset: 'last90',
  sections: ['category-mix', 'rfm'],
};

describe('query strings and CSV links', () => {
  it('leaves out what is empty and joins lists with commas', () => {
    expect(
      withQuery('/api/reports/sales', {
        from: '2026-11-01',
        to: '2026-11-30',
        showrooms: ['MUM-01', 'PUN-02'],
        granularity: undefined,
        q: '',
        none: null,
        empty: [],
      }),
    ).toBe('/api/reports/sales?from=2026-11-01&to=2026-11-30&showrooms=MUM-01%2CPUN-02');
    expect(withQuery('/api/x', {})).toBe('/api/x');
  });

  it('escapes what a search may hold', () => {
    expect(withQuery('/api/members/search', { q: 'राज & co', limit: 50 })).toBe(
      '/api/members/search?q=%E0%A4%B0%E0%A4%BE%E0%A4%9C+%26+co&limit=50',
    );
  });

  it('makes the CSV link from the same filters, with format=csv', () => {
    const filters = filtersOf(
      SALES,
      new URLSearchParams('from=2026-11-01&to=2026-11-30&showrooms=MUM-01&dimension=category'),
      '2026-11-23',
    );
    const json = withQuery(SALES.path, apiParams(filters));
    const csv = csvUrl(SALES.path, csvParams(filters));
    expect(json).toBe(
      '/api/reports/sales?from=2026-11-01&to=2026-11-30&showrooms=MUM-01&granularity=day&dimension=category',
    );
    expect(csv).toBe(`${json}&format=csv`);
  });

  it('puts the section into the CSV link only', () => {
    const filters = filtersOf(PATTERNS, new URLSearchParams('section=rfm'), '2026-11-23');
    expect(withQuery(PATTERNS.path, apiParams(filters))).toBe(
      '/api/reports/patterns?from=2026-08-26&to=2026-11-23',
    );
    expect(csvUrl(PATTERNS.path, csvParams(filters))).toBe(
      '/api/reports/patterns?from=2026-08-26&to=2026-11-23&section=rfm&format=csv',
    );
  });
});

describe('report filters in the address', () => {
  it('fills defaults and ignores values the report does not know', () => {
    const filters = filtersOf(
      SALES,
      new URLSearchParams('granularity=year&dimension=planet&showrooms=,MUM-01,, PUN-02'),
      '2026-11-23',
    );
    expect(filters).toEqual({
      from: '2026-11-17',
      to: '2026-11-23',
      showrooms: ['MUM-01', 'PUN-02'],
      granularity: 'day',
      dimension: 'time',
    });
  });

  it('comes back the same after a round trip through the address', () => {
    const filters = filtersOf(
      SALES,
      new URLSearchParams(
        'from=2026-01-01&to=2026-03-31&granularity=month&dimension=showroom&showrooms=A,B',
      ),
      '2026-11-23',
    );
    expect(filtersOf(SALES, new URLSearchParams(searchOf(filters)), '2026-11-23')).toEqual(filters);
  });
});

import { describe, expect, it } from 'vitest';
import { addDays, PRESETS, presetOf, presetRange, rangeProblem } from './dates.ts';

describe('report date presets', () => {
  it('reads each preset on an ordinary day', () => {
    const today = '2026-11-23';
    expect(presetRange('today', today)).toEqual({ from: '2026-11-23', to: '2026-11-23' });
    expect(presetRange('last7', today)).toEqual({ from: '2026-11-17', to: '2026-11-23' });
    expect(presetRange('thisMonth', today)).toEqual({ from: '2026-11-01', to: '2026-11-23' });
    expect(presetRange('lastMonth', today)).toEqual({ from: '2026-10-01', to: '2026-10-31' });
    expect(presetRange('last90', today)).toEqual({ from: '2026-08-26', to: '2026-11-23' });
    expect(presetRange('thisYear', today)).toEqual({ from: '2026-01-01', to: '2026-11-23' });
  });

  it('crosses year ends and leap days', () => {
    expect(presetRange('lastMonth', '2027-01-15')).toEqual({
      from: '2026-12-01',
      to: '2026-12-31',
    });
    expect(presetRange('lastMonth', '2028-03-01')).toEqual({
      from: '2028-02-01',
      to: '2028-02-29',
    });
    expect(presetRange('last7', '2027-01-03')).toEqual({ from: '2026-12-28', to: '2027-01-03' });
    expect(presetRange('thisMonth', '2026-12-01')).toEqual({
      from: '2026-12-01',
      to: '2026-12-01',
    });
  });

  it('counts last 7 and last 90 days with today included', () => {
    for (const [preset, days] of [
      ['last7', 7],
      ['last90', 90],
    ] as const) {
      const r = presetRange(preset, '2026-03-30');
      expect((Date.parse(r.to) - Date.parse(r.from)) / 86_400_000 + 1).toBe(days);
    }
  });

  it('recognises a range as the preset that makes it', () => {
    const today = '2026-11-23';
    for (const preset of PRESETS) expect(presetOf(presetRange(preset, today), today)).toBe(preset);
    expect(presetOf({ from: '2026-11-02', to: '2026-11-23' }, today)).toBeUndefined();
  });

  it('adds days across months', () => {
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  });

  it('refuses a reversed, missing or too long range', () => {
    expect(rangeProblem({ from: '2026-11-01', to: '2026-11-30' })).toBeUndefined();
    expect(rangeProblem({ from: '2026-12-01', to: '2026-11-30' })).toMatch(/after/);
    expect(rangeProblem({ from: '', to: '2026-11-30' })).toMatch(/both/);
    expect(rangeProblem({ from: '2025-01-01', to: '2026-01-01' })).toBeUndefined();
    expect(rangeProblem({ from: '2025-01-01', to: '2026-01-02' })).toMatch(/366/);
    expect(rangeProblem({ from: '2026-11-01', to: '2026-11-30' }, 7)).toMatch(/7 days/);
    expect(rangeProblem({ from: '2024-01-01', to: '2024-12-31' })).toBeUndefined();
  });
});

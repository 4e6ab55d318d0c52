import { describe, expect, it } from 'vitest';
import {
  calendarDateIn,
  formatAge,
  formatBucket,
  formatCount,
  formatCountdown,
  formatDateTime,
  formatIsoDate,
  formatPercent,
  formatPoints,
  formatRupees,
  formatRupeesSigned,
  zonedInstant,
} from './format.ts';

describe('numbers the Indian way', () => {
  it('groups lakhs and crores', () => {
    expect(formatCount(1234567)).toBe('12,34,567');
    expect(formatPoints(-1200)).toBe('-1,200');
    expect(formatPoints(250, true)).toBe('+250');
    expect(formatPoints(0, true)).toBe('0');
  });

  it('shows paise as rupees without a float', () => {
    expect(formatRupees(12345600)).toBe('₹1,23,456.00');
    expect(formatRupees(5)).toBe('₹0.05');
    expect(formatRupeesSigned(12345)).toBe('+₹123.45');
    expect(formatRupeesSigned(-12345)).toBe('-₹123.45');
    expect(formatRupees(9_007_199_254_740_991)).toBe('₹9,00,71,99,25,47,409.91');
  });

  it('shows a share, or a dash when there is no whole', () => {
    expect(formatPercent(1, 8)).toBe('12.5%');
    expect(formatPercent(1, 0)).toBe('—');
  });
});

describe('dates in the chain zone', () => {
  it('shows an instant in Asia/Kolkata', () => {
    expect(formatDateTime('2026-11-23T20:00:00Z')).toBe('24/11/2026 01:30');
    expect(formatDateTime(null)).toBe('');
    expect(formatDateTime('not a date')).toBe('');
    expect(calendarDateIn(new Date('2026-11-23T19:00:00Z'))).toBe('2026-11-24');
  });

  it('shows calendar dates and report buckets', () => {
    expect(formatIsoDate('2026-08-15')).toBe('15/08/2026');
    expect(formatBucket('2026-08-15')).toBe('15/08/2026');
    expect(formatBucket('2026-11')).toBe('Nov 2026');
    expect(formatBucket('2026-W47')).toBe('2026-W47');
  });

  it('reads a wall time in the zone as an instant with its offset', () => {
    expect(zonedInstant('2026-12-01T00:00')).toBe('2026-12-01T00:00:00+05:30');
    expect(zonedInstant('2026-07-01T09:30', 'Europe/London')).toBe('2026-07-01T09:30:00+01:00');
    expect(zonedInstant('2026-01-01T09:30', 'Europe/London')).toBe('2026-01-01T09:30:00+00:00');
    expect(zonedInstant('2026-12-01')).toBeUndefined();
    // The instant it names is that wall time in the zone.
    const instant = zonedInstant('2026-03-05T23:45', 'America/New_York') ?? '';
    expect(formatDateTime(instant, 'America/New_York')).toBe('05/03/2026 23:45');
  });

  it('says how long ago and how long is left', () => {
    const now = Date.parse('2026-11-23T10:00:00Z');
    expect(formatAge(null, now)).toBe('never');
    expect(formatAge('2026-11-23T09:59:30Z', now)).toBe('just now');
    expect(formatAge('2026-11-23T09:55:00Z', now)).toBe('5 min ago');
    expect(formatAge('2026-11-23T07:00:00Z', now)).toBe('3 h ago');
    expect(formatAge('2026-11-22T09:00:00Z', now)).toBe('1 day ago');
    expect(formatCountdown('2026-11-23T10:14:05Z', now)).toBe('14:05');
    expect(formatCountdown('2026-11-23T09:00:00Z', now)).toBe('0:00');
  });
});

import { describe, expect, it } from 'vitest';
import {
  addDays,
  ageOf,
  formatCountdown,
  formatDate,
  formatDateTime,
  formatPoints,
  formatIsoDate,
  formatTime,
  kolkataDate,
  parseIndianDate,
} from './format.ts';

describe('Indian dates in Asia/Kolkata', () => {
  it('shows dd/mm/yyyy in Kolkata time, whatever the machine zone', () => {
    // 20:00 UTC on 31 March is already 1 April in India (UTC+5:30).
    expect(formatDate('2025-03-31T20:00:00Z')).toBe('01/04/2025');
    expect(formatDateTime('2025-03-31T20:00:00Z')).toBe('01/04/2025 01:30');
    expect(formatTime('2025-11-23T08:30:00Z')).toBe('14:00');
    expect(formatDate('not a date')).toBe('');
  });

  it('gives the Kolkata calendar date for the ledger query, and adds days across months', () => {
    expect(kolkataDate(new Date('2025-12-31T18:45:00Z'))).toBe('2026-01-01');
    expect(addDays('2026-01-01', -90)).toBe('2025-10-03');
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
  });
});

describe('numbers and ages', () => {
  it('groups points the Indian way', () => {
    expect(formatPoints(123_456)).toBe('1,23,456');
    expect(formatPoints(0)).toBe('0');
  });

  it('says how long ago in the largest whole unit', () => {
    const now = Date.parse('2025-11-23T10:00:00Z');
    expect(ageOf(null, now)).toEqual({ unit: 'never' });
    expect(ageOf('2025-11-23T09:59:30Z', now)).toEqual({ unit: 'now' });
    expect(ageOf('2025-11-23T09:58:00Z', now)).toEqual({ unit: 'minutes', count: 2 });
    expect(ageOf('2025-11-23T07:00:00Z', now)).toEqual({ unit: 'hours', count: 3 });
    expect(ageOf('2025-11-20T10:00:00Z', now)).toEqual({ unit: 'days', count: 3 });
  });

  it('counts down in m:ss and stops at zero', () => {
    const now = Date.parse('2025-11-23T10:00:00Z');
    expect(formatCountdown('2025-11-23T10:04:05Z', now)).toBe('4:05');
    expect(formatCountdown('2025-11-23T09:00:00Z', now)).toBe('0:00');
  });
});

describe('dates typed at the counter', () => {
  it('reads dd/mm/yyyy with /, - or . and one or two digits', () => {
    expect(parseIndianDate('15/08/1990')).toBe('1990-08-15');
    expect(parseIndianDate(' 5-8-1990 ')).toBe('1990-08-05');
    expect(parseIndianDate('29.02.2024')).toBe('2024-02-29');
    expect(parseIndianDate('')).toBe('');
  });

  it('refuses dates that do not exist and other shapes', () => {
    expect(parseIndianDate('29/02/2023')).toBeUndefined();
    expect(parseIndianDate('31/04/2025')).toBeUndefined();
    expect(parseIndianDate('08/15/1990')).toBeUndefined();
    expect(parseIndianDate('1990-08-15')).toBeUndefined();
    expect(parseIndianDate('15/08/90')).toBeUndefined();
    expect(parseIndianDate('01/01/1800')).toBeUndefined();
  });

  it('writes a calendar date back the same way', () => {
    expect(formatIsoDate('2025-08-15')).toBe('15/08/2025');
    expect(parseIndianDate(formatIsoDate('2024-02-29'))).toBe('2024-02-29');
  });
});

import { describe, expect, it } from 'vitest';
import { formatRupees, parseRupees } from './money.ts';

describe('formatRupees', () => {
  it('groups the Indian way and keeps every paisa', () => {
    expect(formatRupees(12_345_600)).toBe('₹1,23,456.00');
    expect(formatRupees(1_00_00_000_05)).toBe('₹1,00,00,000.05');
    expect(formatRupees(0)).toBe('₹0.00');
    expect(formatRupees(-150)).toBe('-₹1.50');
    expect(formatRupees(9_007_199_254_740_991n)).toBe('₹9,00,71,99,25,47,409.91');
  });
});

describe('parseRupees', () => {
  it('reads rupees as typed into integer paise', () => {
    expect(parseRupees('1234')).toBe(123_400);
    expect(parseRupees('1,234.5')).toBe(123_450);
    expect(parseRupees('₹1,23,456.07')).toBe(12_345_607);
    expect(parseRupees('0.1')).toBe(10);
  });
  it('refuses what is not an amount', () => {
    for (const bad of ['', '-5', '1.234', '12a', '1e5', '100000000000'])
      expect(parseRupees(bad)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { maskMobile, normaliseMobile } from './mobile.ts';

describe('normaliseMobile', () => {
  it.each([
    ['9876543210', '+919876543210'],
    ['98765 43210', '+919876543210'],
    ['+91 98765-43210', '+919876543210'],
    ['09876543210', '+919876543210'],
    ['(+91) 6000012345', '+916000012345'],
  ])('reads %s as %s', (input, e164) => {
    expect(normaliseMobile(input)).toEqual({ ok: true, e164, country: 'IN' });
  });

  it.each([
    ['', 'malformed'],
    ['12345', 'malformed'],
    ['98765432101234', 'malformed'],
    ["9876543210' OR 1=1 --", 'malformed'],
    ['abcdefghij', 'malformed'],
    ['+1 415 555 2671', 'foreign-region'],
    ['+44 7911 123456', 'foreign-region'],
    ['5876543210', 'not-mobile'],
  ])('refuses %j as %s', (input, reason) => {
    const result = normaliseMobile(input);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toBe(reason);
      expect(result.message.length).toBeGreaterThan(10);
    }
  });

  it('refuses an Indian landline', () => {
    const result = normaliseMobile('+91 11 2345 6789');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toBe('not-mobile');
  });

  it('masks all but the last four digits', () => {
    expect(maskMobile('+919876543210')).toBe('+91 XXXXXX3210');
  });
});

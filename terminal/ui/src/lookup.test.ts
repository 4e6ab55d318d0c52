import { describe, expect, it } from 'vitest';
import { readLookup, suggestionQuery } from './lookup.ts';

describe('what the cashier typed in the member field', () => {
  it('reads a whole Indian mobile in the ways people write it', () => {
    for (const text of [
      '9812345678',
      '98123 45678',
      '098123-45678',
      '+91 98123 45678',
      '919812345678',
    ]) {
      expect(readLookup(text)).toEqual({
        kind: 'mobile',
        e164: '+919812345678',
        digits: '9812345678',
      });
    }
  });

  it('reads fewer digits (or a number that is not a mobile) as the last digits to match', () => {
    expect(readLookup('5678')).toEqual({ kind: 'digits', digits: '5678' });
    expect(readLookup('1812345678')).toEqual({ kind: 'digits', digits: '1812345678' });
    expect(readLookup('+44 7700 900123')).toEqual({ kind: 'digits', digits: '447700900123' });
  });

  it('reads letters as the start of a name', () => {
    expect(readLookup('  Asha   Rao ')).toEqual({ kind: 'name', prefix: 'Asha Rao' });
    expect(readLookup('')).toEqual({ kind: 'empty' });
  });

  it('asks the counter only once there is enough to match', () => {
    // The counter matches the last four or more digits of a mobile.
    expect(suggestionQuery(readLookup('981'))).toBeUndefined();
    expect(suggestionQuery(readLookup('9812'))).toBe('9812');
    expect(suggestionQuery(readLookup('A'))).toBeUndefined();
    expect(suggestionQuery(readLookup('As'))).toBe('As');
    expect(suggestionQuery(readLookup('+91 98123 45678'))).toBe('9812345678');
    expect(suggestionQuery(readLookup(' '))).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { tokenFromHash } from './token.ts';

describe('the token in the page address', () => {
  it('reads #token=… alone or among other fragment fields', () => {
    expect(tokenFromHash('#token=abc123')).toBe('abc123');
    expect(tokenFromHash('#lang=hi&token=a%2Bb')).toBe('a+b');
  });

  it('has none without the field or with an empty one', () => {
    expect(tokenFromHash('')).toBeUndefined();
    expect(tokenFromHash('#')).toBeUndefined();
    expect(tokenFromHash('#token=')).toBeUndefined();
    expect(tokenFromHash('#other=1')).toBeUndefined();
  });
});

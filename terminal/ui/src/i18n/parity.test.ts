import { describe, expect, it } from 'vitest';
import en from './en.json';
import hi from './hi.json';

function keysOf(tree: object, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) =>
    typeof value === 'object' && value !== null
      ? keysOf(value as object, `${prefix}${key}.`)
      : [`${prefix}${key}`],
  );
}

function valueAt(tree: object, key: string): unknown {
  return key
    .split('.')
    .reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], tree);
}

const placeholders = (text: string): string[] =>
  [...text.matchAll(/{{\s*(\w+)\s*}}/g)].map((m) => m[1] ?? '').sort();

describe('English and Hindi resources', () => {
  it('have the same keys', () => {
    expect(keysOf(hi).sort()).toEqual(keysOf(en).sort());
  });

  it('have no empty strings and the same placeholders in each string', () => {
    for (const key of keysOf(en)) {
      const english = valueAt(en, key);
      const hindi = valueAt(hi, key);
      expect(typeof english, key).toBe('string');
      expect(typeof hindi, key).toBe('string');
      expect((hindi as string).trim(), key).not.toBe('');
      expect(placeholders(hindi as string), key).toEqual(placeholders(english as string));
    }
  });

  it('write Hindi in Devanagari', () => {
    const hindi = keysOf(hi).map((key) => valueAt(hi, key) as string);
    const devanagari = hindi.filter((text) => /[\u0900-\u097F]/.test(text));
    // Only strings that are a placeholder or a number pattern may have no Devanagari at all.
    expect(hindi.filter((text) => !/[\u0900-\u097F]/.test(text))).toEqual(['98765 43210']);
    expect(devanagari.length).toBeGreaterThan(150);
  });
});

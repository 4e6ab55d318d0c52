import { describe, expect, it } from 'vitest';
import { runShortcut, shortcutOf, type KeyLike } from './keys.ts';

const press = (key: string, code: string, mods: Partial<KeyLike> = {}): KeyLike => ({
  key,
  code,
  ctrlKey: false,
  altKey: false,
  metaKey: false,
  ...mods,
});

describe('shortcut names', () => {
  it('names function keys, Escape and Ctrl+Enter', () => {
    expect(shortcutOf(press('F4', 'F4'))).toBe('F4');
    expect(shortcutOf(press('Escape', 'Escape'))).toBe('Escape');
    expect(shortcutOf(press('Enter', 'Enter', { ctrlKey: true }))).toBe('Ctrl+Enter');
  });

  it('names Alt letters by the physical key, whatever the layout types', () => {
    expect(shortcutOf(press('¬', 'KeyL', { altKey: true }))).toBe('Alt+L');
    expect(shortcutOf(press('l', 'KeyL'))).toBe('l');
  });

  it('runs the mapped action and reports whether it handled the key', () => {
    const calls: string[] = [];
    const map = {
      F9: () => {
        calls.push('complete');
        return true;
      },
      Escape: () => false,
    };
    expect(runShortcut(map, press('F9', 'F9'))).toBe(true);
    expect(runShortcut(map, press('Escape', 'Escape'))).toBe(false);
    expect(runShortcut(map, press('F2', 'F2'))).toBe(false);
    expect(calls).toEqual(['complete']);
  });
});

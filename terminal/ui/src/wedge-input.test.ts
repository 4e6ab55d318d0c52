import { describe, expect, it } from 'vitest';
import {
  createWedgeInputState,
  flushAtMs,
  flushWedgeInput,
  stepWedgeInput,
  type KeyPress,
  type WedgeInputState,
  type WedgeInputStep,
} from './wedge-input.ts';

/**
 * A model of the screen: one focused text field. A key that is not held lands in the field as
 * the browser would put it there (printable keys append, Backspace deletes, Enter "submits");
 * commands run as the screen runs them.
 */
class Field {
  value = '';
  submitted: string[] = [];
  scans: string[] = [];
  private snapshot: string | null = null;
  private state: WedgeInputState = createWedgeInputState();

  press(key: string, timeMs: number, extra: Partial<KeyPress> = {}): boolean {
    const step = stepWedgeInput(this.state, {
      key,
      timeMs,
      isRepeat: false,
      hasCommandModifier: false,
      ...extra,
    });
    this.run(step);
    if (!step.isHeld && extra.hasCommandModifier !== true) this.land(key);
    return step.isHeld;
  }

  /** Lets time pass as the screen's timer would. */
  idle(untilMs: number): void {
    const at = flushAtMs(this.state);
    if (at !== undefined && at <= untilMs) this.run(flushWedgeInput(this.state, at));
  }

  type(text: string, startMs: number, gapMs: number): number {
    return this.deliverLate(Array.from(text), startMs, gapMs, 0);
  }

  /**
   * Keys stamped `gapMs` apart that reach the screen `lagMs` after their stamps (a page busy
   * with something else); before each one, the screen's timer gets its chance to run.
   */
  deliverLate(keys: readonly string[], startMs: number, gapMs: number, lagMs: number): number {
    let time = startMs;
    for (const key of keys) {
      this.idle(time + lagMs);
      this.press(key, time, { seenAtMs: time + lagMs });
      time += gapMs;
    }
    return time;
  }

  private run(step: WedgeInputStep): void {
    this.state = step.state;
    for (const command of step.commands) {
      if (command.kind === 'snapshot') this.snapshot = this.value;
      else if (command.kind === 'restore') this.value = this.snapshot ?? this.value;
      else if (command.kind === 'insert') this.value += command.text;
      else this.scans.push(command.code);
    }
  }

  private land(key: string): void {
    if (key === 'Enter') this.submitted.push(this.value);
    else if (key === 'Backspace') this.value = this.value.slice(0, -1);
    else if (Array.from(key).length === 1) this.value += key;
  }
}

describe('keyboard-wedge scans in a focused field', () => {
  it('lets a mobile typed by hand through untouched, at once, and Enter submits it', () => {
    const field = new Field();
    const end = field.type('9812345678', 0, 120);
    expect(field.value).toBe('9812345678');
    expect(field.press('Enter', end)).toBe(false);
    expect(field.submitted).toEqual(['9812345678']);
    expect(field.scans).toEqual([]);
  });

  it('never delays a typed key: each one lands as it is pressed', () => {
    const field = new Field();
    field.press('9', 0);
    expect(field.value).toBe('9');
    field.press('8', 150);
    expect(field.value).toBe('98');
  });

  it('turns a fast burst ended by Enter into a scan and leaves the field as it was', () => {
    const field = new Field();
    field.type('98', 0, 200);
    const end = field.type('8901234567897', 1000, 8);
    expect(field.press('Enter', end)).toBe(true);
    expect(field.scans).toEqual(['8901234567897']);
    expect(field.value).toBe('98');
    expect(field.submitted).toEqual([]);
  });

  it('holds back every key of a burst from the moment it can only be a scan', () => {
    const field = new Field();
    const held = Array.from('ABC-12345').map((key, index) => field.press(key, index * 5));
    expect(held).toEqual([false, false, false, false, false, true, true, true, true]);
    expect(field.value).toBe('ABC-1');
  });

  it('ends a burst without a suffix on the quiet gap', () => {
    const field = new Field();
    const end = field.type('SLM1:42:3210', 0, 6);
    field.idle(end + 100);
    expect(field.scans).toEqual(['SLM1:42:3210']);
    expect(field.value).toBe('');
  });

  it('treats a short fast burst as typing (a rolled pair of keys)', () => {
    const field = new Field();
    field.press('4', 0);
    field.press('2', 15);
    field.idle(200);
    expect(field.value).toBe('42');
    expect(field.scans).toEqual([]);
  });

  it('treats a held key (auto-repeat) as typing', () => {
    const field = new Field();
    field.press('0', 0);
    for (let i = 1; i <= 8; i++) field.press('0', i * 30, { isRepeat: true });
    field.idle(1000);
    expect(field.value).toBe('000000000');
    expect(field.scans).toEqual([]);
  });

  it('types back held keys, in order, when a named key breaks a would-be scan', () => {
    const field = new Field();
    field.type('ABCDEFG', 0, 5);
    field.press('Backspace', 35);
    expect(field.value).toBe('ABCDEF');
    expect(field.scans).toEqual([]);
  });

  it('scans two codes in a row and keeps typing working between them', () => {
    const field = new Field();
    let time = field.type('1234567', 0, 5);
    field.press('Enter', time);
    time = field.type('77', time + 500, 200);
    const end = field.type('SKU-000042', time + 500, 5);
    field.press('Enter', end);
    expect(field.scans).toEqual(['1234567', 'SKU-000042']);
    expect(field.value).toBe('77');
  });

  it('treats a shortcut in the middle of a burst as the end of typing, not part of a code', () => {
    const field = new Field();
    field.type('ABC', 0, 5);
    const held = field.press('v', 20, { hasCommandModifier: true });
    expect(held).toBe(false);
    expect(field.value).toBe('ABC');
    field.idle(1000);
    expect(field.scans).toEqual([]);
  });

  it('ignores Shift between the characters of a scan', () => {
    const field = new Field();
    const keys = ['Shift', 'S', 'Shift', 'K', 'U', '-', '1', '2', '3'];
    keys.forEach((key, index) => field.press(key, index * 4));
    field.press('Enter', keys.length * 4);
    expect(field.scans).toEqual(['SKU-123']);
    expect(field.value).toBe('');
  });

  it('reads a scan whose keys all reach a busy page late as one scan, not typing', () => {
    const field = new Field();
    field.value = 'x';
    field.deliverLate([...Array.from('8901030865237'), 'Enter'], 1_000, 4, 120);
    expect(field.scans).toEqual(['8901030865237']);
    expect(field.value).toBe('x');
    expect(field.submitted).toEqual([]);
  });

  it('still ends a late burst on its quiet gap, and lets late typing through', () => {
    const field = new Field();
    const end = field.deliverLate(Array.from('SKU-123'), 0, 4, 120);
    field.idle(end + 120 + 36);
    expect(field.scans).toEqual(['SKU-123']);
    field.deliverLate(Array.from('98123'), 5_000, 120, 80);
    expect(field.value).toBe('98123');
    expect(field.scans).toEqual(['SKU-123']);
  });
});

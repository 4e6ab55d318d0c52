/**
 * Keyboard-wedge scanner detection: a pure reducer over key events, with no DOM or Node imports,
 * so the live screen and the tests run the same code.
 *
 * A wedge scanner "types" a code as a burst of keys a few milliseconds apart, usually followed by
 * Enter. People type with gaps of 80–300 ms (fast typists ~60 ms, with the odd 20 ms roll of two
 * keys). So: printable keys are held back while they keep arriving within `maxGapMs` of each
 * other; the held burst becomes a scan when it is at least `minLength` long and ends with a
 * terminator key or a quiet gap, and is otherwise handed back as typed keys, in order, so nothing
 * the cashier typed is lost. Typed keys are therefore released up to `maxGapMs` late: the screen
 * calls `flush(now)` on a timer (see `nextFlushAtMs`) to release them.
 */

/** One key press as the screen saw it: `key` as in `KeyboardEvent.key`, time in milliseconds. */
export type WedgeKeyEvent = {
  key: string;
  timeMs: number;
  /** `KeyboardEvent.repeat`: a held key. A burst containing one is typing, never a scan. */
  repeat?: boolean;
};

/** What the detector releases: a whole scan, or keys to apply as if typed. */
export type WedgeOutput =
  { kind: 'scan'; code: string; startMs: number; endMs: number } | { kind: 'keys'; keys: string[] };

/** Tuning for one scanner model; the defaults suit the common 1D/2D wedge scanners. */
export type WedgeOptions = {
  /** The fewest characters a scan has (EAN-8 is 8; short internal codes exist, hence 6). */
  minLength: number;
  /** The longest gap between two keys of one scan. */
  maxGapMs: number;
  /** Keys that end a scan and are swallowed with it (the scanner's suffix). */
  terminators: readonly string[];
  /** Whether a burst ended only by silence is a scan (scanners configured without a suffix). */
  shouldEndOnQuietGap: boolean;
};

/** The defaults: bursts of ≥ 6 characters, ≤ 35 ms apart, ended by Enter or silence. */
export const DEFAULT_WEDGE_OPTIONS: WedgeOptions = Object.freeze({
  minLength: 6,
  maxGapMs: 35,
  terminators: Object.freeze(['Enter']),
  shouldEndOnQuietGap: true,
});

/** The detector's state: the printable keys of the burst still being decided. */
export type WedgeState = { readonly pending: readonly WedgeKeyEvent[] };

/** A step's result: the next state and what to release now. */
export type WedgeStep = { state: WedgeState; outputs: WedgeOutput[] };

// Modifiers arrive as separate key events around shifted characters (a scanner sends Shift for
// each capital); the character event already carries the case, so they are neither text nor gap.
const MODIFIER_KEYS = new Set(['Shift', 'Control', 'Alt', 'AltGraph', 'Meta', 'CapsLock']);

/** The state before any key has been seen. */
export function createWedgeState(): WedgeState {
  return { pending: [] };
}

/** Feeds one key event; returns the next state and what it releases. Pure. */
export function stepWedge(
  state: WedgeState,
  event: WedgeKeyEvent,
  options: WedgeOptions = DEFAULT_WEDGE_OPTIONS,
): WedgeStep {
  if (MODIFIER_KEYS.has(event.key)) return { state, outputs: [] };
  const outputs: WedgeOutput[] = [];
  let pending = state.pending;
  const last = pending.at(-1);
  if (last !== undefined && event.timeMs - last.timeMs > options.maxGapMs) {
    // The burst went quiet before this key: decide it as a quiet-gap ending.
    outputs.push(...resolveQuiet(pending, options));
    pending = [];
  }
  if (options.terminators.includes(event.key)) {
    if (isScanBurst(pending, options)) {
      outputs.push(scanOf(pending));
    } else {
      outputs.push({ kind: 'keys', keys: [...keysOf(pending), event.key] });
    }
    return { state: { pending: [] }, outputs: mergeKeys(outputs) };
  }
  if (isPrintable(event.key)) {
    return { state: { pending: [...pending, event] }, outputs: mergeKeys(outputs) };
  }
  // Backspace, arrows, Escape…: no scanner sends these, so whatever is held was typed.
  outputs.push({ kind: 'keys', keys: [...keysOf(pending), event.key] });
  return { state: { pending: [] }, outputs: mergeKeys(outputs) };
}

/** Releases a held burst once `nowMs` is past its quiet gap; earlier it changes nothing. Pure. */
export function flushWedge(
  state: WedgeState,
  nowMs: number,
  options: WedgeOptions = DEFAULT_WEDGE_OPTIONS,
): WedgeStep {
  const last = state.pending.at(-1);
  if (last === undefined || nowMs - last.timeMs <= options.maxGapMs) {
    return { state, outputs: [] };
  }
  return { state: { pending: [] }, outputs: resolveQuiet(state.pending, options) };
}

/** When the screen should call `flush` next (undefined: nothing is held). */
export function nextFlushAtMs(
  state: WedgeState,
  options: WedgeOptions = DEFAULT_WEDGE_OPTIONS,
): number | undefined {
  const last = state.pending.at(-1);
  return last === undefined ? undefined : last.timeMs + options.maxGapMs + 1;
}

/** A stateful wrapper over the reducer for screens that prefer an object. */
export type WedgeDetector = {
  feed(event: WedgeKeyEvent): WedgeOutput[];
  flush(nowMs: number): WedgeOutput[];
  nextFlushAtMs(): number | undefined;
};

/** Creates a detector; options not given take the defaults. */
export function createWedgeDetector(options: Partial<WedgeOptions> = {}): WedgeDetector {
  const settings: WedgeOptions = { ...DEFAULT_WEDGE_OPTIONS, ...options };
  let state = createWedgeState();
  return {
    feed(event) {
      const step = stepWedge(state, event, settings);
      state = step.state;
      return step.outputs;
    },
    flush(nowMs) {
      const step = flushWedge(state, nowMs, settings);
      state = step.state;
      return step.outputs;
    },
    nextFlushAtMs() {
      return nextFlushAtMs(state, settings);
    },
  };
}

function resolveQuiet(pending: readonly WedgeKeyEvent[], options: WedgeOptions): WedgeOutput[] {
  if (pending.length === 0) return [];
  if (options.shouldEndOnQuietGap && isScanBurst(pending, options)) return [scanOf(pending)];
  return [{ kind: 'keys', keys: keysOf(pending) }];
}

// Every gap inside `pending` is already ≤ maxGapMs: a key arriving later ends the burst first.
function isScanBurst(pending: readonly WedgeKeyEvent[], options: WedgeOptions): boolean {
  if (pending.length < options.minLength) return false;
  if (pending.some((event) => event.repeat === true)) return false;
  // A held key auto-repeats at ~30 ms, as fast as a scanner; one character over and over is that.
  const first = pending[0]?.key;
  return pending.some((event) => event.key !== first);
}

function scanOf(pending: readonly WedgeKeyEvent[]): WedgeOutput {
  return {
    kind: 'scan',
    code: keysOf(pending).join(''),
    startMs: pending[0]?.timeMs ?? 0,
    endMs: pending.at(-1)?.timeMs ?? 0,
  };
}

function keysOf(pending: readonly WedgeKeyEvent[]): string[] {
  return pending.map((event) => event.key);
}

// `KeyboardEvent.key` is the character itself for printable keys and a name ("Enter") otherwise;
// the `u` flag makes `.` one code point, so a character outside the BMP still counts as one.
function isPrintable(key: string): boolean {
  return /^[^\p{Cc}]$/u.test(key);
}

function mergeKeys(outputs: WedgeOutput[]): WedgeOutput[] {
  const merged: WedgeOutput[] = [];
  for (const output of outputs) {
    const previous = merged.at(-1);
    if (output.kind === 'keys' && output.keys.length === 0) continue;
    if (output.kind === 'keys' && previous?.kind === 'keys') {
      previous.keys.push(...output.keys);
    } else {
      merged.push(output);
    }
  }
  return merged;
}

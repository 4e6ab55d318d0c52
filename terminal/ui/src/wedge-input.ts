import {
  DEFAULT_WEDGE_OPTIONS,
  createWedgeState,
  flushWedge,
  nextFlushAtMs,
  stepWedge,
  type WedgeKeyEvent,
  type WedgeOptions,
  type WedgeOutput,
  type WedgeState,
} from '../../devices/scanner/wedge.ts';

/**
 * Keyboard-wedge scans on a screen full of inputs, as a pure reducer over key presses.
 *
 * Typed keys are never delayed: every key reaches the focused field as usual until the burst it
 * belongs to can only be a scan (≥ minLength keys, each within maxGapMs, not one key repeated).
 * From then on the burst's keys are held back (the screen calls preventDefault), and when the
 * scan resolves the field is put back as it was before the burst's first key (a snapshot taken
 * then), which removes the few characters that got through. Held keys of a burst that turns
 * out not to be a scan after all (a Tab or Backspace in the middle of it) are typed back in.
 */

/** One keydown as the screen saw it. */
export type KeyPress = {
  key: string;
  timeMs: number;
  isRepeat: boolean;
  /** Ctrl, Alt or Meta held (not Shift, not AltGr): a shortcut, never part of a code. */
  hasCommandModifier: boolean;
  /**
   * When the screen got the key, on the same clock as timeMs (performance.now()); later than
   * timeMs when the page was busy and the key waited in the browser's queue. Absent: at once.
   */
  seenAtMs?: number;
};

/** What the screen does, in order, for one step. */
export type WedgeCommand =
  /** Remember the focused field as it is now: a burst starts with the key about to land in it. */
  | { kind: 'snapshot' }
  /** Put the field back as remembered: the burst was a scan. */
  | { kind: 'restore' }
  | { kind: 'scan'; code: string }
  /** Type these held-back keys into the focused field: the burst was typing after all. */
  | { kind: 'insert'; text: string };

export type WedgeInputState = {
  readonly wedge: WedgeState;
  /** How many keys of the held burst reached the field (the rest were held back). */
  readonly passed: number;
  /**
   * How late the last key reached the screen after its timeStamp. A quiet gap is judged on the
   * keys' own clock: a page that fell behind sees the next key that much later too, and must not
   * end a scan by its timer while the rest of the scan is still queued.
   */
  readonly lagMs: number;
};

export type WedgeInputStep = {
  state: WedgeInputState;
  /** Whether the screen must stop this key (preventDefault and stopPropagation). */
  isHeld: boolean;
  commands: WedgeCommand[];
};

export function createWedgeInputState(): WedgeInputState {
  return { wedge: createWedgeState(), passed: 0, lagMs: 0 };
}

/** Feeds one keydown. Pure. */
export function stepWedgeInput(
  state: WedgeInputState,
  press: KeyPress,
  options: WedgeOptions = DEFAULT_WEDGE_OPTIONS,
): WedgeInputStep {
  const event: WedgeKeyEvent = {
    // A shortcut (Ctrl+V, Alt+L) is a named key to the detector, so it ends any burst as typing.
    key: press.hasCommandModifier && !isModifierKey(press.key) ? `Command+${press.key}` : press.key,
    timeMs: press.timeMs,
    repeat: press.isRepeat,
  };
  const lagMs = Math.max(0, (press.seenAtMs ?? press.timeMs) - press.timeMs);
  const before = state.wedge.pending;
  const step = stepWedge(state.wedge, event, options);
  const after = step.state.pending;
  const commands = resolveOutputs(before, state.passed, step.outputs);
  const isHeldBack = after.at(-1) === event;
  if (!isHeldBack) {
    // Not part of a burst: a terminator, a named key, a modifier. Stop it only if it ended a scan.
    const hasEndedScan = step.outputs.some((output) => output.kind === 'scan');
    const isSwallowed = hasEndedScan && options.terminators.includes(event.key);
    const continues = after.length > 0 && after[0] === before[0];
    return {
      state: { wedge: step.state, passed: continues ? state.passed : 0, lagMs },
      isHeld: isSwallowed,
      commands,
    };
  }
  const isNewBurst = after.length === 1;
  if (isNewBurst) commands.push({ kind: 'snapshot' });
  const passed = isNewBurst ? 0 : state.passed;
  // Once one key of a burst is held, the rest are too, so keys never arrive out of order.
  const isHeld = passed < after.length - 1 || isCertainScan(after, options);
  return {
    state: { wedge: step.state, passed: isHeld ? passed : passed + 1, lagMs },
    isHeld,
    commands,
  };
}

/** Releases a burst gone quiet; call it at `flushAtMs` (the screen's clock). Pure. */
export function flushWedgeInput(
  state: WedgeInputState,
  nowMs: number,
  options: WedgeOptions = DEFAULT_WEDGE_OPTIONS,
): WedgeInputStep {
  const step = flushWedge(state.wedge, nowMs - state.lagMs, options);
  if (step.outputs.length === 0) return { state, isHeld: false, commands: [] };
  return {
    state: { wedge: step.state, passed: 0, lagMs: state.lagMs },
    isHeld: false,
    commands: resolveOutputs(state.wedge.pending, state.passed, step.outputs),
  };
}

/** When to call flush next, on the screen's clock; undefined when nothing is held. */
export function flushAtMs(
  state: WedgeInputState,
  options: WedgeOptions = DEFAULT_WEDGE_OPTIONS,
): number | undefined {
  const at = nextFlushAtMs(state.wedge, options);
  return at === undefined ? undefined : at + state.lagMs;
}

/**
 * The detector's verdict on the burst that was pending before this step: a scan restores the
 * field; typing types back whatever of it was held. At most one burst resolves per step.
 */
function resolveOutputs(
  before: readonly WedgeKeyEvent[],
  passed: number,
  outputs: readonly WedgeOutput[],
): WedgeCommand[] {
  const commands: WedgeCommand[] = [];
  const scan = outputs.find((output) => output.kind === 'scan');
  if (scan) {
    commands.push({ kind: 'restore' }, { kind: 'scan', code: scan.code });
    return commands;
  }
  const isResolvedAsKeys = outputs.some((output) => output.kind === 'keys') && before.length > 0;
  const held = before.slice(passed).map((event) => event.key);
  if (isResolvedAsKeys && held.length > 0) commands.push({ kind: 'insert', text: held.join('') });
  return commands;
}

// Mirrors the detector's own test: such a burst ends as a scan unless a named key breaks it.
function isCertainScan(pending: readonly WedgeKeyEvent[], options: WedgeOptions): boolean {
  if (pending.length < options.minLength) return false;
  if (pending.some((event) => event.repeat === true)) return false;
  const first = pending[0]?.key;
  return pending.some((event) => event.key !== first);
}

const MODIFIER_KEYS = new Set(['Shift', 'Control', 'Alt', 'AltGraph', 'Meta', 'CapsLock']);

function isModifierKey(key: string): boolean {
  return MODIFIER_KEYS.has(key);
}

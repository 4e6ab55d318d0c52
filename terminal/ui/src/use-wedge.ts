import { useEffect, useEffectEvent } from 'react';
import {
  createWedgeInputState,
  flushAtMs,
  flushWedgeInput,
  stepWedgeInput,
  type WedgeCommand,
  type WedgeInputStep,
} from './wedge-input.ts';

type FieldSnapshot =
  | {
      kind: 'text';
      element: HTMLInputElement | HTMLTextAreaElement;
      value: string;
      start: number | null;
      end: number | null;
    }
  | { kind: 'select'; element: HTMLSelectElement; value: string };

/**
 * Watches every keydown on the page (capture phase, before any field) for keyboard-wedge scans
 * and hands each scanned code to `onScan`. See wedge-input.ts for how typing stays untouched.
 */
export function useWedgeScanner(onScan: (code: string) => void): void {
  const handleScan = useEffectEvent(onScan);

  useEffect(() => {
    let state = createWedgeInputState();
    let snapshot: FieldSnapshot | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;

    function run(step: WedgeInputStep): void {
      state = step.state;
      for (const command of step.commands) apply(command);
      schedule();
    }

    function apply(command: WedgeCommand): void {
      switch (command.kind) {
        case 'snapshot':
          snapshot = takeSnapshot(document.activeElement);
          break;
        case 'restore':
          if (snapshot) restoreSnapshot(snapshot);
          snapshot = null;
          break;
        case 'insert':
          insertText(document.activeElement, command.text);
          break;
        case 'scan':
          handleScan(command.code);
          break;
      }
    }

    function schedule(): void {
      clearTimeout(timer);
      const at = flushAtMs(state);
      if (at === undefined) return;
      timer = setTimeout(
        () => {
          run(flushWedgeInput(state, performance.now()));
        },
        Math.max(0, at - performance.now()),
      );
    }

    function onKeyDown(event: KeyboardEvent): void {
      if (event.isComposing) return;
      const step = stepWedgeInput(state, {
        key: event.key,
        // Same clock as performance.now(), which the flush timer uses.
        timeMs: event.timeStamp,
        seenAtMs: performance.now(),
        isRepeat: event.repeat,
        hasCommandModifier:
          (event.ctrlKey || event.altKey || event.metaKey) && !event.getModifierState('AltGraph'),
      });
      if (step.isHeld) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
      run(step);
    }

    window.addEventListener('keydown', onKeyDown, { capture: true });
    return () => {
      window.removeEventListener('keydown', onKeyDown, { capture: true });
      clearTimeout(timer);
    };
  }, []);
}

function takeSnapshot(element: Element | null): FieldSnapshot | null {
  if (element instanceof HTMLInputElement || element instanceof HTMLTextAreaElement) {
    return {
      kind: 'text',
      element,
      value: element.value,
      start: selectionOf(element, 'start'),
      end: selectionOf(element, 'end'),
    };
  }
  if (element instanceof HTMLSelectElement) {
    return { kind: 'select', element, value: element.value };
  }
  return null;
}

// Some input types (date, number) have no selection and throw when asked for one.
function selectionOf(
  element: HTMLInputElement | HTMLTextAreaElement,
  which: 'start' | 'end',
): number | null {
  try {
    return which === 'start' ? element.selectionStart : element.selectionEnd;
  } catch {
    return null;
  }
}

/** Sets a field's value so that React sees a change (the prototype's setter, then an event). */
function restoreSnapshot(snapshot: FieldSnapshot): void {
  const { element } = snapshot;
  if (element.value === snapshot.value) return;
  // React watches `value` on the element itself; the prototype's setter goes around it.
  const prototype = Object.getPrototypeOf(element) as object;
  if (!Reflect.set(prototype, 'value', snapshot.value, element)) element.value = snapshot.value;
  element.dispatchEvent(
    new Event(snapshot.kind === 'select' ? 'change' : 'input', { bubbles: true }),
  );
  if (snapshot.kind === 'text' && snapshot.start !== null && snapshot.end !== null) {
    try {
      snapshot.element.setSelectionRange(snapshot.start, snapshot.end);
    } catch {
      // No selection on this input type.
    }
  }
}

/** Types text into the focused field at its caret, as the keys would have. */
function insertText(element: Element | null, text: string): void {
  if (!(element instanceof HTMLInputElement || element instanceof HTMLTextAreaElement)) return;
  const start = selectionOf(element, 'start');
  const end = selectionOf(element, 'end');
  if (start === null || end === null) return;
  element.setRangeText(text, start, end, 'end');
  element.dispatchEvent(new Event('input', { bubbles: true }));
}

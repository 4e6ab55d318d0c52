import type { Page } from 'playwright-core';

/** A USB keyboard-wedge scanner sends a key every 1–10 ms; the counter's detector allows 35. */
export const SCANNER_KEY_GAP_MS = 4;

/**
 * Sends `code` and Enter to the page as a keyboard-wedge scanner does.
 *
 * A scanner's keys carry the time the operating system received them, a few milliseconds apart,
 * however busy the machine is when the page gets round to them. Playwright's keyboard.type sends
 * a key only once the page has handled the one before, so on a loaded machine its keys reach the
 * page tens of milliseconds apart and the detector rightly reads them as typing. Here every key
 * is stamped (Input.dispatchKeyEvent's `timestamp`, which the page sees as event.timeStamp)
 * `gapMs` after the one before, and all are sent without waiting for the page.
 */
export async function scanAsWedge(
  page: Page,
  code: string,
  gapMs = SCANNER_KEY_GAP_MS,
): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const startSeconds = Date.now() / 1000;
    const sends: Promise<unknown>[] = [];
    // Barcode symbologies carry ASCII only: one character is one key.
    Array.from(`${code}\r`).forEach((char, i) => {
      const key = keyOf(char);
      const timestamp = startSeconds + (i * gapMs) / 1000;
      sends.push(
        cdp.send('Input.dispatchKeyEvent', { type: 'keyDown', timestamp, text: char, ...key }),
        cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', timestamp: timestamp + 0.001, ...key }),
      );
    });
    await Promise.all(sends);
  } finally {
    // A failed send is the error to report, not a failed detach after it.
    await cdp.detach().catch(() => undefined);
  }
}

type KeyFields = { key: string; code?: string; windowsVirtualKeyCode?: number; modifiers?: number };

const SHIFT = 8;

function keyOf(char: string): KeyFields {
  if (char === '\r') return { key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13 };
  if (/^[0-9]$/.test(char)) {
    return { key: char, code: `Digit${char}`, windowsVirtualKeyCode: char.charCodeAt(0) };
  }
  if (/^[a-zA-Z]$/.test(char)) {
    const upper = char.toUpperCase();
    return {
      key: char,
      code: `Key${upper}`,
      windowsVirtualKeyCode: upper.charCodeAt(0),
      ...(char === upper ? { modifiers: SHIFT } : {}),
    };
  }
  // Punctuation in a code (Code 128 allows it): the character is the key.
  return { key: char };
}

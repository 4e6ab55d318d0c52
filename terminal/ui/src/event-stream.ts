import { createSseParser, decodeCounterEvent } from './sse.ts';
import type { CounterEvent } from './types.ts';

/** Whether the screen is hearing the counter's events, or waiting to try again. */
export type StreamState = 'connecting' | 'open' | 'retrying';

export type EventStreamOptions = {
  url: string;
  headers: () => Record<string, string>;
  onEvent: (event: CounterEvent) => void;
  onState: (state: StreamState) => void;
  fetchImpl?: typeof fetch;
  /** Wait before the attempt'th retry (0-based). */
  backoffMs?: (attempt: number) => number;
};

/** 0.5 s, 1 s, 2 s, 4 s, 8 s, then every 10 s: the core is on loopback, so it is back soon. */
export function backoffMs(attempt: number): number {
  return Math.min(10_000, 500 * 2 ** Math.max(0, Math.min(attempt, 10)));
}

/**
 * Reads GET /api/events with fetch (EventSource cannot send the token header) and reconnects
 * with backoff whenever the stream drops. Returns a function that stops it for good.
 */
export function openEventStream(options: EventStreamOptions): () => void {
  const fetchImpl = options.fetchImpl ?? fetch.bind(globalThis);
  const wait = options.backoffMs ?? backoffMs;
  const controller = new AbortController();
  const { signal } = controller;

  /** Reads the stream until it ends or fails; true when the counter accepted it at all. */
  async function readOnce(): Promise<boolean> {
    let isOpened = false;
    try {
      const response = await fetchImpl(options.url, {
        headers: { Accept: 'text/event-stream', ...options.headers() },
        cache: 'no-store',
        signal,
      });
      if (!response.ok || response.body === null) {
        await response.body?.cancel();
        return false;
      }
      isOpened = true;
      options.onState('open');
      const parser = createSseParser();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const message of parser.push(value)) {
          const event = decodeCounterEvent(message.data);
          if (event) options.onEvent(event);
        }
      }
    } catch {
      // A dropped connection or a refused one: both mean try again shortly.
    }
    return isOpened;
  }

  // A function, not a property read: the signal changes while this code awaits.
  const isStopped = (): boolean => signal.aborted;

  async function run(): Promise<void> {
    let attempt = 0;
    options.onState('connecting');
    while (!isStopped()) {
      const wasOpened = await readOnce();
      if (isStopped()) return;
      // A stream that opened and then dropped starts its backoff afresh.
      if (wasOpened) attempt = 0;
      options.onState('retrying');
      await sleep(wait(attempt), signal);
      attempt += 1;
    }
  }

  void run();
  return () => {
    controller.abort();
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

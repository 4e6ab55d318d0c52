import { afterEach, describe, expect, it } from 'vitest';
import { backoffMs, openEventStream, type StreamState } from './event-stream.ts';
import type { CounterEvent } from './types.ts';

/**
 * A counter as fetch sees it: each request gets a real Response whose body is a web stream the
 * test writes to (and ends), so the reader meets chunking and drops as it would on a socket.
 */
function fakeCounter(): {
  fetchImpl: typeof fetch;
  auth: string[];
  streams: ReadableStreamDefaultController<Uint8Array>[];
} {
  const auth: string[] = [];
  const streams: ReadableStreamDefaultController<Uint8Array>[] = [];
  const fetchImpl = ((_url: RequestInfo | URL, init?: RequestInit) => {
    auth.push(new Headers(init?.headers).get('Authorization') ?? '');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        streams.push(controller);
      },
    });
    init?.signal?.addEventListener('abort', () => {
      try {
        streams.at(-1)?.error(new DOMException('aborted', 'AbortError'));
      } catch {
        // Already closed.
      }
    });
    return Promise.resolve(
      new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }),
    );
  }) as typeof fetch;
  return { fetchImpl, auth, streams };
}

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (check()) resolve();
      else if (Date.now() - start > timeoutMs) reject(new Error('timed out'));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('openEventStream', () => {
  it('sends the token, delivers events, and reconnects after the stream drops', async () => {
    const counter = fakeCounter();
    const events: CounterEvent[] = [];
    const states: StreamState[] = [];
    const stop = openEventStream({
      url: '/api/events',
      headers: () => ({ Authorization: 'Bearer t0ken' }),
      onEvent: (event) => events.push(event),
      onState: (state) => states.push(state),
      fetchImpl: counter.fetchImpl,
      backoffMs: () => 10,
    });
    cleanups.push(stop);
    await until(() => counter.streams.length === 1);
    const first = counter.streams[0];
    // A multi-byte character split across two chunks must survive decoding.
    const bytes = encode(
      'event: member\ndata: {"type":"member","mobile":"+919800000001","n":"₹"}\n\n',
    );
    const middleOfRupee = bytes.indexOf(0xe2) + 1;
    first?.enqueue(bytes.slice(0, middleOfRupee));
    first?.enqueue(bytes.slice(middleOfRupee));
    first?.close();
    await until(() => counter.streams.length === 2);
    counter.streams[1]?.enqueue(encode(': keep-alive\n\n'));
    counter.streams[1]?.enqueue(encode('data: {"type":"member","mobile":"+919800000002"}\n\n'));
    await until(() => events.length === 2);
    expect(events).toEqual([
      { type: 'member', mobile: '+919800000001', n: '₹' },
      { type: 'member', mobile: '+919800000002' },
    ]);
    expect(counter.auth).toEqual(['Bearer t0ken', 'Bearer t0ken']);
    expect(states).toEqual(['connecting', 'open', 'retrying', 'open']);
  });

  it('reconnects after a stream fails with an error, too', async () => {
    const counter = fakeCounter();
    const stop = openEventStream({
      url: '/api/events',
      headers: () => ({}),
      onEvent: () => undefined,
      onState: () => undefined,
      fetchImpl: counter.fetchImpl,
      backoffMs: () => 5,
    });
    cleanups.push(stop);
    await until(() => counter.streams.length === 1);
    counter.streams[0]?.error(new TypeError('network error'));
    await until(() => counter.streams.length === 2);
    expect(counter.streams).toHaveLength(2);
  });

  it('keeps retrying while the counter is down, and stops for good when asked', async () => {
    let calls = 0;
    const stop = openEventStream({
      url: 'http://127.0.0.1:9/api/events',
      headers: () => ({}),
      onEvent: () => undefined,
      onState: () => undefined,
      fetchImpl: () => {
        calls += 1;
        return Promise.reject(new TypeError('connection refused'));
      },
      backoffMs: () => 5,
    });
    await until(() => calls >= 3);
    stop();
    const seen = calls;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toBeLessThanOrEqual(seen + 1);
  });
});

describe('backoffMs', () => {
  it('doubles from half a second up to ten seconds', () => {
    expect([0, 1, 2, 3, 4, 5, 50].map(backoffMs)).toEqual([
      500, 1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
  });
});

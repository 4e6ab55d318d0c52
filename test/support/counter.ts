import { expect } from 'vitest';
import { hashSecret } from '../../shared/secret-hash.ts';
import type { CounterEvent } from '../../terminal/server/contract.ts';
import { createSseParser, decodeCounterEvent } from '../../terminal/ui/src/sse.ts';
import type { TestCentral } from './central.ts';

/** Staff PINs the counter tests sign in with. */
export const PINS = {
  admin: '2468',
  'mum.cashier': '4321',
  'mum.manager': '8765',
  'del.cashier': '1111',
} as const;

/** A few catalogue items with valid EAN-13 check digits. */
export const PRODUCTS = [
  { sku: '8901030865237', name: 'Philips 9W LED bulb', categoryCode: 'ELEC' },
  { sku: '8906002170128', name: 'Bajaj mixer grinder 750W', categoryCode: 'APPL' },
  { sku: '9788193245705', name: 'NCERT Physics Class 12', categoryCode: 'BOOK' },
] as const;

/** Gives the fixture's staff PINs and puts the test catalogue in central. */
export async function prepareCounterData(c: TestCentral): Promise<void> {
  for (const [username, pin] of Object.entries(PINS)) {
    await c.central.db
      .knex('staff')
      .where({ username })
      .update({ pin_hash: await hashSecret(pin) });
  }
  const put = await c.request('PUT', '/api/products', {
    token: c.tokens.admin,
    body: { products: PRODUCTS },
  });
  expect(put.status, JSON.stringify(put.body)).toBe(200);
}

/** A client of a counter's local API, as the UI or the billing software calls it. */
export class CounterClient {
  readonly url: string;
  readonly token: string;
  session: string | undefined;

  constructor(url: string, token: string) {
    this.url = url.replace(/\/$/, '');
    this.token = token;
  }

  // any: tests read bodies of many routes and assert the fields they use.
  async call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: any; headers: Headers }> {
    const response = await fetch(this.url + path, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(this.session ? { 'x-staff-session': this.session } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: the test sees the text
    }
    return { status: response.status, body: parsed, headers: response.headers };
  }

  async signIn(username: keyof typeof PINS): Promise<void> {
    const answer = await this.call('POST', '/api/session', { username, pin: PINS[username] });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    this.session = answer.body.session;
  }

  /**
   * Opens the event stream; resolves once connected (the first status event came), with a way
   * to wait for later events. Every event is kept, so none is missed between waits.
   */
  async openEvents(): Promise<{
    next<T extends CounterEvent['type']>(
      type: T,
      ms?: number,
    ): Promise<Extract<CounterEvent, { type: T }>>;
    close(): void;
  }> {
    const controller = new AbortController();
    const response = await fetch(`${this.url}/api/events`, {
      headers: { authorization: `Bearer ${this.token}` },
      signal: controller.signal,
    });
    if (!response.body) throw new Error('no event stream');
    const events: CounterEvent[] = [];
    const waiters = new Set<() => void>();
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    // The screens' own event-stream parser (terminal/ui/src/sse.ts), so the test reads what they read.
    const parser = createSseParser();
    void (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const message of parser.push(decoder.decode(value, { stream: true }))) {
            const event = decodeCounterEvent(message.data);
            if (event) events.push(event);
          }
          for (const w of waiters) w();
        }
      } catch {
        // aborted by close()
      }
    })();
    const next = <T extends CounterEvent['type']>(
      type: T,
      ms = 5_000,
    ): Promise<Extract<CounterEvent, { type: T }>> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const index = events.findIndex((e) => e.type === type);
          if (index < 0) return;
          const [found] = events.splice(index, 1);
          done();
          resolve(found as Extract<CounterEvent, { type: T }>);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${type} event from the counter within ${ms} ms`));
        }, ms);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    await next('status');
    return {
      next,
      close: () => {
        controller.abort();
      },
    };
  }
}

import { describe, expect, it } from 'vitest';
import { ApiFailure, createApi, UNREACHABLE } from './api.ts';

type Seen = { url: string; init: RequestInit | undefined };

function fakeCounter(answer: (url: string) => Response): { seen: Seen[]; fetchImpl: typeof fetch } {
  const seen: Seen[] = [];
  const fetchImpl = ((input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    seen.push({ url, init });
    return Promise.resolve(answer(url));
  }) as typeof fetch;
  return { seen, fetchImpl };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });

describe('the counter API client', () => {
  it('sends the token, the staff session once there is one, and URL-encodes the mobile', async () => {
    let session: string | null = null;
    const { seen, fetchImpl } = fakeCounter(() => json(200, { mobile: '+919812345678' }));
    const api = createApi({
      token: 'tok',
      session: () => session,
      onSignedOut: () => undefined,
      fetchImpl,
    });
    await api.staff();
    session = 's1';
    await api.member('+919812345678');
    expect(seen[0]?.init?.headers).toMatchObject({ Authorization: 'Bearer tok' });
    expect(seen[0]?.init?.headers).not.toHaveProperty('X-Staff-Session');
    expect(seen[1]?.url).toBe('/api/members/%2B919812345678');
    expect(seen[1]?.init?.headers).toMatchObject({
      Authorization: 'Bearer tok',
      'X-Staff-Session': 's1',
    });
  });

  it('posts JSON bodies', async () => {
    const { seen, fetchImpl } = fakeCounter(() => json(200, { session: 'x', staff: {} }));
    const api = createApi({
      token: 't',
      session: () => null,
      onSignedOut: () => undefined,
      fetchImpl,
    });
    await api.signIn('asha', '1234');
    expect(seen[0]?.init?.method).toBe('POST');
    expect(seen[0]?.init?.body).toBe('{"username":"asha","pin":"1234"}');
    expect(seen[0]?.init?.headers).toMatchObject({ 'Content-Type': 'application/json' });
  });

  it('turns {code, message} refusals into ApiFailure, with Retry-After when sent', async () => {
    const { fetchImpl } = fakeCounter(() =>
      json(429, { code: 'locked', message: 'Too many wrong PINs' }, { 'Retry-After': '240' }),
    );
    const api = createApi({
      token: 't',
      session: () => null,
      onSignedOut: () => undefined,
      fetchImpl,
    });
    const failure = await api.signIn('asha', '0000').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApiFailure);
    expect(failure).toMatchObject({
      status: 429,
      code: 'locked',
      message: 'Too many wrong PINs',
      retryAfterSeconds: 240,
    });
  });

  it('calls onSignedOut for 401 signed-out only', async () => {
    let signedOut = 0;
    const answers = [
      json(401, { code: 'wrong-pin', message: 'Wrong name or PIN' }),
      json(401, { code: 'signed-out', message: 'Sign in' }),
    ];
    const { fetchImpl } = fakeCounter(() => answers.shift() ?? json(500, {}));
    const api = createApi({
      token: 't',
      session: () => 's',
      onSignedOut: () => (signedOut += 1),
      fetchImpl,
    });
    await api.signIn('a', '1111').catch(() => undefined);
    expect(signedOut).toBe(0);
    await api.catalogue().catch(() => undefined);
    expect(signedOut).toBe(1);
  });

  it('keeps the status line when a refusal is not JSON, and names an unreachable counter', async () => {
    const { fetchImpl } = fakeCounter(
      () => new Response('<html>bad gateway</html>', { status: 502 }),
    );
    const api = createApi({
      token: 't',
      session: () => null,
      onSignedOut: () => undefined,
      fetchImpl,
    });
    await expect(api.status()).rejects.toMatchObject({ status: 502, code: 'http-502' });
    const down = createApi({
      token: 't',
      session: () => null,
      onSignedOut: () => undefined,
      fetchImpl: () => Promise.reject(new TypeError('fetch failed')),
    });
    await expect(down.status()).rejects.toMatchObject({ status: 0, code: UNREACHABLE });
  });

  it('accepts an empty answer', async () => {
    const { fetchImpl } = fakeCounter(() => new Response(null, { status: 204 }));
    const api = createApi({
      token: 't',
      session: () => 's',
      onSignedOut: () => undefined,
      fetchImpl,
    });
    await expect(api.signOut()).resolves.toBeUndefined();
  });
});

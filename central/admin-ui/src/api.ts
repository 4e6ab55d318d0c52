import { ApiProblem, problemOf, UNREACHABLE } from './problem.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * The console's one way to central: same origin, the session cookie, and the CSRF token on every
 * request that changes something. A 401 anywhere but sign-in means the session ended.
 */
class Client {
  private csrfToken: string | null = null;
  private signedOut: () => void = () => undefined;

  setCsrfToken(token: string | null): void {
    this.csrfToken = token;
  }

  onSignedOut(handler: () => void): void {
    this.signedOut = handler;
  }

  async request<T>(
    method: Method,
    path: string,
    body?: unknown,
    options: { signal?: AbortSignal; headers?: Record<string, string>; quiet401?: boolean } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && this.csrfToken !== null) headers['X-CSRF-Token'] = this.csrfToken;
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        credentials: 'same-origin',
        cache: 'no-store',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'AbortError') throw error;
      throw new ApiProblem({
        status: 0,
        code: UNREACHABLE,
        title: 'Central is not answering',
        detail: 'Central is not answering; check the network and try again.',
      });
    }
    const text = await response.text();
    if (!response.ok) {
      const problem = problemOf(
        response.status,
        response.statusText,
        text,
        response.headers.get('Retry-After'),
      );
      if (response.status === 401 && options.quiet401 !== true) this.signedOut();
      throw problem;
    }
    // Central validates what it sends against the protocol's schemas; this side trusts it.
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }
}

export const client = new Client();

export const get = <T>(path: string, signal?: AbortSignal): Promise<T> =>
  client.request<T>('GET', path, undefined, signal ? { signal } : {});
export const post = <T>(path: string, body: unknown = {}, headers?: Record<string, string>) =>
  client.request<T>('POST', path, body, headers ? { headers } : {});
export const put = <T>(path: string, body: unknown) => client.request<T>('PUT', path, body);
export const patch = <T>(path: string, body: unknown) => client.request<T>('PATCH', path, body);
export const del = <T>(path: string) => client.request<T>('DELETE', path);

/** A path segment, escaped. */
export const seg = encodeURIComponent;

/**
 * A fresh Idempotency-Key for one operation (a retry of the same click reuses it). Built from
 * getRandomValues: randomUUID needs a secure context, and central may be served over plain HTTP
 * on the office network.
 */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `console-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

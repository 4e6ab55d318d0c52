import type { SendResult } from '../provider.ts';

/** A send that did not go through, as the outbox worker receives it. */
export type SendFailure = Extract<SendResult, { ok: false }>;

/** What a gateway answered over HTTP, or why nothing usable came back. */
export type GatewayAnswer = { ok: true; status: number; body: string } | SendFailure;

/** How long a gateway may take to answer one request when its config does not say. */
export const DEFAULT_TIMEOUT_MS = 10_000;

// Long enough for a gateway's code and message, short enough for a log line and a cashier's screen.
const ERROR_MAX_CHARS = 300;

/** A failure whose error names the gateway and fits on one line of at most ~300 characters. */
export function fail(gateway: string, retryable: boolean, detail: string): SendFailure {
  return { ok: false, retryable, error: toOneLine(`${gateway}: ${detail}`, ERROR_MAX_CHARS) };
}

/** Collapses whitespace (newlines included) and cuts the text to `maxChars`. */
export function toOneLine(text: string, maxChars: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= maxChars ? flat : `${flat.slice(0, maxChars - 1)}…`;
}

/** True for statuses after which the same request may succeed later: 408, 429 and 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The request an adapter wants sent; `body` is already encoded for its content type. */
export interface GatewayRequest {
  method: 'GET' | 'POST';
  headers: Headers;
  body?: string;
  timeoutMs: number;
}

/**
 * Sends one request and reads the whole answer. Never throws: a timeout, a refused or dropped
 * connection, or a body cut short becomes a retryable failure. The URL is never put in an
 * error, because generic gateways carry their keys in the query string.
 */
export async function exchange(
  gateway: string,
  url: URL,
  request: GatewayRequest,
): Promise<GatewayAnswer> {
  const signal = AbortSignal.timeout(request.timeoutMs);
  try {
    const response = await fetch(url, {
      method: request.method,
      headers: request.headers,
      body: request.body ?? null,
      signal,
      // A followed redirect would turn a POST into a GET without its body; report it instead.
      redirect: 'manual',
    });
    const body = await response.text();
    return { ok: true, status: response.status, body };
  } catch (error) {
    if (signal.aborted) {
      return {
        ...fail(gateway, true, `no answer within ${request.timeoutMs} ms (timed out)`),
        maybeSent: true,
      };
    }
    const failure = fail(gateway, true, `request failed: ${describeNetworkError(error)}`);
    return neverConnected(error) ? failure : { ...failure, maybeSent: true };
  }
}

/** The innermost cause of a fetch failure, e.g. "other side closed (UND_ERR_SOCKET)". */
function describeNetworkError(error: unknown): string {
  let current: unknown = error;
  // undici wraps the socket error in TypeError('fetch failed'); the useful words are inside.
  for (let depth = 0; depth < 5 && current instanceof Error && current.cause; depth += 1) {
    current = current.cause;
  }
  if (!(current instanceof Error)) return String(current);
  const code = (current as NodeJS.ErrnoException).code;
  return code && !current.message.includes(code) ? `${current.message} (${code})` : current.message;
}

/** Reads a JSON object from a body, or undefined when the body is not one. */
export function parseJsonObject(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** A field of a parsed JSON answer as text, for error messages; undefined when absent. */
export function textField(
  object: Record<string, unknown> | undefined,
  key: string,
): string | undefined {
  const value = object?.[key];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** E.164 as the adapters accept it: a plus and 8 to 15 digits, the first not zero. */
export const E164 = /^\+[1-9]\d{7,14}$/;

/** Errors that mean the request never left this machine: sending again cannot duplicate it. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function neverConnected(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code && NOT_SENT.has(code)) return true;
    current = current.cause;
  }
  return false;
}

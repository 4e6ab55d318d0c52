/**
 * A configurable adapter for the many Indian gateways with a "sendhttp"-style API: one request
 * per message, parameters in the query string, a form body or a JSON body, success told by the
 * status and a pattern in the answer. Placeholders in the template are replaced in already
 * parsed values (form pairs or JSON strings), and only then encoded, so a value can never break
 * out of its field whatever characters it holds.
 */
import type { SendResult, SmsMessage, SmsProvider } from '../provider.ts';
import { DEFAULT_TIMEOUT_MS, exchange, fail, isRetryableStatus } from './gateway-http.ts';

/** Where the template's parameters go: a form body, a JSON body, or (`none`) the query string. */
export type HttpBodyType = 'form' | 'json' | 'none';

/** Names that may appear as `{{name}}` in a template. */
export const HTTP_PLACEHOLDERS = [
  'to',
  'to10',
  'to91',
  'text',
  'unicode',
  'entityId',
  'templateId',
  'header',
  'outboxId',
] as const;

/** One of HTTP_PLACEHOLDERS. */
export type HttpPlaceholder = (typeof HTTP_PLACEHOLDERS)[number];

/** Settings of the generic HTTP adapter. */
export interface HttpProviderOptions {
  /** The gateway's endpoint; static query parameters may stay in it. */
  url: string;
  /** Default POST. */
  method?: 'GET' | 'POST';
  /** Sent with every request, e.g. an API key header; never logged. */
  headers?: Record<string, string>;
  /** Default `none` for GET and `form` for POST. GET allows only `none`. */
  bodyType?: HttpBodyType;
  /**
   * For `form` and `none`: "k=v&k2={{text}}" or `{k: 'v', k2: '{{text}}'}`. For `json`: an
   * object or its JSON text, with placeholders inside string values.
   */
  template: string | Record<string, unknown>;
  /** A regular expression the body of a 2xx answer must match for the send to count. */
  successPattern?: string;
  /** A regular expression whose first capture group is the gateway's message id. */
  messageIdPattern?: string;
  timeoutMs?: number;
  /** How errors name the gateway, e.g. "textlocal"; default "http gateway". */
  label?: string;
}

/** A template ready for substitution. */
export type CompiledHttpTemplate =
  { kind: 'pairs'; pairs: Array<[string, string]> } | { kind: 'json'; value: unknown };

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;
const KNOWN = new Set<string>(HTTP_PLACEHOLDERS);

/** The body type used when the config names none. */
export function defaultBodyType(method: 'GET' | 'POST'): HttpBodyType {
  return method === 'GET' ? 'none' : 'form';
}

/**
 * Parses and checks a template for its body type. Throws an Error whose message says what to
 * fix: unparseable JSON, a non-text form value, an unknown placeholder, a placeholder in a key.
 */
export function compileHttpTemplate(
  bodyType: HttpBodyType,
  template: string | Record<string, unknown>,
): CompiledHttpTemplate {
  if (bodyType === 'json') {
    let value: unknown = template;
    if (typeof template === 'string') {
      try {
        value = JSON.parse(template);
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        throw new Error(`template is not valid JSON (${why})`);
      }
    }
    if (typeof value !== 'object' || value === null) {
      throw new Error('template for a JSON body must be an object or an array');
    }
    checkJson(value, 'template');
    return { kind: 'json', value };
  }
  const pairs: Array<[string, string]> =
    typeof template === 'string'
      ? [...new URLSearchParams(template.startsWith('?') ? template.slice(1) : template)]
      : Object.entries(template).map(([key, value]) => {
          if (typeof value !== 'string' && typeof value !== 'number') {
            throw new Error(`template.${key} must be text or a number for a ${bodyType} request`);
          }
          return [key, String(value)];
        });
  for (const [key, value] of pairs) {
    if (hasPlaceholder(key)) throw new Error(`template key "${key}" holds a placeholder`);
    checkPlaceholders(value, `template.${key}`);
  }
  return { kind: 'pairs', pairs };
}

function checkJson(value: unknown, where: string): void {
  if (typeof value === 'string') {
    checkPlaceholders(value, where);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => {
      checkJson(item, `${where}[${i}]`);
    });
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (hasPlaceholder(key)) throw new Error(`${where} key "${key}" holds a placeholder`);
      checkJson(item, `${where}.${key}`);
    }
  }
}

function hasPlaceholder(text: string): boolean {
  return new RegExp(PLACEHOLDER.source).test(text);
}

function checkPlaceholders(text: string, where: string): void {
  for (const match of text.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    if (!KNOWN.has(name)) {
      throw new Error(
        `${where} uses unknown placeholder {{${name}}}; known: ${HTTP_PLACEHOLDERS.map((p) => `{{${p}}}`).join(' ')}`,
      );
    }
  }
}

/** Compiles a pattern and checks that a message id pattern captures something. */
export function compilePattern(pattern: string, needsGroup: boolean): RegExp {
  const regex = new RegExp(pattern);
  if (needsGroup) {
    // An alternation with the empty pattern always matches, exposing the group count.
    const groups = (new RegExp(`${pattern}|`).exec('')?.length ?? 1) - 1;
    if (groups < 1) throw new Error(`"${pattern}" has no capture group for the message id`);
  }
  return regex;
}

/** The values placeholders stand for, for one message. */
export function placeholderValues(message: SmsMessage): Record<HttpPlaceholder, string> {
  const digits = message.to.replace(/\D/g, '');
  // India first: the national number follows +91; elsewhere the last ten digits are a guess.
  const to10 = message.to.startsWith('+91') ? digits.slice(2) : digits.slice(-10);
  return {
    to: message.to,
    to10,
    to91: `91${to10}`,
    text: message.text,
    unicode: message.unicode ? '1' : '0',
    entityId: message.dlt.entityId,
    templateId: message.dlt.templateId,
    header: message.dlt.header,
    outboxId: String(message.outboxId),
  };
}

function fill(text: string, values: Record<HttpPlaceholder, string>): string {
  // One pass: a value that itself contains "{{text}}" is not expanded again.
  return text.replace(PLACEHOLDER, (whole, name: string) =>
    KNOWN.has(name) ? values[name as HttpPlaceholder] : whole,
  );
}

function fillJson(value: unknown, values: Record<HttpPlaceholder, string>): unknown {
  if (typeof value === 'string') return fill(value, values);
  if (Array.isArray(value)) return value.map((item) => fillJson(item, values));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, fillJson(item, values)]),
    );
  }
  return value;
}

const TOKEN_BODY = /^[\w.:-]{1,100}$/;

/** Sends through any HTTP gateway described by its configuration. */
export class HttpProvider implements SmsProvider {
  readonly name = 'http';
  private readonly label: string;
  private readonly url: URL;
  private readonly method: 'GET' | 'POST';
  private readonly headers: Record<string, string>;
  private readonly bodyType: HttpBodyType;
  private readonly template: CompiledHttpTemplate;
  private readonly successPattern: RegExp | undefined;
  private readonly messageIdPattern: RegExp | undefined;
  private readonly timeoutMs: number;

  /** Throws when the options cannot describe a request (see compileHttpTemplate). */
  constructor(options: HttpProviderOptions) {
    this.label = options.label ?? 'http gateway';
    if (hasPlaceholder(options.url)) {
      throw new Error(`${this.label}: placeholders are not replaced in url; use the template`);
    }
    this.url = new URL(options.url);
    this.method = options.method ?? 'POST';
    this.bodyType = options.bodyType ?? defaultBodyType(this.method);
    if (this.method === 'GET' && this.bodyType !== 'none') {
      throw new Error(`${this.label}: a GET request has no body; use bodyType "none"`);
    }
    this.headers = options.headers ?? {};
    this.template = compileHttpTemplate(this.bodyType, options.template);
    this.successPattern =
      options.successPattern === undefined
        ? undefined
        : compilePattern(options.successPattern, false);
    this.messageIdPattern =
      options.messageIdPattern === undefined
        ? undefined
        : compilePattern(options.messageIdPattern, true);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async send(message: SmsMessage): Promise<SendResult> {
    const values = placeholderValues(message);
    const url = new URL(this.url);
    const headers = new Headers(this.headers);
    let body: string | undefined;
    if (this.template.kind === 'json') {
      body = JSON.stringify(fillJson(this.template.value, values));
      if (!headers.has('content-type'))
        headers.set('content-type', 'application/json; charset=utf-8');
    } else {
      const params = new URLSearchParams(
        this.template.pairs.map(([key, value]): [string, string] => [key, fill(value, values)]),
      );
      if (this.bodyType === 'form') {
        body = params.toString();
        if (!headers.has('content-type')) {
          headers.set('content-type', 'application/x-www-form-urlencoded; charset=utf-8');
        }
      } else {
        for (const [key, value] of params) url.searchParams.append(key, value);
      }
    }
    const answer = await exchange(this.label, url, {
      method: this.method,
      headers,
      ...(body === undefined ? {} : { body }),
      timeoutMs: this.timeoutMs,
    });
    if (!answer.ok) return answer;
    return this.readAnswer(answer.status, answer.body, message.outboxId);
  }

  private readAnswer(status: number, body: string, outboxId: number): SendResult {
    const said = body.trim() === '' ? '(empty body)' : body;
    if (status >= 300 && status < 400) {
      return fail(this.label, false, `redirected (HTTP ${status}); check url`);
    }
    if (status < 200 || status >= 300) {
      return fail(this.label, isRetryableStatus(status), `HTTP ${status}: ${said}`);
    }
    if (this.successPattern && !this.successPattern.test(body)) {
      return fail(this.label, false, `refused (HTTP ${status}, no success in answer): ${said}`);
    }
    const captured = this.messageIdPattern?.exec(body)?.[1];
    const trimmed = body.trim();
    let id = `${this.name}-${outboxId}`;
    if (captured !== undefined && captured !== '') id = captured;
    else if (TOKEN_BODY.test(trimmed)) id = trimmed;
    return { ok: true, providerMessageId: id };
  }
}

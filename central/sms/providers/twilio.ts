/**
 * Twilio Programmable Messaging, as documented for the Message resource:
 * POST /2010-04-01/Accounts/{AccountSid}/Messages.json with HTTP Basic auth (AccountSid and
 * AuthToken) and a form body `To`, `Body` and `From` or `MessagingServiceSid`. Success is 201
 * with the Message as JSON (`sid` is "SM" + 32 hex digits); errors are JSON
 * `{code, message, more_info, status}`, e.g. 401/20003 Authenticate, 400/21211 invalid To,
 * 400/21610 unsubscribed recipient, 429/20429 too many requests (never processed, safe to retry).
 * The request carries no DLT fields: for India, Twilio applies the sender's DLT registration on
 * its side.
 */
import type { SendResult, SmsMessage, SmsProvider } from '../provider.ts';
import {
  DEFAULT_TIMEOUT_MS,
  E164,
  exchange,
  fail,
  isRetryableStatus,
  parseJsonObject,
  textField,
} from './gateway-http.ts';

/** The real Twilio REST API host. */
export const TWILIO_BASE_URL = 'https://api.twilio.com';

/** Settings of the Twilio adapter; exactly one of `from` and `messagingServiceSid`. */
export interface TwilioOptions {
  /** "AC" + 32 hex digits. */
  accountSid: string;
  /** The account's auth token (a secret). */
  authToken: string;
  /** A Twilio number in E.164 or an alphanumeric sender id. */
  from?: string;
  /** "MG" + 32 hex digits: Twilio picks the sender from the service. */
  messagingServiceSid?: string;
  /** Scheme and host (and optional path prefix); tests point it at a loopback stand-in. */
  baseUrl?: string;
  timeoutMs?: number;
}

const GATEWAY = 'twilio';

/** Sends through Twilio's Messages resource. */
export class TwilioProvider implements SmsProvider {
  readonly name = GATEWAY;
  private readonly url: URL;
  private readonly authorization: string;
  private readonly sender: ['From' | 'MessagingServiceSid', string];
  private readonly timeoutMs: number;

  constructor(options: TwilioOptions) {
    if ((options.from === undefined) === (options.messagingServiceSid === undefined)) {
      throw new Error('twilio: set exactly one of from and messagingServiceSid');
    }
    const base = options.baseUrl ?? TWILIO_BASE_URL;
    this.url = new URL(
      `2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`,
      base.endsWith('/') ? base : `${base}/`,
    );
    const credentials = `${options.accountSid}:${options.authToken}`;
    this.authorization = `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
    this.sender =
      options.messagingServiceSid !== undefined
        ? ['MessagingServiceSid', options.messagingServiceSid]
        : ['From', options.from ?? ''];
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async send(message: SmsMessage): Promise<SendResult> {
    if (!E164.test(message.to)) {
      return fail(GATEWAY, false, `"${message.to}" is not an E.164 number such as +919812345678`);
    }
    const form = new URLSearchParams([['To', message.to], this.sender, ['Body', message.text]]);
    const answer = await exchange(GATEWAY, this.url, {
      method: 'POST',
      headers: new Headers({
        authorization: this.authorization,
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        accept: 'application/json',
      }),
      body: form.toString(),
      timeoutMs: this.timeoutMs,
    });
    if (!answer.ok) return answer;
    return readAnswer(answer.status, answer.body);
  }
}

function readAnswer(status: number, body: string): SendResult {
  const json = parseJsonObject(body);
  if (status >= 200 && status < 300) {
    const sid = textField(json, 'sid');
    if (sid) return { ok: true, providerMessageId: sid };
    return fail(GATEWAY, false, `unexpected answer (HTTP ${status}): ${body || '(empty body)'}`);
  }
  const code = textField(json, 'code');
  const said = textField(json, 'message') ?? (body.trim() === '' ? '(empty body)' : body);
  const detail = code ? `HTTP ${status} code ${code}: ${said}` : `HTTP ${status}: ${said}`;
  if (status === 401) return fail(GATEWAY, false, `authentication failed, ${detail}`);
  if (status >= 300 && status < 400) {
    return fail(GATEWAY, false, `redirected (HTTP ${status}); check baseUrl`);
  }
  return fail(GATEWAY, isRetryableStatus(status), detail);
}

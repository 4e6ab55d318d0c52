/**
 * MSG91 through its Flow API (POST /api/v5/flow/), as documented at
 * control.msg91.com/apidoc/textsms/send-sms-flow.php and docs.msg91.com/sms/send-sms:
 * header `authkey`, JSON body `{template_id, short_url, recipients: [{mobiles, <vars>}]}`,
 * mobiles in international format without a plus. The DLT template id and entity id are mapped
 * to the template on MSG91's side, so the request does not carry them; the flow docs also list
 * `sender` (used when the template's sender is "FromAPI", ignored otherwise) and `unicode`.
 * Success is `{"type":"success","message":"<request id>"}`; refusals are
 * `{"type":"error","message":"...","code":"..."}`, sometimes with HTTP 200.
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
  type SendFailure,
} from './gateway-http.ts';

/** The real MSG91 API host. */
export const MSG91_BASE_URL = 'https://control.msg91.com';

/** Settings of the MSG91 adapter. */
export interface Msg91Options {
  /** The account's authkey (a secret). */
  authKey: string;
  /** Scheme and host (and optional path prefix); tests point it at a loopback stand-in. */
  baseUrl?: string;
  timeoutMs?: number;
  /** Ask MSG91 to shorten links in the text. */
  shortUrl?: boolean;
  /**
   * The names of each template's variables as written in the MSG91 template (case-sensitive),
   * by our template name; a template not listed uses var1, var2, ...
   */
  variableNames?: Record<string, string[]>;
}

const GATEWAY = 'msg91';

/** Sends through MSG91's Flow API; the message's `providerTemplateId` is the MSG91 template id. */
export class Msg91Provider implements SmsProvider {
  readonly name = GATEWAY;
  private readonly authKey: string;
  private readonly url: URL;
  private readonly timeoutMs: number;
  private readonly shortUrl: boolean;
  private readonly variableNames: Record<string, string[]>;

  constructor(options: Msg91Options) {
    this.authKey = options.authKey;
    this.url = new URL('api/v5/flow/', withTrailingSlash(options.baseUrl ?? MSG91_BASE_URL));
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.shortUrl = options.shortUrl ?? false;
    this.variableNames = options.variableNames ?? {};
  }

  async send(message: SmsMessage): Promise<SendResult> {
    const body = this.buildBody(message);
    if (!body.ok) return body;
    const answer = await exchange(GATEWAY, this.url, {
      method: 'POST',
      headers: new Headers({
        authkey: this.authKey,
        'content-type': 'application/json',
        accept: 'application/json',
      }),
      body: JSON.stringify(body.json),
      timeoutMs: this.timeoutMs,
    });
    if (!answer.ok) return answer;
    return readAnswer(answer.status, answer.body);
  }

  private buildBody(
    message: SmsMessage,
  ): { ok: true; json: Record<string, unknown> } | SendFailure {
    if (!message.providerTemplateId) {
      return fail(
        GATEWAY,
        false,
        `template "${message.templateName}" has no MSG91 template id (providerTemplateId); add it to the template's configuration`,
      );
    }
    if (!E164.test(message.to)) {
      return fail(GATEWAY, false, `"${message.to}" is not an E.164 number such as +919812345678`);
    }
    const names =
      this.variableNames[message.templateName] ?? message.variables.map((_, i) => `var${i + 1}`);
    if (names.length !== message.variables.length) {
      return fail(
        GATEWAY,
        false,
        `template "${message.templateName}" has ${message.variables.length} variables but ${names.length} MSG91 variable names are configured`,
      );
    }
    const recipient: Record<string, string> = { mobiles: message.to.slice(1) };
    names.forEach((name, i) => {
      recipient[name] = message.variables[i] ?? '';
    });
    return {
      ok: true,
      json: {
        template_id: message.providerTemplateId,
        short_url: this.shortUrl ? '1' : '0',
        sender: message.dlt.header,
        unicode: message.unicode ? 1 : 0,
        recipients: [recipient],
      },
    };
  }
}

function readAnswer(status: number, body: string): SendResult {
  const json = parseJsonObject(body);
  const type = textField(json, 'type');
  const said = describe(json, body);
  if (status >= 200 && status < 300) {
    const requestId = textField(json, 'message');
    if (type === 'success' && requestId) return { ok: true, providerMessageId: requestId };
    // MSG91 reports many refusals (bad template, no balance, bad number) with HTTP 200.
    if (type === 'error') return fail(GATEWAY, false, `refused (HTTP ${status}): ${said}`);
    return fail(GATEWAY, false, `unexpected answer (HTTP ${status}): ${said}`);
  }
  if (status === 401) return fail(GATEWAY, false, `authentication failed (HTTP 401): ${said}`);
  if (status >= 300 && status < 400) {
    return fail(GATEWAY, false, `redirected (HTTP ${status}); check baseUrl`);
  }
  return fail(GATEWAY, isRetryableStatus(status), `HTTP ${status}: ${said}`);
}

function describe(json: Record<string, unknown> | undefined, body: string): string {
  const message = textField(json, 'message');
  if (message === undefined) return body.trim() === '' ? '(empty body)' : body;
  const code = textField(json, 'code');
  return code ? `${message} (code ${code})` : message;
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

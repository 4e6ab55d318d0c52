/**
 * Local stand-ins for SMS gateways: HTTP servers on 127.0.0.1 that check requests the way each
 * gateway's documentation describes them and answer with its documented bodies. They record
 * every request and every message they accepted, and can be told to misbehave.
 *
 * Where a gateway's docs do not say how it answers a case (MSG91's status for a bad template,
 * for one), the stand-in's answer is modelled on the documented error shape and says so.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A way to misbehave on the next request(s). */
export type StandInFault =
  /** HTTP 500 (503 for the generic gateway) with the gateway's error body. */
  | 'server-error'
  /** HTTP 429 with the gateway's error body. */
  | 'rate-limit'
  /** Read the request and never answer, until the stand-in closes. */
  | 'hang'
  /** Read the request, then destroy the socket without answering. */
  | 'drop'
  /** Any status with the gateway's documented error body, with this code and message. */
  | { status: number; code?: string | number; message?: string };

/** One request as the stand-in received it. */
export interface ReceivedRequest {
  method: string;
  /** The path without the query string. */
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  /** The parsed body: a JSON value, form fields as a record, or undefined. */
  body: unknown;
  /** The fault it was answered with, if any. */
  fault?: string;
}

/** A running stand-in; `A` is what it records for each accepted message. */
export interface StandIn<A> {
  /** Base URL, http://127.0.0.1:<port>, to put in a provider's baseUrl. */
  url: string;
  received: ReceivedRequest[];
  accepted: A[];
  /** The next `count` requests get this fault instead of a normal answer. */
  failNext(fault: StandInFault, count?: number): void;
  /** Requests read but not answered yet (held by `delayMs`, or hung), whose client is still there. */
  pending(): number;
  /** Stops listening and destroys every connection, hung ones included. */
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body: string;
  contentType?: string;
}

type Handler<A> = (request: ReceivedRequest, accept: (message: A) => void) => Reply;
type FaultReply = (fault: Exclude<StandInFault, 'hang' | 'drop'>) => Reply;

/** Optional behaviour every stand-in accepts. */
export interface StandInTiming {
  /**
   * Answer each request this many milliseconds after reading it (default 0: at once). The
   * request is recorded, and a message accepted, on arrival, as a real gateway takes it before
   * it answers; a client that goes away meanwhile gets no answer.
   */
  delayMs?: number;
}

async function startStandIn<A>(
  handle: Handler<A>,
  faultReply: FaultReply,
  timing: StandInTiming = {},
): Promise<StandIn<A>> {
  const received: ReceivedRequest[] = [];
  const accepted: A[] = [];
  const faults: StandInFault[] = [];
  const delayMs = timing.delayMs ?? 0;
  const delayed = new Set<NodeJS.Timeout>();
  const waiting = new Set<http.ServerResponse>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const request: ReceivedRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        rawBody,
        body: parseBody(req.headers['content-type'], rawBody),
      };
      received.push(request);
      const fault = faults.shift();
      if (fault !== undefined)
        request.fault = typeof fault === 'string' ? fault : `${fault.status}`;
      if (fault === 'hang') {
        waiting.add(res);
        res.once('close', () => waiting.delete(res));
        return;
      }
      if (fault === 'drop') {
        req.socket.destroy();
        return;
      }
      const reply =
        fault === undefined
          ? handle(request, (message) => accepted.push(message))
          : faultReply(fault);
      const answer = () => {
        res.writeHead(reply.status, {
          'content-type': reply.contentType ?? 'application/json; charset=utf-8',
        });
        res.end(reply.body);
      };
      if (delayMs <= 0) {
        answer();
        return;
      }
      waiting.add(res);
      const forget = () => {
        clearTimeout(timer);
        delayed.delete(timer);
        waiting.delete(res);
      };
      const timer = setTimeout(() => {
        forget();
        if (!res.destroyed && !req.socket.destroyed) answer();
      }, delayMs);
      delayed.add(timer);
      res.once('close', forget);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    received,
    accepted,
    failNext(fault, count = 1) {
      for (let i = 0; i < count; i += 1) faults.push(fault);
    },
    pending: () => waiting.size,
    close() {
      for (const timer of delayed) clearTimeout(timer);
      delayed.clear();
      return new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
    },
  };
}

function parseBody(contentType: string | undefined, raw: string): unknown {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/json') {
    try {
      return JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  if (type === 'application/x-www-form-urlencoded')
    return Object.fromEntries(new URLSearchParams(raw));
  return undefined;
}

function json(status: number, value: unknown): Reply {
  return { status, body: JSON.stringify(value) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// MSG91

/** A message MSG91's Flow API accepted: one per recipient. */
export interface Msg91Accepted {
  /** The request id MSG91 answered with (24 hex digits). */
  requestId: string;
  templateId: string;
  /** As sent: country code and number, no plus. */
  mobiles: string;
  /** Every recipient field except mobiles: the template's variables. */
  variables: Record<string, string>;
  sender?: unknown;
  unicode?: unknown;
  shortUrl?: unknown;
}

/** Settings of the MSG91 stand-in. */
export interface Msg91StandInOptions {
  authKey: string;
  /** Known template ids and their variable names; when given, others are refused. */
  templates?: Record<string, string[]>;
}

/**
 * MSG91's Flow API: POST /api/v5/flow/ with header `authkey` and a JSON body
 * `{template_id, short_url, recipients: [{mobiles, ...variables}]}`. Answers
 * `{"type":"success","message":"<request id>"}` or `{"type":"error","message":...}`.
 */
export function startMsg91StandIn(options: Msg91StandInOptions): Promise<StandIn<Msg91Accepted>> {
  const error = (status: number, message: string, code?: string): Reply =>
    json(
      status,
      code === undefined ? { type: 'error', message } : { type: 'error', message, code },
    );

  return startStandIn<Msg91Accepted>(
    (request, accept) => {
      if (request.method !== 'POST' || !/^\/api\/v5\/flow\/?$/.test(request.path)) {
        return error(404, 'Not Found');
      }
      // Seen from MSG91 for a bad authkey; the flow docs show no example.
      if (request.headers.authkey !== options.authKey)
        return error(401, 'AuthenticationFailure', '401');
      const body = request.body;
      if (!isRecord(body)) return error(400, 'Invalid JSON body');
      const templateId = body.template_id;
      const recipients = body.recipients;
      if (typeof templateId !== 'string' || templateId === '') {
        return error(400, 'template_id is required');
      }
      if (!Array.isArray(recipients) || recipients.length === 0) {
        return error(400, 'recipients is required');
      }
      // Not documented: MSG91 reports content problems with HTTP 200 and type "error".
      const names = options.templates?.[templateId];
      if (options.templates && !names) return error(200, 'Template ID is invalid');
      const requestId = randomBytes(12).toString('hex');
      const accepting: Msg91Accepted[] = [];
      for (const recipient of recipients) {
        if (!isRecord(recipient)) return error(400, 'recipients must be objects');
        const { mobiles, ...rest } = recipient;
        if (typeof mobiles !== 'string' || !/^[1-9]\d{9,14}$/.test(mobiles)) {
          return error(200, 'Invalid mobile number', '202');
        }
        const variables = Object.fromEntries(
          Object.entries(rest).map(([key, value]) => [key, String(value)]),
        );
        const missing = (names ?? []).find((name) => !(name in variables));
        if (missing !== undefined) return error(200, `Variable ${missing} is missing`);
        accepting.push({
          requestId,
          templateId,
          mobiles,
          variables,
          sender: body.sender,
          unicode: body.unicode,
          shortUrl: body.short_url,
        });
      }
      for (const message of accepting) accept(message);
      return json(200, { type: 'success', message: requestId });
    },
    (fault) => {
      if (fault === 'server-error') return error(500, 'Internal Server Error');
      if (fault === 'rate-limit') return error(429, 'Too Many Requests');
      return error(
        fault.status,
        fault.message ?? 'Error',
        fault.code === undefined ? undefined : String(fault.code),
      );
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Twilio

/** A message Twilio's Messages resource accepted. */
export interface TwilioAccepted {
  /** "SM" + 32 hex digits. */
  sid: string;
  to: string;
  from?: string;
  messagingServiceSid?: string;
  body: string;
}

/** Settings of the Twilio stand-in. */
export interface TwilioStandInOptions {
  accountSid: string;
  authToken: string;
  /** Numbers that replied STOP: sending to them gets error 21610. */
  optedOut?: string[];
}

/**
 * Twilio's Messages resource: POST /2010-04-01/Accounts/{AccountSid}/Messages.json with HTTP
 * Basic auth and a form body. Answers 201 with the Message as JSON, or
 * `{code, message, more_info, status}`.
 */
export function startTwilioStandIn(
  options: TwilioStandInOptions,
): Promise<StandIn<TwilioAccepted>> {
  const error = (status: number, code: number, message: string): Reply =>
    json(status, {
      code,
      message,
      more_info: `https://www.twilio.com/docs/errors/${code}`,
      status,
    });
  const expectedAuth = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
  const optedOut = new Set(options.optedOut ?? []);

  return startStandIn<TwilioAccepted>(
    (request, accept) => {
      const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(request.path);
      if (request.headers.authorization !== expectedAuth) return error(401, 20003, 'Authenticate');
      if (request.method !== 'POST' || !match || match[1] !== options.accountSid) {
        return error(404, 20404, `The requested resource ${request.path} was not found`);
      }
      const form = request.body;
      if (!isRecord(form)) return error(400, 21602, 'Message body is required.');
      const field = (name: string) => (typeof form[name] === 'string' ? form[name] : undefined);
      const to = field('To');
      const from = field('From');
      const messagingServiceSid = field('MessagingServiceSid');
      const body = field('Body');
      if (to === undefined) return error(400, 21604, "A 'To' phone number is required.");
      // E.164; for India also a real mobile range, like Twilio's own number validation.
      if (!/^\+[1-9]\d{7,14}$/.test(to) || (to.startsWith('+91') && !/^\+91[6-9]\d{9}$/.test(to))) {
        return error(400, 21211, `Invalid 'To' Phone Number: ${to}`);
      }
      if (from === undefined && messagingServiceSid === undefined) {
        return error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required");
      }
      if (body === undefined || body === '') return error(400, 21602, 'Message body is required.');
      if (body.length > 1600) {
        return error(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
      }
      if (optedOut.has(to)) return error(400, 21610, 'Attempt to send to unsubscribed recipient');
      const sid = `SM${randomBytes(16).toString('hex')}`;
      accept({
        sid,
        to,
        body,
        ...(from === undefined ? {} : { from }),
        ...(messagingServiceSid === undefined ? {} : { messagingServiceSid }),
      });
      const now = new Date().toUTCString();
      return json(201, {
        account_sid: options.accountSid,
        api_version: '2010-04-01',
        body,
        date_created: now,
        date_sent: null,
        date_updated: now,
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        from: from ?? null,
        messaging_service_sid: messagingServiceSid ?? null,
        num_media: '0',
        num_segments: '1',
        price: null,
        price_unit: null,
        sid,
        status: messagingServiceSid === undefined ? 'queued' : 'accepted',
        subresource_uris: {
          media: `/2010-04-01/Accounts/${options.accountSid}/Messages/${sid}/Media.json`,
        },
        to,
        uri: `/2010-04-01/Accounts/${options.accountSid}/Messages/${sid}.json`,
      });
    },
    (fault) => {
      if (fault === 'server-error') return error(500, 20500, 'Internal Server Error');
      if (fault === 'rate-limit') return error(429, 20429, 'Too Many Requests');
      const code = typeof fault.code === 'number' ? fault.code : Number(fault.code ?? 0);
      return error(fault.status, code, fault.message ?? 'Error');
    },
  );
}

// ---------------------------------------------------------------------------------------------
// A generic Indian gateway with a sendhttp.php-style API

/** A message the generic Indian gateway accepted: one per number in `mobiles`. */
export interface IndianGatewayAccepted {
  requestId: string;
  /** Where the parameters came from. */
  via: 'query' | 'form' | 'json';
  mobile: string;
  message: string;
  sender: string;
  route: string;
  dltTemplateId: string;
  peId?: string;
  unicode?: string;
}

/** Settings of the generic Indian gateway stand-in. */
export interface IndianGatewayStandInOptions extends StandInTiming {
  authKey: string;
}

/** Where the generic gateway listens, under its base URL. */
export const INDIAN_GATEWAY_PATH = '/api/sendhttp.php';

/**
 * A typical Indian bulk-SMS HTTP API at /api/sendhttp.php, by GET (query) or POST (form or
 * flat JSON), with parameters authkey, mobiles (comma-separated, 10 digits or 91 + 10), message,
 * sender, route, DLT_TE_ID, PE_ID, unicode and response. Success answers the request id as
 * text, or `{"type":"success","message":id}` with response=json. A wrong key gets HTTP 401;
 * a bad parameter gets HTTP 200 with `{"type":"error","message":...,"code":...}`, as such
 * gateways do.
 */
export function startIndianGatewayStandIn(
  options: IndianGatewayStandInOptions,
): Promise<StandIn<IndianGatewayAccepted>> {
  const error = (status: number, message: string, code: string): Reply =>
    json(status, { type: 'error', message, code });

  return startStandIn<IndianGatewayAccepted>(
    (request, accept) => {
      if (request.path !== INDIAN_GATEWAY_PATH || !['GET', 'POST'].includes(request.method)) {
        return { status: 404, body: 'Not Found', contentType: 'text/plain' };
      }
      let via: IndianGatewayAccepted['via'] = 'query';
      const params: Record<string, string> = { ...request.query };
      if (request.method === 'POST' && isRecord(request.body)) {
        via = request.headers['content-type']?.startsWith('application/json') ? 'json' : 'form';
        for (const [key, value] of Object.entries(request.body)) {
          if (typeof value === 'string' || typeof value === 'number') params[key] = String(value);
        }
      }
      if (params.authkey === undefined) return error(401, 'Missing Authentication Key', '106');
      if (params.authkey !== options.authKey)
        return error(401, 'Invalid authentication key', '207');
      const required: Array<[string, string, string]> = [
        ['mobiles', 'Missing mobile no.', '101'],
        ['message', 'Missing message', '102'],
        ['sender', 'Missing sender ID', '103'],
        ['route', 'Missing Route', '107'],
        ['DLT_TE_ID', 'Missing DLT template id', '110'],
      ];
      for (const [name, message, code] of required) {
        if (!params[name]) return error(200, message, code);
      }
      const mobiles = (params.mobiles ?? '').split(',');
      if (!mobiles.every((mobile) => /^(91)?[6-9]\d{9}$/.test(mobile))) {
        return error(200, 'Invalid mobile number', '202');
      }
      if (!/^[A-Z]{6}$/.test(params.sender ?? '')) return error(200, 'Invalid sender ID', '203');
      const requestId = randomBytes(12).toString('hex');
      for (const mobile of mobiles) {
        accept({
          requestId,
          via,
          mobile,
          message: params.message ?? '',
          sender: params.sender ?? '',
          route: params.route ?? '',
          dltTemplateId: params.DLT_TE_ID ?? '',
          ...(params.PE_ID === undefined ? {} : { peId: params.PE_ID }),
          ...(params.unicode === undefined ? {} : { unicode: params.unicode }),
        });
      }
      if (params.response === 'json') return json(200, { type: 'success', message: requestId });
      return { status: 200, body: requestId, contentType: 'text/plain; charset=utf-8' };
    },
    (fault) => {
      if (fault === 'server-error') {
        return { status: 503, body: 'Service temporarily unavailable', contentType: 'text/plain' };
      }
      if (fault === 'rate-limit') {
        return { status: 429, body: 'Too Many Requests', contentType: 'text/plain' };
      }
      return error(fault.status, fault.message ?? 'Error', String(fault.code ?? '0'));
    },
    options,
  );
}

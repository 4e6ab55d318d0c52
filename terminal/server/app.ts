import fs from 'node:fs';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { CounterError } from '../core.ts';
import type { Counter } from './counter.ts';
import { json, refuse, sendError } from './errors.ts';
import { hostGuard, securityHeaders, tokenGuard } from './guard.ts';
import { StaffSessions } from './sessions.ts';
import { mountPosApi } from './pos-api.ts';
import {
  CancelInput,
  CompleteSale,
  ConfirmInput,
  Enrolment,
  LedgerQuery,
  PrintLedgerInput,
  PrintMemberInput,
  QuoteInput,
  RedeemInput,
  ReprintInput,
  STAFF_SESSION_HEADER,
  SalePreviewInput,
  ScanInput,
  SignIn,
  type CounterEvent,
  type StaffView,
} from './contract.ts';

/** Where the built UI is (npm run build:ui). */
export const UI_DIST = path.resolve(import.meta.dirname, '../ui/dist');

export const LEDGER_OFFLINE =
  'The points ledger is kept at the central server, which this counter cannot reach now; try again when the status bar says online.';

export interface CounterAppOptions {
  counter: Counter;
  token: string;
  /** The port listened on, for the Host and Origin checks. */
  port: () => number;
  sessions?: StaffSessions;
  uiDir?: string;
  log?: (error: unknown) => void;
}

/**
 * The counter's local HTTP server: the UI's files at /, the UI's API under /api (local token and,
 * for anything done for a cashier, a signed-in staff session), the POS integration API under
 * /pos/v1 (local token), and a stream of events for the UI.
 */
export function createCounterApp(options: CounterAppOptions): express.Express {
  const { counter, log } = options;
  const sessions = options.sessions ?? new StaffSessions();
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(hostGuard(options));
  app.use(securityHeaders);

  const uiDir = options.uiDir ?? UI_DIST;
  app.use(express.static(uiDir, { index: 'index.html', maxAge: 0 }));

  const api = express.Router();
  api.use(tokenGuard(options));
  api.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  api.use(express.json({ limit: '256kb' }));

  const staffOf = (req: Request): StaffView | undefined =>
    sessions.touch(req.header(STAFF_SESSION_HEADER));
  const signedIn = (req: Request): StaffView => {
    const staff = staffOf(req);
    if (!staff) refuse(401, 'signed-out', 'Sign in with your PIN to continue.');
    return staff;
  };
  const manager = (req: Request): StaffView => {
    const staff = signedIn(req);
    if (staff.role === 'cashier') {
      refuse(403, 'forbidden', 'Only a manager may do this; ask a manager to sign in.');
    }
    return staff;
  };
  const mobileParam = (req: Request): string => String(req.params.mobile);
  const idParam = (req: Request): number => {
    const id = Number(req.params.id);
    if (!Number.isSafeInteger(id) || id < 1) {
      refuse(422, 'validation', 'The redemption number in the address is not a number.');
    }
    return id;
  };

  api.get(
    '/status',
    json((req) => counter.status(staffOf(req) ?? null), log),
  );
  api.get(
    '/staff',
    json(() => ({ staff: counter.core.staff() }), log),
  );
  api.post(
    '/session',
    json(async (req) => {
      const body = SignIn.parse(req.body);
      const lock = sessions.lockOf(body.username);
      if (lock) refuse(429, lock.code, lock.message);
      const staff = await counter.core.verifyPin(body.username, body.pin);
      if (!staff) {
        const refusal = sessions.fail(body.username);
        refuse(refusal.code === 'locked' ? 429 : 401, refusal.code, refusal.message);
      }
      return { session: sessions.open(staff), staff };
    }, log),
  );
  api.delete(
    '/session',
    json((req) => {
      sessions.close(req.header(STAFF_SESSION_HEADER));
      return { ok: true };
    }, log),
  );

  api.get(
    '/members',
    json((req) => {
      signedIn(req);
      const q = typeof req.query.q === 'string' ? req.query.q.slice(0, 64) : '';
      return { members: counter.suggest(q) };
    }, log),
  );
  api.get(
    '/members/:mobile',
    json((req) => {
      signedIn(req);
      return counter.member(mobileParam(req));
    }, log),
  );
  api.post(
    '/members',
    json((req, res) => {
      signedIn(req);
      const result = counter.enrol(Enrolment.parse(req.body));
      res.status(result.created ? 201 : 200);
      return result;
    }, log),
  );
  api.get(
    '/members/:mobile/ledger',
    json(async (req) => {
      signedIn(req);
      const query = LedgerQuery.parse(req.query);
      return offlineSays(LEDGER_OFFLINE, () =>
        counter.ledger(mobileParam(req), query.from, query.to),
      );
    }, log),
  );

  api.get(
    '/catalogue',
    json((req) => {
      signedIn(req);
      return { categories: counter.core.categories() };
    }, log),
  );
  api.get(
    '/products/:sku',
    json((req) => {
      signedIn(req);
      const product = counter.product(String(req.params.sku));
      if (!product) refuse(404, 'not-found', 'This item is not in the catalogue.');
      return product;
    }, log),
  );
  api.post(
    '/scans',
    json((req) => {
      signedIn(req);
      return counter.scan(ScanInput.parse(req.body).text);
    }, log),
  );

  api.post(
    '/sales/preview',
    json((req) => {
      signedIn(req);
      return counter.preview(SalePreviewInput.parse(req.body).lines);
    }, log),
  );
  api.get(
    '/sales/next-bill',
    json((req) => {
      signedIn(req);
      return { billNumber: counter.nextBillNumber() };
    }, log),
  );
  api.post(
    '/sales',
    json(async (req, res) => {
      signedIn(req);
      const done = await counter.completeSale(CompleteSale.parse(req.body));
      res.status(201);
      return done;
    }, log),
  );

  api.post(
    '/redemptions/quote',
    json(async (req) => {
      signedIn(req);
      return counter.core.quoteRedemption(QuoteInput.parse(req.body));
    }, log),
  );
  api.post(
    '/redemptions',
    json(async (req, res) => {
      signedIn(req);
      const view = await counter.core.requestRedemption(RedeemInput.parse(req.body));
      res.status(201);
      return view;
    }, log),
  );
  api.get(
    '/redemptions/:id',
    json(async (req) => {
      signedIn(req);
      return counter.core.redemptionStatus(idParam(req));
    }, log),
  );
  api.post(
    '/redemptions/:id/resend',
    json(async (req) => {
      signedIn(req);
      return counter.core.resendOtp(idParam(req));
    }, log),
  );
  api.post(
    '/redemptions/:id/confirm',
    json(async (req) => {
      signedIn(req);
      const id = idParam(req);
      const view = await counter.core.confirmRedemption(id, ConfirmInput.parse(req.body).otp);
      counter.memberChanged(view.memberId);
      return view;
    }, log),
  );
  api.post(
    '/redemptions/:id/cancel',
    json(async (req) => {
      signedIn(req);
      const id = idParam(req);
      const view = await counter.core.cancelRedemption(
        id,
        CancelInput.parse(req.body ?? {}).reason,
      );
      counter.memberChanged(view.memberId);
      return view;
    }, log),
  );

  api.post(
    '/print/point-slip',
    json(async (req) => {
      signedIn(req);
      return counter.printPointSlip(PrintMemberInput.parse(req.body).mobile);
    }, log),
  );
  api.post(
    '/print/member-card',
    json(async (req) => {
      signedIn(req);
      return counter.printMemberCard(PrintMemberInput.parse(req.body).mobile);
    }, log),
  );
  api.post(
    '/print/ledger',
    json(async (req) => {
      const staff = manager(req);
      const body = PrintLedgerInput.parse(req.body);
      return offlineSays(LEDGER_OFFLINE, () =>
        counter.printLedger(body.mobile, body.from, body.to, staff),
      );
    }, log),
  );
  api.post(
    '/print/reprint',
    json(async (req) => {
      signedIn(req);
      return counter.reprint(ReprintInput.parse(req.body).kind);
    }, log),
  );

  api.get('/events', (req, res) => {
    streamEvents(req, res, counter, () => staffOf(req) ?? null);
  });

  api.use((_req, res) => {
    res.status(404).json({ code: 'not-found', message: 'There is no such counter API.' });
  });
  api.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    // express.json's parse failures arrive here.
    if (
      error instanceof SyntaxError ||
      (error as { type?: string }).type === 'entity.parse.failed'
    ) {
      res.status(400).json({ code: 'bad-json', message: 'The request body is not valid JSON.' });
      return;
    }
    if ((error as { type?: string }).type === 'entity.too.large') {
      res.status(413).json({ code: 'too-large', message: 'The request body is too large.' });
      return;
    }
    sendError(res, error, log);
  });

  app.use('/api', api);
  mountPosApi(app, { counter, guard: tokenGuard(options), ...(log ? { log } : {}) });

  // Anything else is a screen of the single-page UI.
  app.get(/^\/(?!api\/|pos\/).*/, (_req, res) => {
    const index = path.join(uiDir, 'index.html');
    if (fs.existsSync(index)) res.sendFile(index);
    else {
      res
        .status(503)
        .type('text/plain')
        .send('The counter screens are not built: run `npm run build:ui`.');
    }
  });
  return app;
}

/** Runs a call to central; 'offline' gets the caller's plain sentence. */
async function offlineSays<T>(message: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof CounterError && error.code === 'offline') {
      throw new CounterError('offline', message, error.status);
    }
    throw error;
  }
}

/** Server-sent events: status changes, scans from serial/HID scanners, member changes, SMS news. */
function streamEvents(
  req: Request,
  res: Response,
  counter: Counter,
  staff: () => StaffView | null,
): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  const send = (event: CounterEvent): void => {
    res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  };
  // Status changes come in bursts (a pull page, an outbox reply): send at most one per 100 ms.
  let statusTimer: NodeJS.Timeout | undefined;
  const onStatus = (): void => {
    statusTimer ??= setTimeout(() => {
      statusTimer = undefined;
      send({ type: 'status', status: counter.status(staff()) });
    }, 100);
  };
  const onScan = (text: string, source: string): void => {
    send({ type: 'scan', source, result: counter.scan(text) });
  };
  const onMember = (mobile: string): void => {
    send({ type: 'member', mobile });
  };
  const onSms = (push: {
    redemptionId: number;
    delivery: 'sending' | 'sent' | 'delayed' | 'failed' | 'unknown';
    error: string | null;
  }): void => {
    send({
      type: 'redeem:sms',
      redemptionId: push.redemptionId,
      delivery: push.delivery,
      error: push.error,
    });
  };
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  counter.core.on('status', onStatus);
  counter.devices.on('status', onStatus);
  counter.devices.on('scan', onScan);
  counter.on('member', onMember);
  counter.core.on('redeem:sms', onSms);
  send({ type: 'status', status: counter.status(staff()) });
  req.on('close', () => {
    clearInterval(keepAlive);
    if (statusTimer) clearTimeout(statusTimer);
    counter.core.off('status', onStatus);
    counter.devices.off('status', onStatus);
    counter.devices.off('scan', onScan);
    counter.off('member', onMember);
    counter.core.off('redeem:sms', onSms);
  });
}

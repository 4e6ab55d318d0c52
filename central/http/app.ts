import fs from 'node:fs';
import path from 'node:path';
import cookieParser from 'cookie-parser';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { z } from 'zod';
import { AppError, PROBLEMS, type ProblemCode } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { hashToken } from '../staff/secrets.ts';
import { findSessionStaff, type StaffRecord } from '../db/staff-store.ts';
import type { Db } from '../db/connect.ts';
import type { Clock } from '../time.ts';
import type { AnyRoute } from './route.ts';
import { checkCsrf, sessionCookieOf } from './console-session.ts';

const RANK = { cashier: 1, manager: 2, admin: 3 } as const;

/**
 * Remembers signed-in staff for a few seconds so that a busy counter does not cost a database
 * read per request. A deactivated account or ended session stops working within SESSION_CACHE_MS.
 */
export const SESSION_CACHE_MS = 10_000;
const SESSION_CACHE_MAX = 10_000;

export interface AppDeps {
  db: Db;
  log: Logger;
  metrics: Metrics;
  clock: Clock;
  bodyLimitKb: number;
  logRequests: boolean;
  /** The built console (central/admin-ui/dist), served at /console/. */
  consoleDir?: string;
  /** Express's 'trust proxy': which proxies' X-Forwarded-For/-Proto to believe (TRUST_PROXY). */
  trustProxy?: boolean | number | string;
  /** Shared with the sign-out route, which forgets a session at once. */
  sessions?: SessionCache;
}

/** Express app serving the route table, every error as RFC 9457 problem+json. */
export function createApp(deps: AppDeps, routes: AnyRoute[]): express.Express {
  const sessions: SessionCache = deps.sessions ?? new Map<string, never>();
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.trustProxy ?? false);
  // Security headers on every answer: a strict CSP (the console loads only its own files), no
  // framing, no referrer leaks, no MIME sniffing; HSTS takes effect only over https.
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'"],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
      crossOriginEmbedderPolicy: false,
      frameguard: { action: 'deny' },
      referrerPolicy: { policy: 'no-referrer' },
    }),
  );
  app.use(cookieParser());
  // Answers are never cached (no-store), so hashing each body for an ETag is wasted work.
  app.set('etag', false);
  app.set('query parser', 'simple');
  // Request lines are logged at info; below that level pino-http would only cost time.
  if (deps.logRequests && deps.log.isLevelEnabled('info'))
    app.use(pinoHttp({ logger: deps.log, customProps: () => ({ event: 'http:request' }) }));
  app.use((req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    const stop = deps.metrics.httpDuration.startTimer({ method: req.method });
    res.on('finish', () => {
      const path = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      stop({ route: path, status: String(res.statusCode) });
    });
    next();
  });
  app.use((req, _res, next) => {
    if (req.method === 'POST' || req.method === 'PUT') {
      const length = Number(req.headers['content-length'] ?? '0');
      if ((length > 0 || req.headers['transfer-encoding']) && !req.is('application/json')) {
        next(new AppError('unsupported-media-type', 'Send the body as application/json.'));
        return;
      }
    }
    next();
  });
  // A route with its own (larger) limit reads its body first, and the app's parser then finds
  // it read; but only once the caller is signed in with the route's role, so that nobody
  // unauthenticated can make central read and parse megabytes.
  const bulk = express.Router();
  for (const r of routes) {
    if (r.bodyLimitKb === undefined) continue;
    bulk[r.method](
      r.path,
      (req, res, next) => {
        authorise(deps, sessions, r, req).then((staff) => {
          res.locals.staff = staff;
          next();
        }, next);
      },
      express.json({ limit: `${r.bodyLimitKb}kb`, strict: true }),
    );
  }
  app.use(bulk);
  app.use(express.json({ limit: `${deps.bodyLimitKb}kb`, strict: true }));

  for (const r of routes) {
    app[r.method](r.path, (req, res, next) => {
      handle(deps, sessions, r, req, res).catch(next);
    });
  }

  serveConsole(app, deps.consoleDir);

  app.get('/problems/:code', (req, res, next) => {
    const code = req.params.code as ProblemCode;
    const problem = Object.hasOwn(PROBLEMS, code) ? PROBLEMS[code] : undefined;
    if (!problem) {
      next(new AppError('not-found', `There is no problem type ${code}.`));
      return;
    }
    res.json({ type: `/problems/${code}`, ...problem });
  });

  app.use((req, _res, next) => {
    next(
      new AppError('not-found', `There is no ${req.method} ${req.path}; see /api/openapi.json.`),
    );
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    sendProblem(deps.log, error, req, res);
  });
  return app;
}

/** The console's files at /console/ (index.html for its client-side routes), and / sends there. */
function serveConsole(app: express.Express, dir: string | undefined): void {
  app.get('/', (_req, res) => {
    res.redirect(302, '/console/');
  });
  const index = dir ? path.join(dir, 'index.html') : undefined;
  if (!dir || !index || !fs.existsSync(index)) {
    app.use('/console', (_req, res) => {
      res
        .status(503)
        .type('text/plain')
        .send(
          'The console is not built on this server: run `npm run build:ui`, then restart central.',
        );
    });
    return;
  }
  // Hashed asset names never change content, so they may be cached for a long time.
  app.use(
    '/console/assets',
    express.static(path.join(dir, 'assets'), {
      immutable: true,
      maxAge: '365d',
      fallthrough: false,
      setHeaders: (res) => {
        res.removeHeader('Cache-Control');
      },
    }),
  );
  const sendIndex = (_req: Request, res: Response) => {
    res.sendFile(index);
  };
  app.get('/console', sendIndex);
  app.get('/console/{*rest}', sendIndex);
}

/** Sessions this process has recently checked, by token hash. */
export type SessionCache = Map<
  string,
  { staff: StaffRecord; csrfHash: string | null; untilMs: number }
>;

async function handle(
  deps: AppDeps,
  sessions: SessionCache,
  r: AnyRoute,
  req: Request,
  res: Response,
): Promise<void> {
  // Bulk routes were authorised before their body was read (see createApp).
  const staff =
    (res.locals.staff as StaffRecord | undefined) ?? (await authorise(deps, sessions, r, req));
  const params = parse(r.params, req.params, 'path');
  const query = parse(r.query, req.query, 'query');
  const headers = parse(r.headers, req.headers, 'header');
  if (r.body && (req.body === undefined || req.body === null)) {
    throw new AppError('validation', 'This operation needs a JSON body.');
  }
  const body = parse(r.body, req.body, 'body');
  const reply = await r.handler({ params, query, headers, body, staff, req, res });
  if (res.headersSent) return;
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  res.status(reply.status).json(reply.body);
}

/** The signed-in staff member a route needs (undefined for a public route), or a refusal. */
async function authorise(
  deps: AppDeps,
  sessions: SessionCache,
  r: AnyRoute,
  req: Request,
): Promise<StaffRecord | undefined> {
  if (r.access === 'public') return undefined;
  const staff = await authenticate(deps, sessions, req);
  if (RANK[staff.role] < RANK[r.access]) {
    throw new AppError(
      'forbidden',
      `This needs ${r.access === 'admin' ? 'an' : 'a'} ${r.access} (${r.summary.toLowerCase()}); you are signed in as ${staff.role} ${staff.username}.`,
    );
  }
  return staff;
}

async function authenticate(
  deps: AppDeps,
  sessions: SessionCache,
  req: Request,
): Promise<StaffRecord> {
  const header = req.headers.authorization;
  const cookie = header === undefined ? sessionCookieOf(req) : undefined;
  let token: string | undefined;
  if (cookie) token = cookie;
  else {
    // The scheme name is case-insensitive (RFC 9110 §11.1).
    const match = /^Bearer ([A-Za-z0-9_-]{20,200})$/i.exec(header ?? '');
    token = match?.[1];
  }
  if (!token) {
    throw new AppError(
      'unauthenticated',
      header
        ? 'The Authorization header is not "Bearer <token>".'
        : 'Sign in with POST /api/auth/login and send the token as "Authorization: Bearer <token>", or sign in to the console.',
    );
  }
  const hash = hashToken(token);
  const nowMs = deps.clock.now().getTime();
  let found = sessions.get(hash);
  if (!found || found.untilMs <= nowMs) {
    const session = await findSessionStaff(deps.db, hash, deps.clock.now());
    if (session) {
      if (sessions.size >= SESSION_CACHE_MAX) sessions.clear();
      // Never trust the cache past the session's own end.
      const untilMs = Math.min(nowMs + SESSION_CACHE_MS, Date.parse(session.expiresAt));
      found = { staff: session.staff, csrfHash: session.csrfHash, untilMs };
      sessions.set(hash, found);
    } else {
      sessions.delete(hash);
      found = undefined;
    }
  }
  if (!found)
    throw new AppError('unauthenticated', 'The session has expired or was revoked; sign in again.');
  // A console session is a cookie the browser sends by itself: changes need its CSRF token.
  if (cookie) checkCsrf(req, found.csrfHash);
  return found.staff;
}

function parse(
  schema: z.ZodType | undefined,
  value: unknown,
  where: 'path' | 'query' | 'header' | 'body',
): unknown {
  if (!schema) return undefined;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.map((issue) => ({
    pointer: pointerOf(where, issue.path),
    message: issue.message,
  }));
  throw new AppError(
    'validation',
    // The detail alone must let a cashier fix the entry, so it names every problem (up to 3).
    errors.length <= 3
      ? errors.map((e) => `${e.pointer}: ${e.message}`).join('; ')
      : `${errors.length} fields are not valid, first ${errors
          .slice(0, 3)
          .map((e) => `${e.pointer}: ${e.message}`)
          .join('; ')}; see errors for all.`,
    errors,
  );
}

function pointerOf(where: string, path: PropertyKey[]): string {
  const pointer = path
    .map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`)
    .join('');
  return where === 'body' ? pointer || '/' : `${where}:${pointer.slice(1)}`;
}

function sendProblem(log: Logger, error: unknown, req: Request, res: Response): void {
  let problem: AppError;
  const type = (error as { type?: unknown } | null)?.type;
  if (error instanceof AppError) problem = error;
  else if (type === 'entity.parse.failed') {
    problem = new AppError(
      'malformed-json',
      'The body is not valid JSON; check quotes and commas.',
    );
  } else if (type === 'entity.too.large') {
    problem = new AppError(
      'body-too-large',
      'The body is larger than central accepts; send fewer lines per bill.',
    );
  } else if (type === 'charset.unsupported' || type === 'encoding.unsupported') {
    problem = new AppError('unsupported-media-type', 'Send JSON in UTF-8.');
  } else if (error instanceof URIError) {
    problem = new AppError('validation', 'The path is not valid percent-encoded UTF-8.');
  } else if ((error as { status?: unknown } | null)?.status === 400) {
    problem = new AppError(
      'malformed-json',
      'The body could not be read: check its Content-Encoding and Content-Length.',
    );
  } else {
    log.error(
      { event: 'http:error', err: error, method: req.method, url: req.originalUrl },
      'request failed',
    );
    problem = new AppError(
      'internal',
      'Central could not complete this request and wrote nothing; try again, and tell IT if it persists.',
    );
  }
  res
    .status(problem.status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: `/problems/${problem.code}`,
        title: PROBLEMS[problem.code].title,
        status: problem.status,
        detail: problem.message,
        instance: req.originalUrl,
        ...(problem.errors ? { errors: problem.errors } : {}),
      }),
    );
}

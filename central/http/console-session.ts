import { timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { AppError } from '../errors.ts';
import { hashToken } from '../staff/secrets.ts';

/** The session cookie over https: the __Host- prefix pins it to this host, path / and Secure. */
export const SECURE_COOKIE = '__Host-sl_session';
/** The session cookie over plain http (a loopback or LAN install without TLS). */
export const PLAIN_COOKIE = 'sl_session';
/** The header a console page sends its CSRF token in, on every request that changes something. */
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The console session token a request carries in its cookie, if any. */
export function sessionCookieOf(req: Request): string | undefined {
  // cookie-parser fills req.cookies; a request that skipped it has none.
  const cookies = (req.cookies as Record<string, unknown> | undefined) ?? {};
  const value = cookies[SECURE_COOKIE] ?? cookies[PLAIN_COOKIE];
  return typeof value === 'string' && /^[A-Za-z0-9_-]{20,200}$/.test(value) ? value : undefined;
}

/** Sets the session cookie: HttpOnly, SameSite=Strict, Secure whenever the request came over https. */
export function setSessionCookie(
  req: Request,
  res: Response,
  token: string,
  expiresAt: Date,
): void {
  res.cookie(req.secure ? SECURE_COOKIE : PLAIN_COOKIE, token, {
    httpOnly: true,
    sameSite: 'strict',
    secure: req.secure,
    path: '/',
    expires: expiresAt,
  });
}

/** Clears both spellings of the session cookie. */
export function clearSessionCookie(req: Request, res: Response): void {
  for (const name of [SECURE_COOKIE, PLAIN_COOKIE]) {
    res.clearCookie(name, {
      httpOnly: true,
      sameSite: 'strict',
      secure: name === SECURE_COOKIE || req.secure,
      path: '/',
    });
  }
}

/**
 * A cookie-authenticated request that changes something must come from the console's own page:
 * it carries the session's CSRF token in a header a cross-site form cannot set, and any Origin it
 * sends is this host. SameSite=Strict already keeps the cookie off cross-site requests; this is
 * the second lock for browsers or proxies that do not honour it.
 */
export function checkCsrf(req: Request, csrfHash: string | null): void {
  if (SAFE_METHODS.has(req.method)) return;
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `${req.protocol}://${req.headers.host ?? ''}`) {
    throw new AppError('csrf', `A request from ${origin} may not use this console session.`);
  }
  const sent = req.headers[CSRF_HEADER];
  if (typeof sent !== 'string' || csrfHash === null || !sameHash(hashToken(sent), csrfHash)) {
    throw new AppError(
      'csrf',
      'This change did not come with the console page’s CSRF token; reload the page and try again.',
    );
  }
}

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

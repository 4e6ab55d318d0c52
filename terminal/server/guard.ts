import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

/**
 * The local server's front door. It listens on 127.0.0.1 only, and still checks every request:
 * a web page the counter's browser opens elsewhere can make the browser send requests here, and
 * a DNS-rebinding name can even make them look same-origin. So the Host must be this server's
 * own loopback address, an Origin (when a browser sends one) must be ours, and API calls must
 * carry the terminal's local token, which no other site can read.
 */
export interface GuardOptions {
  /** The port actually listened on (known after listen; read on every request). */
  port: () => number;
  token: string;
}

/** Host header values this server answers to. */
export function ownHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
}

/** True when the Host names this server on loopback; anything else may be DNS rebinding. */
export function isOwnHost(host: string | undefined, port: number): boolean {
  return host !== undefined && ownHosts(port).includes(host.toLowerCase());
}

/** True when a browser's Origin is this server itself; absent (non-browser clients) is allowed. */
export function isOwnOrigin(origin: string | undefined, port: number): boolean {
  if (origin === undefined) return true;
  return ownHosts(port).some((host) => origin.toLowerCase() === `http://${host}`);
}

/** Compares a presented bearer token with ours in constant time. */
export function isRightToken(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  const given = Buffer.from(match[1]);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Refuses requests for another host or from another site, before anything else runs. */
export function hostGuard(options: GuardOptions) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const port = options.port();
    if (!isOwnHost(req.headers.host, port)) {
      res.status(421).json({
        code: 'wrong-host',
        message: `This counter answers only to http://127.0.0.1:${port}/.`,
      });
      return;
    }
    if (!isOwnOrigin(req.headers.origin, port) || req.headers['sec-fetch-site'] === 'cross-site') {
      res.status(403).json({
        code: 'foreign-origin',
        message: 'Requests from other web sites are refused.',
      });
      return;
    }
    next();
  };
}

/** API calls must carry the local token (the UI has it from its URL; the POS from its config). */
export function tokenGuard(options: GuardOptions) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!isRightToken(req.headers.authorization, options.token)) {
      res.status(401).json({
        code: 'no-token',
        message:
          "This request needs the counter's local token (Authorization: Bearer …); find it in the terminal's data folder, file local-token.",
      });
      return;
    }
    next();
  };
}

/** Headers every answer carries: no framing, no sniffing, no referrers, scripts only from here. */
export function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader(
    'Content-Security-Policy',
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
  );
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  next();
}

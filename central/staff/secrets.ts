import { randomBytes, createHash } from 'node:crypto';

// Passwords and PINs are hashed by shared code: a terminal verifies a replicated PIN hash offline.
export { hashSecret, verifySecret } from '../../shared/secret-hash.ts';

/** A random bearer token and the hash under which it is stored. */
export function newToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

/** Tokens are random and long, so a fast hash suffices to keep them unusable at rest. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

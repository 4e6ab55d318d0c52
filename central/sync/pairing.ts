import { randomBytes, randomInt, createHash, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/connect.ts';
import { findShowroomId } from '../db/staff-store.ts';
import { insertPairingCode } from '../db/sync-store.ts';

// Crockford's base32: no I, L, O or U, so a code read aloud over the phone survives.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** How long a pairing code can be used. */
export const PAIRING_TTL_MS = 15 * 60_000;

/** A new pairing code, shown as XXXX-XXXX (40 random bits). */
export function newPairingCode(): string {
  const chars = Array.from({ length: 8 }, () => ALPHABET[randomInt(ALPHABET.length)] ?? '0');
  return `${chars.slice(0, 4).join('')}-${chars.slice(4).join('')}`;
}

/** The stored form of a code as typed: upper case, no dashes or spaces, O read as 0, I/L as 1. */
export function hashPairingCode(typed: string): string {
  const normal = typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return createHash('sha256').update(`pairing:${normal}`).digest('hex');
}

/** A terminal's id and its secret; central keeps only the secret's hash. */
export function newTerminalCredentials(showroomCode: string): { id: string; secret: string } {
  return {
    id: `${showroomCode}-T${randomBytes(3).toString('hex').toUpperCase()}`,
    secret: randomBytes(32).toString('base64url'),
  };
}

/** Terminal secrets are 256 random bits, so a plain hash keeps them unusable at rest. */
export function hashTerminalSecret(secret: string): string {
  return createHash('sha256').update(`terminal:${secret}`).digest('hex');
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function isTerminalSecret(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashTerminalSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Issues a pairing code for a showroom; undefined if there is no such showroom. */
export async function issuePairingCode(
  db: Db,
  showroomCode: string,
  now: Date,
): Promise<{ code: string; expiresAt: Date } | undefined> {
  const showroomId = await findShowroomId(db, showroomCode);
  if (showroomId === undefined) return undefined;
  const code = newPairingCode();
  const expiresAt = new Date(now.getTime() + PAIRING_TTL_MS);
  await insertPairingCode(db, hashPairingCode(code), showroomId, now, expiresAt);
  return { code, expiresAt };
}

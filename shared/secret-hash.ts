import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// scrypt with N=2^15 takes tens of milliseconds: cheap at sign-in, ruinous for guessing a PIN.
const PARAMS = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

/**
 * The scrypt parameters a stored hash may name. A hash is data (a replicated PIN hash, a row in
 * central's database): one that named a huge N, r or p could make each check cost seconds and
 * gigabytes. Below 2^14 is too cheap to guess against; 2^17 needs 128 MiB.
 */
export const SCRYPT_LIMITS = { minN: 1 << 14, maxN: 1 << 17, r: 8, p: 1 } as const;

/** Enough memory for the largest accepted N (scrypt needs 128·r·(N + 2) bytes and a little more). */
const VERIFY_MAXMEM = 128 * SCRYPT_LIMITS.r * (SCRYPT_LIMITS.maxN + 2) + 1024 * 1024;

/** Bytes of a derived key. */
const KEY_BYTES = 32;

function derive(secret: string, salt: Buffer, params: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret.normalize('NFC'), salt, KEY_BYTES, params, (err, key) => {
      if (err) reject(err);
      else resolve(key);
    });
  });
}

/** Hashes a password or PIN slowly, salted: `scrypt$N$r$p$salt$key` (salt and key in base64). */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt, PARAMS);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * True when `secret` matches a hash made by hashSecret; constant time in the comparison. A
 * malformed hash never matches, nor one naming parameters outside SCRYPT_LIMITS (r = 8, p = 1,
 * N a power of two from 2^14 to 2^17), which is refused before any work is done.
 */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key, ...rest] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !key || rest.length > 0) return false;
  if (![n, r, p].every((v) => /^[1-9]\d{0,6}$/.test(v))) return false;
  const params = { N: Number(n), r: Number(r), p: Number(p), maxmem: VERIFY_MAXMEM };
  if (params.r !== SCRYPT_LIMITS.r || params.p !== SCRYPT_LIMITS.p) return false;
  if (params.N < SCRYPT_LIMITS.minN || params.N > SCRYPT_LIMITS.maxN) return false;
  if ((params.N & (params.N - 1)) !== 0) return false; // scrypt needs a power of two
  const expected = Buffer.from(key, 'base64');
  if (expected.length !== KEY_BYTES) return false;
  let actual: Buffer;
  try {
    actual = await derive(secret, Buffer.from(salt, 'base64'), params);
  } catch {
    return false;
  }
  return timingSafeEqual(actual, expected);
}

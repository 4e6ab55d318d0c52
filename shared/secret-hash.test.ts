import { scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashSecret, SCRYPT_LIMITS, verifySecret } from './secret-hash.ts';

const SALT = Buffer.from('0123456789abcdef');

/** A hash of `secret` made with these parameters, as a stored hash would name them. */
function hashWith(secret: string, N: number, r: number, p: number): string {
  const key = scryptSync(secret, SALT, 32, { N, r, p, maxmem: 512 * 1024 * 1024 });
  return `scrypt$${N}$${r}$${p}$${SALT.toString('base64')}$${key.toString('base64')}`;
}

describe('secret hashes', () => {
  it('verifies what hashSecret made, and nothing else', async () => {
    const stored = await hashSecret('4321');
    expect(stored).toMatch(/^scrypt\$32768\$8\$1\$[^$]+\$[^$]+$/);
    expect(await verifySecret('4321', stored)).toBe(true);
    expect(await verifySecret('4322', stored)).toBe(false);
  });

  it('accepts N from 2^14 to 2^17 with r = 8 and p = 1: the right secret matches at both ends', async () => {
    expect(SCRYPT_LIMITS).toEqual({ minN: 2 ** 14, maxN: 2 ** 17, r: 8, p: 1 });
    for (const N of [2 ** 14, 2 ** 17]) {
      const stored = hashWith('2468', N, 8, 1);
      expect(await verifySecret('2468', stored), `N=${N}`).toBe(true);
      expect(await verifySecret('2469', stored), `N=${N}`).toBe(false);
    }
  });

  it('refuses, without deriving, a hash that names other parameters, even with the right key', async () => {
    const outside: [number, number, number][] = [
      [2 ** 13, 8, 1], // too cheap
      [2 ** 18, 8, 1], // too dear
      [2 ** 15, 16, 1],
      [2 ** 15, 4, 1],
      [2 ** 15, 8, 2],
    ];
    for (const [N, r, p] of outside) {
      const stored = hashWith('2468', N, r, p);
      const started = performance.now();
      expect(await verifySecret('2468', stored), `N=${N} r=${r} p=${p}`).toBe(false);
      // Refused from the text alone: far less time than deriving at the dear costs would take.
      expect(performance.now() - started).toBeLessThan(50);
    }
  });

  it('never matches a malformed hash', async () => {
    const good = hashWith('2468', 2 ** 14, 8, 1);
    const [, , , , salt, key] = good.split('$');
    for (const stored of [
      '',
      'bcrypt$16384$8$1$x$y',
      `scrypt$16384$8$1$${salt ?? ''}`,
      `scrypt$16385$8$1$${salt ?? ''}$${key ?? ''}`, // not a power of two
      `scrypt$1e5$8$1$${salt ?? ''}$${key ?? ''}`,
      `scrypt$016384$8$1$${salt ?? ''}$${key ?? ''}`,
      `scrypt$16384$8.0$1$${salt ?? ''}$${key ?? ''}`,
      `scrypt$16384$8$1$${salt ?? ''}$${key ?? ''}$extra`,
      `scrypt$16384$8$1$${salt ?? ''}$${Buffer.alloc(16).toString('base64')}`, // short key
    ]) {
      expect(await verifySecret('2468', stored), stored).toBe(false);
    }
    expect(await verifySecret('2468', good)).toBe(true);
  });
});

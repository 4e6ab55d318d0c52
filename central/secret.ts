import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Keys derived from central's one secret, each for one purpose. */
export interface ServerKeys {
  /** Keys the hash of every OTP, so a copy of the database does not give codes away. */
  otpHash: Buffer;
  /** Seals an OTP's text in the SMS outbox until it is sent. */
  outboxSeal: Buffer;
  /** Where the secret came from, for the startup log (never the secret itself). */
  source: 'OTP_SECRET' | 'file';
}

const KEY_FILE = 'server.key';

/**
 * Central's secret: OTP_SECRET when set (production, and every process of a cluster must share
 * it), else a random key kept in the data folder with owner-only permissions, made on first run.
 */
export function loadServerKeys(options: {
  secret?: string | undefined;
  dataDir: string;
}): ServerKeys {
  let secret: Buffer;
  let source: ServerKeys['source'];
  if (options.secret) {
    secret = Buffer.from(options.secret, 'utf8');
    source = 'OTP_SECRET';
  } else {
    const file = path.join(options.dataDir, KEY_FILE);
    fs.mkdirSync(options.dataDir, { recursive: true });
    try {
      fs.writeFileSync(file, randomBytes(32).toString('base64') + '\n', {
        flag: 'wx',
        mode: 0o600,
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    secret = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
    if (secret.length < 32)
      throw new Error(`${file} is damaged: it must hold 32 random bytes in base64`);
    source = 'file';
  }
  const derive = (info: string) =>
    Buffer.from(hkdfSync('sha256', secret, 'showroom-loyalty', info, 32));
  return { otpHash: derive('otp-hash'), outboxSeal: derive('outbox-seal'), source };
}

/** Encrypts a short text with AES-256-GCM; the result is base64 of nonce, tag and ciphertext. */
export function seal(key: Buffer, plain: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64');
}

/** Opens what `seal` made; throws if it was altered or sealed with another key. */
export function unseal(key: Buffer, sealed: string): string {
  const raw = Buffer.from(sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}

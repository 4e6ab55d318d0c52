import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServerKeys, seal, unseal } from '../secret.ts';
import { redact } from '../sms/worker.ts';
import { hashOtp, isOtpShape, newOtpCode, otpMatches, type OtpBinding } from './otp.ts';

const binding: OtpBinding = {
  redemptionId: 7,
  memberId: 42,
  terminalId: 'MUM-01-T1',
  points: 100,
  billNumber: 'B-1',
};

describe('OTP codes and hashes', () => {
  it('makes six-digit codes, leading zeros kept, spread over the whole range', () => {
    const codes = Array.from({ length: 20_000 }, () => newOtpCode());
    expect(codes.every(isOtpShape)).toBe(true);
    // Each first digit should turn up about 2,000 times; a biased generator would not.
    const firsts = new Map<string, number>();
    for (const c of codes) firsts.set(c[0] ?? '', (firsts.get(c[0] ?? '') ?? 0) + 1);
    expect(firsts.size).toBe(10);
    for (const n of firsts.values()) expect(n).toBeGreaterThan(1_600);
    expect(new Set(codes).size).toBeGreaterThan(19_000);
  });

  it('binds a code to member, terminal, points and bill: changing any one fails', () => {
    const key = Buffer.alloc(32, 1);
    const hash = hashOtp(key, binding, '012345');
    expect(otpMatches(key, binding, '012345', hash)).toBe(true);
    expect(otpMatches(key, binding, '012346', hash)).toBe(false);
    for (const changed of [
      { redemptionId: 8 },
      { memberId: 43 },
      { terminalId: 'MUM-01-T2' },
      { points: 1_000 },
      { billNumber: 'B-2' },
    ]) {
      expect(otpMatches(key, { ...binding, ...changed }, '012345', hash)).toBe(false);
    }
    // Keyed: the same code under another key does not match (a stolen table is not enough).
    expect(otpMatches(Buffer.alloc(32, 2), binding, '012345', hash)).toBe(false);
  });
});

describe('server keys and sealing', () => {
  it('keeps a random key in the data folder, owner-only, the same on every start', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sl-key-'));
    const first = loadServerKeys({ dataDir: dir });
    const again = loadServerKeys({ dataDir: dir });
    expect(first.source).toBe('file');
    expect(again.otpHash.equals(first.otpHash)).toBe(true);
    expect(first.otpHash.equals(first.outboxSeal)).toBe(false);
    expect(fs.statSync(path.join(dir, 'server.key')).mode & 0o777).toBe(0o600);
    const fromEnv = loadServerKeys({ dataDir: dir, secret: 'x'.repeat(32) });
    expect(fromEnv.source).toBe('OTP_SECRET');
    expect(fromEnv.otpHash.equals(first.otpHash)).toBe(false);
  });

  it('seals and opens a text; a changed byte or another key is refused', () => {
    const key = Buffer.alloc(32, 3);
    const sealed = seal(key, '123456 is your OTP');
    expect(sealed).not.toContain('123456');
    expect(unseal(key, sealed)).toBe('123456 is your OTP');
    const raw = Buffer.from(sealed, 'base64');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(() => unseal(key, raw.toString('base64'))).toThrow();
    expect(() => unseal(Buffer.alloc(32, 4), sealed)).toThrow();
  });
});

describe('redacting an echoed OTP', () => {
  it('masks the secret values a gateway may echo in its error, and nothing else', () => {
    const sent = { text: '482913 is your OTP for 100 points', variables: ['482913', '100'] };
    const stored = { variables: ['******', '100'] };
    expect(redact('http gateway: HTTP 400: bad message "482913 is your OTP"', sent, stored)).toBe(
      'http gateway: HTTP 400: bad message "****** is your OTP"',
    );
    expect(redact('twilio: HTTP 500', sent, stored)).toBe('twilio: HTTP 500');
  });
});

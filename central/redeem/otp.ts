import { createHmac, randomInt, timingSafeEqual } from 'node:crypto';

/** What an OTP is bound to: a code for one of these does not open any other. */
export interface OtpBinding {
  redemptionId: number;
  memberId: number;
  terminalId: string;
  points: number;
  billNumber: string;
}

/** Six digits from the operating system's cryptographic generator, leading zeros kept. */
export function newOtpCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

/** Keyed hash of a code together with everything it is bound to. */
export function hashOtp(key: Buffer, binding: OtpBinding, code: string): string {
  const bound = [
    binding.redemptionId,
    binding.memberId,
    binding.terminalId,
    binding.points,
    binding.billNumber,
    code,
  ].join('\u0000');
  return createHmac('sha256', key).update(bound).digest('hex');
}

/** Compares in constant time, so the time taken says nothing about how close a guess was. */
export function otpMatches(
  key: Buffer,
  binding: OtpBinding,
  code: string,
  storedHash: string,
): boolean {
  const expected = Buffer.from(storedHash, 'hex');
  const actual = Buffer.from(hashOtp(key, binding, code), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Whether a typed code even looks like an OTP; anything else is refused without a try. */
export function isOtpShape(code: string): boolean {
  return /^\d{6}$/.test(code);
}

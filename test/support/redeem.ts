import path from 'node:path';
import { readDevMessages, type DevMessage } from '../../central/sms/providers/dev.ts';
import { CounterError, type TerminalCore } from '../../terminal/core.ts';
import type { TestCentral } from './central.ts';
import { counterSale, waitConverged, waitFor } from './terminal.ts';

let mobileCounter = 0;

/** A fresh mobile number for a test's member (10 digits, starting 9). */
export function freshMobile(): string {
  mobileCounter += 1;
  return `+9197${String(process.pid % 1000).padStart(3, '0')}${String(mobileCounter).padStart(5, '0')}`;
}

/** The messages the development provider "sent" (its file in central's data folder). */
export function devMessages(c: TestCentral): DevMessage[] {
  return readDevMessages(path.join(c.database.env.DATA_DIR, 'sms-outbox.log'));
}

/** Waits for the `nth` OTP SMS to `mobile` and returns its code, read from the message text. */
export async function readOtp(c: TestCentral, mobile: string, nth = 1): Promise<string> {
  let code = '';
  await waitFor(`OTP SMS #${nth} to ${mobile}`, () => {
    const otps = devMessages(c).filter((m) => m.to === mobile && m.kind === 'otp');
    const match = /(\d{6})/.exec(otps[nth - 1]?.text ?? '');
    code = match?.[1] ?? '';
    return code !== '';
  });
  return code;
}

/** Enrols a member at `core` and gives them `points` (Books earn 5 per ₹100), synced to central. */
export async function memberWithPoints(
  c: TestCentral,
  core: TerminalCore,
  points: number,
  options: { smsConsent?: boolean; name?: string } = {},
): Promise<string> {
  const mobile = freshMobile();
  // A new counter computes points once its first pull brought the rules.
  await waitFor('the earn rules to reach the counter', () => core.store.rules !== undefined);
  core.enrol({
    mobile,
    name: options.name ?? 'Kavita Nair',
    smsConsent: options.smsConsent ?? true,
  });
  if (points > 0) {
    core.recordSale(counterSale(`EARN-${mobile.slice(-6)}`, mobile, [['BOOK', points * 20]]));
  }
  await waitConverged(core, c.central);
  return mobile;
}

/** A member's balance at central and the sum of their ledger entries (they must agree). */
export async function centralBalance(c: TestCentral, mobile: string): Promise<number> {
  const member: { id: number; balance: number } | undefined = await c.central.db
    .knex('members')
    .where('mobile', mobile)
    .first('id', 'balance');
  if (!member) throw new Error(`no member ${mobile}`);
  const sum = (await c.central.db
    .knex('ledger_entries')
    .where('member_id', member.id)
    .sum({ s: 'points' })
    .first()) as { s: number | string | null } | undefined;
  const ledger = Number(sum?.s ?? 0);
  if (ledger !== member.balance) {
    throw new Error(`member ${mobile}: balance ${member.balance} but ledger sums to ${ledger}`);
  }
  return member.balance;
}

/** The refusal a promise ends with, as the cashier would read it; fails if it succeeded. */
export async function refusal(promise: Promise<unknown>): Promise<CounterError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CounterError) return error;
    throw error;
  }
  throw new Error('expected a refusal, but it succeeded');
}

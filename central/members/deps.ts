import type { Db } from '../db/connect.ts';
import type { SettingsCache } from '../db/settings-store.ts';
import type { LedgerWriter } from '../ledger/writer.ts';
import type { Composer } from '../sms/messages.ts';
import type { Clock } from '../time.ts';

/** What the console's member use-cases need from a central process. */
export interface MemberAdminDeps {
  db: Db;
  writer: LedgerWriter;
  clock: Clock;
  settings: SettingsCache;
  composer: Composer;
  /** Keys the codes' hashes (the redemption OTPs' key). */
  otpKey: Buffer;
  /** Called after a code's SMS is committed, so the SMS worker sends it now. */
  wakeSms: () => void;
}

/** The staff member making a change, and from where (for the audit log). */
export interface StaffActor {
  id: number;
  username: string;
  role: 'cashier' | 'manager' | 'admin';
  showroomId: number | null;
  ip: string | null;
}

import { randomBytes } from 'node:crypto';
import type { StaffView } from './contract.ts';

/** Wrong PINs in a row before a name is locked, and for how long. */
export const MAX_PIN_FAILURES = 5;
export const PIN_LOCK_MS = 5 * 60_000;
/** A counter left alone signs its cashier out. */
export const SESSION_IDLE_MS = 30 * 60_000;

/** Why a sign-in failed, for the cashier. */
export type SignInRefusal =
  | { code: 'wrong-pin'; message: string; triesLeft: number }
  | { code: 'locked'; message: string; untilMs: number };

/**
 * Who is signed in at this counter. Sessions live in memory only: a restart signs everyone out,
 * which is what a counter should do. A name with too many wrong PINs is locked for a while, so a
 * 4-digit PIN cannot be guessed at the screen or through the API.
 */
export class StaffSessions {
  private readonly sessions = new Map<string, { staff: StaffView; lastUsedMs: number }>();
  private readonly failures = new Map<string, { count: number; lockedUntilMs: number }>();
  private readonly now: () => number;
  private readonly idleMs: number;

  constructor(options: { now?: () => number; idleMs?: number } = {}) {
    this.now = options.now ?? Date.now;
    this.idleMs = options.idleMs ?? SESSION_IDLE_MS;
  }

  /** The lock on a name, if any; checked before the PIN is even hashed. */
  lockOf(username: string): SignInRefusal | undefined {
    const entry = this.failures.get(username);
    if (!entry || entry.lockedUntilMs <= this.now()) return undefined;
    const minutes = Math.ceil((entry.lockedUntilMs - this.now()) / 60_000);
    return {
      code: 'locked',
      message: `Too many wrong PINs for ${username}; try again in ${minutes} min or ask a manager.`,
      untilMs: entry.lockedUntilMs,
    };
  }

  /** Records a wrong PIN; the answer says how many tries are left or that the name is locked. */
  fail(username: string): SignInRefusal {
    const entry = this.failures.get(username) ?? { count: 0, lockedUntilMs: 0 };
    if (entry.lockedUntilMs !== 0 && entry.lockedUntilMs <= this.now()) entry.count = 0;
    entry.count += 1;
    if (entry.count >= MAX_PIN_FAILURES) entry.lockedUntilMs = this.now() + PIN_LOCK_MS;
    this.failures.set(username, entry);
    const lock = this.lockOf(username);
    if (lock) return lock;
    const triesLeft = MAX_PIN_FAILURES - entry.count;
    return {
      code: 'wrong-pin',
      message: `Wrong name or PIN; ${triesLeft} ${triesLeft === 1 ? 'try' : 'tries'} left.`,
      triesLeft,
    };
  }

  open(staff: StaffView): string {
    this.failures.delete(staff.username);
    const id = randomBytes(24).toString('base64url');
    this.sessions.set(id, { staff, lastUsedMs: this.now() });
    return id;
  }

  /** The signed-in staff of a session, refreshing its idle timer; undefined when gone or idle. */
  touch(id: string | undefined): StaffView | undefined {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (this.now() - session.lastUsedMs > this.idleMs) {
      this.sessions.delete(id);
      return undefined;
    }
    session.lastUsedMs = this.now();
    return session.staff;
  }

  close(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  /** Ends the sessions of staff no longer allowed here (PIN changed, left, moved showroom). */
  retain(isAllowed: (staff: StaffView) => boolean): void {
    for (const [id, session] of this.sessions) {
      if (!isAllowed(session.staff)) this.sessions.delete(id);
    }
  }

  /** The most recently active signed-in staff, for the status bar of a shared screen. */
  latest(): StaffView | undefined {
    let best: { staff: StaffView; lastUsedMs: number } | undefined;
    for (const session of this.sessions.values()) {
      if (!best || session.lastUsedMs > best.lastUsedMs) best = session;
    }
    return best?.staff;
  }
}

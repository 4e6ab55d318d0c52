import { AppError } from '../errors.ts';

const WINDOW_MS = 15 * 60_000;
/** Wrong passwords allowed for one username in the window. */
const PER_NAME = 5;
/** Wrong passwords allowed from one address in the window, across usernames. */
const PER_ADDRESS = 20;
/** Keys remembered at most; the oldest are forgotten first (a flood cannot grow memory). */
const MAX_KEYS = 50_000;

/**
 * Refuses sign-in for a while after repeated failures, per username and per client address, so
 * that neither guessing one account's password nor trying one password on many accounts pays.
 * One instance serves every sign-in route (API and console), so attempts add up across them.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  /** Throws 'too-many-requests' if this username or address must wait. */
  check(username: string, address: string | undefined, nowMs: number): void {
    if (this.recent(`u:${username}`, nowMs) >= PER_NAME) {
      throw new AppError(
        'too-many-requests',
        `Too many wrong passwords for ${username}; wait 15 minutes or ask an admin.`,
      );
    }
    if (address && this.recent(`a:${address}`, nowMs) >= PER_ADDRESS) {
      throw new AppError(
        'too-many-requests',
        'Too many wrong passwords from this computer; wait 15 minutes.',
      );
    }
  }

  fail(username: string, address: string | undefined, nowMs: number): void {
    this.push(`u:${username}`, nowMs);
    if (address) this.push(`a:${address}`, nowMs);
  }

  /** A right password clears its username (not its address: one success must not reset a spray). */
  clear(username: string): void {
    this.failures.delete(`u:${username}`);
  }

  private recent(key: string, nowMs: number): number {
    const times = (this.failures.get(key) ?? []).filter((t) => t > nowMs - WINDOW_MS);
    if (times.length === 0) this.failures.delete(key);
    else this.failures.set(key, times);
    return times.length;
  }

  private push(key: string, nowMs: number): void {
    const times = this.failures.get(key) ?? [];
    this.failures.delete(key);
    if (this.failures.size >= MAX_KEYS) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    this.failures.set(key, [...times.filter((t) => t > nowMs - WINDOW_MS), nowMs]);
  }
}

import { INTERNAL_KEY_PREFIX } from '../../shared/protocol/api.ts';
import type { Db } from '../db/connect.ts';
import type { SettingsCache } from '../db/settings-store.ts';
import * as smsStore from '../db/sms-store.ts';
import { AppError } from '../errors.ts';
import { hashRequest, type LedgerWriter } from '../ledger/writer.ts';
import type { Logger } from '../log.ts';
import { localDateTime, nextDay, startOfDay, type Clock } from '../time.ts';
import { compose, type Composer } from './messages.ts';
import { fitName } from './templates.ts';

type WishKind = 'birthday' | 'anniversary';

export interface WishDeps {
  db: Db;
  writer: LedgerWriter;
  clock: Clock;
  log: Logger;
  settings: SettingsCache;
  composer: Composer;
  /** The chain's time zone: wishes go out at `sendAt` local time. */
  timeZone: string;
  wakeSms: () => void;
}

/** What one day's run did. */
export interface WishRun {
  date: string;
  birthday: number;
  anniversary: number;
  bonusPoints: number;
}

const CHECK_MS = 60_000;

/**
 * Birthday and anniversary wishes, once a day at the configured local time, with any bonus
 * points. Each wish is a keyed member operation (`wish:<kind>:<member>:<year>`), and its SMS has
 * the same dedupe key: a restart, a second run or a second central process replays it instead
 * of wishing twice. A day missed entirely (central down) is not wished late.
 */
export class WishScheduler {
  private readonly deps: WishDeps;
  private timer: NodeJS.Timeout | undefined;
  private doneFor: string | undefined;
  private running: Promise<unknown> | undefined;

  constructor(deps: WishDeps) {
    this.deps = deps;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      void this.tick();
    }, CHECK_MS);
    this.timer.unref();
    void this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Runs today's wishes if their time has come and this process has not run them yet. */
  async tick(): Promise<WishRun | undefined> {
    if (this.running) return undefined;
    const { clock, settings, db, log, timeZone } = this.deps;
    const { date, time } = localDateTime(clock.now(), timeZone);
    if (this.doneFor === date) return undefined;
    const wishes = (await settings.get(db.knex)).wishes;
    if (time < wishes.sendAt) return undefined;
    const run = this.runFor(date);
    this.running = run;
    try {
      const result = await run;
      this.doneFor = date;
      log.info({ event: 'wishes:done', ...result }, 'daily wishes written');
      return result;
    } catch (error) {
      log.error({ event: 'wishes:failed', err: error }, 'daily wishes failed; will try again');
      return undefined;
    } finally {
      this.running = undefined;
    }
  }

  /** Writes the wishes (and bonuses) of a local calendar day; safe to repeat. */
  async runFor(date: string): Promise<WishRun> {
    const { db, settings } = this.deps;
    const wishes = (await settings.get(db.knex)).wishes;
    const result: WishRun = { date, birthday: 0, anniversary: 0, bonusPoints: 0 };
    for (const kind of ['birthday', 'anniversary'] as const) {
      if (!wishes[kind]) continue;
      const bonus =
        kind === 'birthday' ? wishes.birthdayBonusPoints : wishes.anniversaryBonusPoints;
      const ids = await this.membersOf(kind, date);
      for (let i = 0; i < ids.length; i += 500) {
        const done = await Promise.all(
          ids.slice(i, i + 500).map((id) => this.wish(kind, id, date, bonus)),
        );
        for (const wrote of done) {
          if (!wrote) continue;
          result[kind] += 1;
          result.bonusPoints += bonus;
        }
      }
    }
    this.deps.wakeSms();
    return result;
  }

  /** Members whose day it is; 29 February is wished on 28 February in other years. */
  private async membersOf(kind: WishKind, date: string): Promise<number[]> {
    const year = Number(date.slice(0, 4));
    const monthDay = date.slice(5);
    const days = [monthDay];
    if (monthDay === '02-28' && !isLeap(year)) days.push('02-29');
    const rows: { id: number }[] = await this.deps.db
      .knex('members')
      .whereRaw(`substr(${kind}, 6, 5) in (${days.map(() => '?').join(', ')})`, days)
      .where(kind, '<', date)
      // A record merged into another is wished through the member it became, never twice.
      .whereNull('merged_into_id')
      .orderBy('id')
      .select('id');
    return rows.map((r) => r.id);
  }

  /** One member's wish; true when written now, false when it was already written before. */
  private async wish(
    kind: WishKind,
    memberId: number,
    date: string,
    bonus: number,
  ): Promise<boolean> {
    const { writer, composer, timeZone } = this.deps;
    const year = date.slice(0, 4);
    const key = `${INTERNAL_KEY_PREFIX}wish:${kind}:${memberId}:${year}`;
    try {
      const outcome = await writer.write({
        kind: 'member-op',
        operation: 'wish',
        key,
        requestHash: hashRequest({ kind, memberId, year }),
        memberId,
        actor: { staffId: null, role: 'admin', showroomId: null },
        run: async (ctx) => {
          const balance =
            bonus > 0
              ? ctx.post({
                  kind: 'bonus',
                  points: bonus,
                  key,
                  showroomId: null,
                  terminalId: null,
                  reason: `${kind} ${year}`,
                })
              : ctx.member.balance;
          const member:
            { mobile: string; name: string; sms_consent: boolean | number } | undefined = await ctx
            .trx('members')
            .where('id', memberId)
            .first('mobile', 'name', 'sms_consent');
          if (member?.sms_consent) {
            const hindi = composer.config.language === 'hi';
            const row = compose(composer, {
              kind,
              dedupeKey: `${kind}:${memberId}:${year}`,
              memberId,
              mobile: member.mobile,
              values: {
                name: fitName(member.name),
                bonus:
                  bonus > 0
                    ? hindi
                      ? `${bonus} बोनस पॉइंट जोड़े गए।`
                      : `We added ${bonus} bonus points.`
                    : hindi
                      ? 'आपका दिन शुभ हो।'
                      : 'Have a wonderful day.',
                balance: String(balance),
              },
              expiresAt: startOfDay(nextDay(date), timeZone),
            });
            await smsStore.insertOutbox(ctx.trx, [row], ctx.now);
          }
          return { status: 201, body: { memberId, kind, year, bonus } };
        },
      });
      return !outcome.replayed;
    } catch (error) {
      if (error instanceof AppError) {
        this.deps.log.warn({ event: 'wishes:refused', memberId, kind, err: error }, 'wish refused');
        return false;
      }
      throw error;
    }
  }
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

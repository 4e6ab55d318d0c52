import type { EventEmitter } from 'node:events';
import type { Request, Response } from 'express';
import { LIVE_TODAY_EVENT, type TodayQuery } from '../../shared/protocol/reports.ts';
import type { Logger } from '../log.ts';
import { todaySummary, type ReportDeps } from './queries.ts';

/** Timings of the live feed (tests shorten them). */
export interface LiveOptions {
  /** At most one push per client in this long; commits in between share the next push. */
  minIntervalMs: number;
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs: number;
}

/** The change feed's events after which today's figures are read again. */
const LIVE_EVENTS = ['committed', 'committed:elsewhere', 'sms:status'] as const;

interface Client {
  query: TodayQuery;
  res: Response;
  lastSentMs: number;
  timer: NodeJS.Timeout | undefined;
  busy: boolean;
  again: boolean;
}

/**
 * Today's figures as server-sent events: sent at once, then again after ledger commits (and SMS
 * status changes), coalesced to one push a second per client, with a heartbeat. One listener on
 * the change feed serves every client. Commits of the other central processes that share the
 * database arrive on it too ('committed:elsewhere', from the sync server's adapter).
 */
export class LiveToday {
  private readonly clients = new Set<Client>();
  private readonly options: LiveOptions;
  private readonly deps: ReportDeps;
  private readonly changes: EventEmitter;
  private readonly log: Logger | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly onChange = () => {
    for (const client of this.clients) this.schedule(client);
  };

  constructor(
    deps: ReportDeps,
    changes: EventEmitter,
    options: Partial<LiveOptions> = {},
    log?: Logger,
  ) {
    this.deps = deps;
    this.changes = changes;
    this.log = log;
    this.options = { minIntervalMs: 1_000, heartbeatMs: 25_000, ...options };
  }

  /** Clients connected now. */
  get size(): number {
    return this.clients.size;
  }

  /**
   * Answers `req` with the event stream. The first figures are read before any header is sent,
   * so a bad query (an unknown showroom) still gets its problem document.
   */
  async attach(query: TodayQuery, req: Request, res: Response): Promise<void> {
    const first = await todaySummary(this.deps, query);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: 5000\n\n`);
    const client: Client = {
      query,
      res,
      lastSentMs: performance.now(),
      timer: undefined,
      busy: false,
      again: false,
    };
    this.send(client, first);
    if (this.clients.size === 0) {
      for (const event of LIVE_EVENTS) this.changes.on(event, this.onChange);
      this.heartbeat = setInterval(() => {
        for (const c of this.clients) c.res.write(`: heartbeat\n\n`);
      }, this.options.heartbeatMs);
      this.heartbeat.unref();
    }
    this.clients.add(client);
    const close = () => {
      if (!this.clients.delete(client)) return;
      clearTimeout(client.timer);
      if (this.clients.size === 0) {
        for (const event of LIVE_EVENTS) this.changes.off(event, this.onChange);
        clearInterval(this.heartbeat);
        this.heartbeat = undefined;
      }
    };
    req.on('close', close);
    res.on('close', close);
  }

  private send(client: Client, figures: unknown): void {
    client.lastSentMs = performance.now();
    client.res.write(`event: ${LIVE_TODAY_EVENT}\ndata: ${JSON.stringify(figures)}\n\n`);
  }

  private schedule(client: Client): void {
    if (client.busy) {
      client.again = true;
      return;
    }
    if (client.timer !== undefined) return;
    const waitMs = Math.max(0, client.lastSentMs + this.options.minIntervalMs - performance.now());
    client.timer = setTimeout(() => {
      client.timer = undefined;
      void this.push(client);
    }, waitMs);
  }

  private async push(client: Client): Promise<void> {
    if (!this.clients.has(client)) return;
    client.busy = true;
    try {
      const figures = await todaySummary(this.deps, client.query);
      if (this.clients.has(client)) this.send(client, figures);
    } catch (error) {
      this.log?.warn({ event: 'reports:live-error', err: error }, 'live figures failed');
    } finally {
      client.busy = false;
    }
    if (client.again) {
      client.again = false;
      this.schedule(client);
    }
  }
}

import http from 'node:http';
import { createAdapter } from '@socket.io/postgres-adapter';
import { createAdapterPool } from './sync/adapter-pool.ts';
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type express from 'express';
import type { Config } from './config.ts';
import { migrateLatest, openDb, type Db } from './db/connect.ts';
import { createApp, type SessionCache } from './http/app.ts';
import { buildOpenApi } from './http/openapi.ts';
import { createRoutes } from './http/routes.ts';
import { route } from './http/route.ts';
import { LedgerWriter } from './ledger/writer.ts';
import { ensureRollups, prefetchHistory, rollupHook } from './reports/rollups.ts';
import { SettingsCache } from './db/settings-store.ts';
import { deliveryOf, RedemptionService } from './redeem/service.ts';
import { loadServerKeys, type ServerKeys } from './secret.ts';
import { SmsRuntime, type SmsConfig } from './sms/config.ts';
import { earnNotices } from './sms/notices.ts';
import type { Composer } from './sms/messages.ts';
import type { SmsProvider } from './sms/provider.ts';
import { fitName } from './sms/templates.ts';
import { SmsWorker, type SmsStatusEvent } from './sms/worker.ts';
import { REDEEM_EVENTS, type SmsPush } from '../shared/protocol/redeem.ts';
import { LEDGER_EVENTS } from '../shared/protocol/ledger.ts';
import { ledgerStatement } from './ledger/statement.ts';
import { WishScheduler } from './sms/wishes.ts';
import {
  ADAPTER_HEARTBEAT_MS,
  ADAPTER_SILENCE_MS,
  SyncServer,
  type SyncOptions,
} from './sync/server.ts';
import { createLogger, type Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { systemClock, type Clock } from './time.ts';
import pkg from '../package.json' with { type: 'json' };
import { fileURLToPath } from 'node:url';

/** Where `npm run build:ui` puts the console. */
const CONSOLE_DIR = fileURLToPath(new URL('./admin-ui/dist/', import.meta.url));

/** A central process's parts, for the CLI, the tests and the benchmarks. */
export interface Central {
  config: Config;
  db: Db;
  log: Logger;
  metrics: Metrics;
  writer: LedgerWriter;
  app: express.Express;
  clock: Clock;
  /** 'committed' (a Stamp) after each ledger commit; 'committed:elsewhere' when another
   * central process's commit arrives through the sync adapter; 'terminal:revoked' (an id);
   * 'sms:status' (SmsStatusEvent) as a message is sent or fails. */
  changes: EventEmitter;
  settings: SettingsCache;
  keys: ServerKeys;
  /** `config` and `provider` are the ones in use now (see SmsRuntime: the console may change them). */
  sms: {
    readonly config: SmsConfig;
    readonly provider: SmsProvider;
    runtime: SmsRuntime;
    worker: SmsWorker;
    composer: Composer;
  };
  wishes: WishScheduler;
  redemption: RedemptionService;
}

/** Opens the database, migrates it and builds the app; does not listen. */
export async function createCentral(
  config: Config,
  options: { clock?: Clock; log?: Logger } = {},
): Promise<Central> {
  const log = options.log ?? createLogger(config.LOG_LEVEL);
  const clock = options.clock ?? systemClock;
  const db = openDb({
    dataDir: config.DATA_DIR,
    poolMax: config.DB_POOL_MAX,
    ...(config.DATABASE_URL ? { databaseUrl: config.DATABASE_URL } : {}),
  });
  const ran = await migrateLatest(db);
  if (ran.length > 0) log.info({ event: 'db:migrated', migrations: ran }, 'database migrated');
  await ensureRollups(db, config.TIME_ZONE, log);
  const metrics = createMetrics();
  const changes = new EventEmitter();
  const keys = loadServerKeys({ secret: config.OTP_SECRET, dataDir: config.DATA_DIR });
  if (keys.source === 'file' && db.dialect === 'pg') {
    log.warn(
      { event: 'otp:key-file' },
      'OTP_SECRET is not set: OTP hashes are keyed by a file in DATA_DIR; every central process of the chain needs the same key, so set OTP_SECRET',
    );
  }
  const smsRuntime = await SmsRuntime.open({
    db,
    file: config.SMS_CONFIG_FILE,
    providerDeps: { dataDir: config.DATA_DIR, log: log.child({ module: 'sms-dev' }) },
    log,
  });
  if (smsRuntime.config.provider.provider === 'dev' && db.dialect === 'pg') {
    log.warn(
      { event: 'sms:dev-provider' },
      "No SMS gateway is configured (SMS_CONFIG_FILE or the console's SMS settings): the development provider writes messages (OTPs included) to a file and sends nothing; members will get no SMS",
    );
  }
  const settings = new SettingsCache();
  const composer: Composer = {
    // Read on each message: a configuration saved from the console applies to the next one.
    get config() {
      return smsRuntime.config;
    },
    sealKey: keys.outboxSeal,
    chainName: fitName(config.CHAIN_NAME),
  };
  const writer = new LedgerWriter({
    db,
    clock,
    maxBatch: config.WRITE_BATCH_MAX,
    maxInFlight: db.dialect === 'pg' ? Math.min(config.WRITE_CONCURRENCY, config.DB_POOL_MAX) : 1,
    parallelFrom: config.WRITE_PARALLEL_FROM,
    saleMaxAgeDays: config.SALE_MAX_AGE_DAYS,
    clockSkewSeconds: config.CLOCK_SKEW_SECONDS,
    onCommitted: (stamp) => changes.emit('committed', stamp),
    inTransaction: earnNotices({ settings, composer }),
    rollups: rollupHook(db, config.TIME_ZONE),
    rollupHistory: prefetchHistory,
    onBatch: (size, ms) => {
      metrics.batchSize.observe(size);
      metrics.batchSeconds.observe(ms / 1000);
    },
  });
  const sessions: SessionCache = new Map();
  const routes = createRoutes({
    settings,
    sms: smsRuntime,
    memberCodes: {
      composer,
      otpKey: keys.otpHash,
      wakeSms: () => {
        worker.wake();
      },
    },
    forgetSession: (hash) => sessions.delete(hash),
    db,
    writer,
    clock,
    metrics,
    timeZone: config.TIME_ZONE,
    sessionTtlHours: config.SESSION_TTL_HOURS,
    version: pkg.version,
    changes,
  });
  const system = [
    route({
      method: 'get',
      path: '/healthz',
      operationId: 'health',
      summary: 'Liveness and database reachability',
      tag: 'system',
      access: 'public',
      responses: { 200: { description: 'Healthy' } },
      handler: async () => {
        await db.knex.raw('select 1');
        return { status: 200, body: { status: 'ok', database: db.dialect, version: pkg.version } };
      },
    }),
    route({
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      tag: 'system',
      access: 'public',
      responses: { 200: { description: 'Prometheus text format' } },
      handler: async ({ res }) => {
        metrics.writerQueue.set(writer.waiting);
        res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
        return { status: 200, body: undefined, headers: {} };
      },
    }),
    route({
      method: 'get',
      path: '/api/openapi.json',
      operationId: 'openapi',
      summary: 'This document',
      tag: 'system',
      access: 'public',
      responses: { 200: { description: 'OpenAPI 3.1' } },
      handler: () => Promise.resolve({ status: 200, body: openapi }),
    }),
  ];
  const all = [...system, ...routes];
  const openapi = buildOpenApi(all, pkg.version);
  const app = createApp(
    {
      db,
      log,
      metrics,
      clock,
      bodyLimitKb: config.BODY_LIMIT_KB,
      logRequests: config.LOG_REQUESTS,
      sessions,
      consoleDir: CONSOLE_DIR,
      trustProxy: config.TRUST_PROXY,
    },
    all,
  );
  const worker = new SmsWorker({
    db,
    sms: smsRuntime,
    sealKey: keys.outboxSeal,
    clock,
    log,
    events: changes,
  });
  const redemption = new RedemptionService({
    db,
    writer,
    clock,
    settings,
    composer,
    otpKey: keys.otpHash,
    wakeSms: () => {
      worker.wake();
    },
  });
  const wishes = new WishScheduler({
    db,
    writer,
    clock,
    log,
    settings,
    composer,
    timeZone: config.TIME_ZONE,
    wakeSms: () => {
      worker.wake();
    },
  });
  return {
    config,
    db,
    log,
    metrics,
    writer,
    app,
    clock,
    changes,
    settings,
    keys,
    sms: {
      get config() {
        return smsRuntime.config;
      },
      get provider() {
        return smsRuntime.provider;
      },
      runtime: smsRuntime,
      worker,
      composer,
    },
    wishes,
    redemption,
  };
}

/** A listening central: its HTTP server, URL and sync server, and how to stop all of it. */
export interface Listening {
  server: http.Server;
  url: string;
  sync: SyncServer;
  close(): Promise<void>;
}

/**
 * Listens on the configured host and port, with terminal sync attached. On PostgreSQL, pushes
 * fan out to terminals connected to every central process through the Socket.IO PostgreSQL
 * adapter (LISTEN/NOTIFY on the same database), so processes can sit behind a load balancer.
 */
export async function listen(central: Central, options: SyncOptions = {}): Promise<Listening> {
  const server = http.createServer(central.app);
  let adapterPool: ReturnType<typeof createAdapterPool> | undefined;
  let adapter = options.adapter;
  if (!adapter && central.db.dialect === 'pg' && central.config.DATABASE_URL) {
    adapterPool = createAdapterPool(central.config.DATABASE_URL, central.log);
    adapter = createAdapter(adapterPool.pool, {
      // Often enough that a process soon knows whether any other listens (see pushElsewhere).
      heartbeatInterval: ADAPTER_HEARTBEAT_MS,
      errorHandler: (error) => {
        central.log.warn({ event: 'sync:adapter-error', err: error }, 'sync adapter failed');
      },
    });
  }
  const { redemption } = central;
  const hearing = adapterPool;
  const sync = new SyncServer(server, central, {
    ...options,
    ...(adapter ? { adapter } : {}),
    ...(hearing && !options.adapterHears
      ? { adapterHears: () => hearing.msSinceHeard() < ADAPTER_SILENCE_MS }
      : {}),
    requests: {
      [REDEEM_EVENTS.quote]: (counter, raw) => redemption.quote(counter, raw),
      [REDEEM_EVENTS.request]: (counter, raw) => redemption.request(counter, raw),
      [REDEEM_EVENTS.resend]: (counter, raw) => redemption.resend(counter, raw),
      [REDEEM_EVENTS.confirm]: (counter, raw) => redemption.confirm(counter, raw),
      [REDEEM_EVENTS.cancel]: (counter, raw) => redemption.cancel(counter, raw),
      [REDEEM_EVENTS.status]: (counter, raw) => redemption.status(counter, raw),
      [LEDGER_EVENTS.statement]: (_counter, raw) =>
        ledgerStatement({ db: central.db, timeZone: central.config.TIME_ZONE }, raw),
      ...options.requests,
    },
  });
  await sync.ready;
  // The counter that asked for an OTP hears at once whether its SMS went out.
  const onSms = (event: SmsStatusEvent) => {
    if (event.kind !== 'otp' || !event.terminalId || event.redemptionId === null) return;
    const push: SmsPush = {
      redemptionId: event.redemptionId,
      outboxId: event.outboxId,
      delivery: deliveryOf(event.status),
      error: event.error,
    };
    sync.sendToTerminal(event.terminalId, REDEEM_EVENTS.sms, push);
  };
  central.changes.on('sms:status', onSms);
  central.sms.runtime.start();
  if (central.config.SMS_WORKER) {
    await central.sms.worker.start();
    central.wishes.start();
  }
  central.changes.on('terminal:revoked', (id: string) => {
    sync.disconnectTerminal(id);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(central.config.PORT, central.config.HOST, resolve);
  });
  const address = server.address() as AddressInfo;
  const host =
    central.config.HOST === '0.0.0.0' || central.config.HOST === '::'
      ? 'localhost'
      : central.config.HOST;
  return {
    server,
    url: `http://${host}:${address.port}`,
    sync,
    close: async () => {
      central.changes.off('sms:status', onSms);
      central.wishes.stop();
      central.sms.runtime.stop();
      await central.sms.worker.stop();
      await sync.close();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
      await adapterPool?.close();
    },
  };
}

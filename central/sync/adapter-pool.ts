import pg from 'pg';
import type { Logger } from '../log.ts';

/**
 * The connection pool of the Socket.IO PostgreSQL adapter, with a shutdown that cannot hang.
 *
 * The adapter holds one client for LISTEN. When the server closes while that client is still
 * being set up, the adapter's close() finds none to release, and the client it then keeps is
 * never returned: pool.end() waits for ever (seen in CI: a central's close stalled 30 s with
 * every session idle, the last one a finished LISTEN; see also socket.io-postgres-adapter
 * issue 13). So once the adapter is closed, no new client is handed out, and clients still out
 * after a short grace are destroyed, their reconnect listeners removed first.
 *
 * It also tells how long ago the LISTEN connection last heard anything (msSinceHeard): a
 * process that cannot hear the others cannot know whether any listens (see SyncServer).
 */
export function createAdapterPool(
  connectionString: string,
  log: Logger,
): { pool: pg.Pool; msSinceHeard(): number; close(): Promise<void> } {
  const pool = new pg.Pool({
    connectionString,
    max: 2,
    // A half-open connection is noticed within a minute, not the system's two hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // A publish waiting for a connection fails instead of queuing for ever (the adapter logs it).
    connectionTimeoutMillis: 10_000,
  });
  pool.on('error', (error) => {
    log.warn({ event: 'sync:adapter-error', err: error }, 'sync adapter connection failed');
  });
  const out = new Set<pg.PoolClient>();
  const watched = new WeakSet<pg.PoolClient>();
  let heardAtMs = -Infinity;
  pool.on('acquire', (client) => {
    out.add(client);
    if (watched.has(client)) return;
    watched.add(client);
    // The LISTEN client hears every message published on the adapter's channels, this
    // process's own heartbeats included (one a heartbeat interval while it publishes nothing).
    client.on('notification', () => {
      heardAtMs = performance.now();
    });
    // pg-pool listens for a client's errors only while it is idle or running pool.query; the
    // LISTEN client is neither, and a connection PostgreSQL cut would throw in the process. It
    // is closed instead (the adapter sees it end and connects again), once every other
    // listener has run: a pool.query's own listener releases its client itself, and a second
    // release would throw.
    client.on('error', (error) => {
      log.warn({ event: 'sync:adapter-error', err: error }, 'sync adapter connection lost');
      setImmediate(() => {
        letGo(client, error);
      });
    });
  });
  pool.on('release', (_error, client) => out.delete(client));

  /**
   * Returns a client still out to the pool, closed, and makes the adapter's own release of it
   * (it may still hold it, and releases it at close) do nothing: a second release would throw.
   */
  const letGo = (client: pg.PoolClient, reason: Error | true) => {
    if (!out.has(client)) return;
    client.release(reason);
    client.release = () => undefined;
  };
  /** Lets a client go without the end event that would make the adapter connect again. */
  const retire = (client: pg.PoolClient) => {
    if (!out.has(client)) return;
    client.removeAllListeners('end');
    letGo(client, true);
  };

  // The adapter takes its listening client with pool.connect() and no callback (pool.query
  // passes one). Its 0.5.0 schedules a reconnection both when LISTEN fails and when the
  // connection ends, so a connection lost as it begins to listen makes it connect twice: it
  // keeps both clients (two LISTENs, a pool of two full, every publish waiting for a connection
  // until it times out). So each listening client it takes retires the one it took before.
  // `listening` is its latest request, and the client that request got.
  let listening: { client?: pg.PoolClient } = {};
  const take = pool.connect.bind(pool);
  pool.connect = ((callback?: Parameters<pg.Pool['connect']>[0]) => {
    if (callback) {
      take(callback);
      return;
    }
    if (listening.client) retire(listening.client);
    const mine: { client?: pg.PoolClient } = {};
    listening = mine;
    return take().then((client) => {
      if (listening === mine) {
        mine.client = client;
        return client;
      }
      // Taken after a newer one was asked for: retired and never handed over (the adapter would
      // put its end listener on it, and its LISTEN would fail: two reconnections again). The
      // newer request brings the listening client, or fails and the adapter tries again.
      retire(client);
      return new Promise<pg.PoolClient>(() => undefined);
    });
  }) as typeof pool.connect;

  return {
    pool,
    msSinceHeard: () => performance.now() - heardAtMs,
    close: async () => {
      // A reconnect the adapter schedules from now on waits for ever instead of looping.
      pool.connect = (() => new Promise(() => undefined)) as typeof pool.connect;
      const ended = pool.end();
      const settled = (ms: number) =>
        Promise.race([
          ended.then(() => true),
          new Promise<boolean>((resolve) => {
            setTimeout(() => {
              resolve(false);
            }, ms);
          }),
        ]);
      if (await settled(500)) return;
      for (const client of out) {
        log.warn(
          { event: 'sync:adapter-client-kept' },
          'the sync adapter kept a connection at shutdown: closing it',
        );
        retire(client);
      }
      await ended;
    },
  };
}

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { createSeededRandom } from './random.ts';

/** Where the proxy forwards to: a loopback address literal and a port. */
export interface ChaosTarget {
  host: string;
  port: number;
}

/** A seeded fault schedule; the same seed gives the same cut intervals and delay draws. */
export interface RandomFaultOptions {
  seed: number;
  /** Time between two cuts, drawn uniformly from [min, max] milliseconds. */
  cutEveryMs: readonly [number, number];
  /** Extra latency for each connection, drawn uniformly from [min, max] milliseconds. */
  delayMs: readonly [number, number];
}

/** What the proxy has done so far; `seed` replays the last random fault run. */
export interface ChaosProxyStats {
  accepted: number;
  refused: number;
  cut: number;
  bytesUp: number;
  bytesDown: number;
  seed: number | null;
}

/** A TCP proxy on loopback that can pull the cable, refuse connections and add latency. */
export interface ChaosProxy {
  port: number;
  url: string;
  /** Resets every open connection on both sides, as if the cable were pulled. */
  cutAll(): void;
  /** While down, existing connections are cut and new ones are reset as soon as accepted. */
  setDown(isDown: boolean): void;
  /** Delays each chunk in both directions by this much; order within a direction is kept. */
  setDelay(delayMs: number): void;
  /**
   * Cuts the next connection whose client sends `text` (in one chunk), before those bytes reach
   * the target: a connection lost just as it asks for something (once; null disarms).
   */
  cutOnSend(text: string | null): void;
  /** Cuts every connection at seeded random intervals and gives each connection a seeded delay. */
  startRandomFaults(options: RandomFaultOptions): void;
  /** Stops random faults, zeroes all delay and accepts again, so that peers can converge. */
  stopFaults(): void;
  /** Client connections not yet closed. */
  connections(): number;
  stats(): ChaosProxyStats;
  /** Stops listening, resets every socket and clears every timer. */
  close(): Promise<void>;
}

// Above this many queued bytes in one direction the sender is paused until the queue drains.
const HIGH_WATER_BYTES = 1024 * 1024;

const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

function isLoopbackAddress(host: string): boolean {
  const family = net.isIP(host);
  if (family === 0) return false;
  return LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

type Entry = { kind: 'data'; bytes: Buffer; dueAtMs: number } | { kind: 'end'; dueAtMs: number };

/** One direction of one connection: a FIFO so that a delay never reorders bytes. */
interface Lane {
  from: net.Socket;
  to: net.Socket;
  queue: Entry[];
  queuedBytes: number;
  timer: NodeJS.Timeout | undefined;
  countBytes(bytes: number): void;
}

interface Connection {
  client: net.Socket;
  upstream: net.Socket;
  up: Lane;
  down: Lane;
  extraDelayMs: number;
  isCut: boolean;
}

function abortSocket(socket: net.Socket): void {
  if (socket.destroyed) return;
  // A socket still connecting cannot send RST yet; destroying it abandons the attempt.
  if (socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}

function assertRange(name: string, range: readonly [number, number], minimum: number): void {
  const [low, high] = range;
  if (!Number.isInteger(low) || !Number.isInteger(high) || low < minimum || high < low) {
    throw new Error(`${name} must be integers [min, max] with ${minimum} <= min <= max`);
  }
}

function drawInRange(random: () => number, [low, high]: readonly [number, number]): number {
  return low + Math.floor(random() * (high - low + 1));
}

/** Starts a proxy on 127.0.0.1 (random port) that forwards to a loopback target. */
export async function startChaosProxy(target: ChaosTarget): Promise<ChaosProxy> {
  if (!isLoopbackAddress(target.host)) {
    throw new Error(
      `chaos proxy target must be a loopback address literal such as 127.0.0.1 or ::1, not ${JSON.stringify(target.host)}`,
    );
  }
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
    throw new Error(`chaos proxy target port must be 1..65535, not ${target.port}`);
  }

  const open = new Set<Connection>();
  const counts: Omit<ChaosProxyStats, 'seed'> = {
    accepted: 0,
    refused: 0,
    cut: 0,
    bytesUp: 0,
    bytesDown: 0,
  };
  let delayMs = 0;
  let isDown = false;
  let isClosed = false;
  let seed: number | null = null;
  let faultTimer: NodeJS.Timeout | undefined;
  let drawDelay: (() => number) | undefined;
  let cutWhenSent: Buffer | null = null;

  const updateFlow = (lane: Lane): void => {
    if (lane.from.destroyed) return;
    if (lane.queuedBytes > HIGH_WATER_BYTES || lane.to.writableNeedDrain) lane.from.pause();
    else lane.from.resume();
  };

  const pump = (lane: Lane): void => {
    if (lane.timer) return;
    for (let head = lane.queue[0]; head; head = lane.queue[0]) {
      const waitMs = head.dueAtMs - performance.now();
      if (waitMs > 0) {
        lane.timer = setTimeout(() => {
          lane.timer = undefined;
          pump(lane);
        }, Math.ceil(waitMs));
        break;
      }
      lane.queue.shift();
      if (lane.to.destroyed) continue;
      if (head.kind === 'end') {
        lane.to.end();
      } else {
        lane.queuedBytes -= head.bytes.length;
        lane.countBytes(head.bytes.length);
        lane.to.write(head.bytes);
      }
    }
    updateFlow(lane);
  };

  const enqueue = (connection: Connection, lane: Lane, bytes: Buffer | null): void => {
    const dueAtMs = performance.now() + delayMs + connection.extraDelayMs;
    if (bytes === null) {
      lane.queue.push({ kind: 'end', dueAtMs });
    } else {
      lane.queue.push({ kind: 'data', bytes, dueAtMs });
      lane.queuedBytes += bytes.length;
    }
    pump(lane);
  };

  const cut = (connection: Connection, isFault: boolean): void => {
    if (connection.isCut) return;
    connection.isCut = true;
    if (isFault) counts.cut += 1;
    for (const lane of [connection.up, connection.down]) {
      clearTimeout(lane.timer);
      lane.timer = undefined;
      lane.queue = [];
      lane.queuedBytes = 0;
    }
    abortSocket(connection.client);
    abortSocket(connection.upstream);
  };

  const cutAll = (): void => {
    for (const connection of open) cut(connection, true);
  };

  const makeLane = (from: net.Socket, to: net.Socket, countBytes: (n: number) => void): Lane => ({
    from,
    to,
    queue: [],
    queuedBytes: 0,
    timer: undefined,
    countBytes,
  });

  const accept = (client: net.Socket): void => {
    client.on('error', () => undefined);
    if (isDown || isClosed) {
      counts.refused += 1;
      abortSocket(client);
      return;
    }
    counts.accepted += 1;
    const upstream = net.connect({
      host: target.host,
      port: target.port,
      allowHalfOpen: true,
      noDelay: true,
    });
    const connection: Connection = {
      client,
      upstream,
      up: makeLane(client, upstream, (n) => (counts.bytesUp += n)),
      down: makeLane(upstream, client, (n) => (counts.bytesDown += n)),
      extraDelayMs: drawDelay ? drawDelay() : 0,
      isCut: false,
    };
    open.add(connection);

    for (const lane of [connection.up, connection.down]) {
      lane.from.on('data', (bytes: Buffer) => {
        if (lane === connection.up && cutWhenSent && bytes.includes(cutWhenSent)) {
          cutWhenSent = null;
          cut(connection, true);
          return;
        }
        enqueue(connection, lane, bytes);
      });
      lane.from.on('end', () => {
        enqueue(connection, lane, null);
      });
      lane.to.on('drain', () => {
        updateFlow(lane);
      });
    }
    let closedSockets = 0;
    for (const socket of [client, upstream]) {
      socket.on('error', () => {
        cut(connection, false);
      });
      socket.on('close', () => {
        // A socket that closes before its peer sent FIN was torn down: take the other side too.
        if (!socket.readableEnded) cut(connection, false);
        closedSockets += 1;
        if (closedSockets === 2) open.delete(connection);
      });
    }
  };

  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, accept);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined);
  const { port } = server.address() as net.AddressInfo;

  const stopFaults = (): void => {
    clearTimeout(faultTimer);
    faultTimer = undefined;
    drawDelay = undefined;
    delayMs = 0;
    isDown = false;
    for (const connection of open) connection.extraDelayMs = 0;
  };

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    cutAll,
    setDown: (shouldBeDown) => {
      isDown = shouldBeDown;
      if (isDown) cutAll();
    },
    setDelay: (ms) => {
      if (!Number.isFinite(ms) || ms < 0) throw new Error(`delay must be >= 0 ms, not ${ms}`);
      delayMs = ms;
    },
    cutOnSend: (text) => {
      cutWhenSent = text === null ? null : Buffer.from(text);
    },
    startRandomFaults: (options) => {
      if (isClosed) throw new Error('chaos proxy is closed');
      if (!Number.isInteger(options.seed)) throw new Error('seed must be an integer');
      // At least 1 ms between cuts, so the schedule can never spin.
      assertRange('cutEveryMs', options.cutEveryMs, 1);
      assertRange('delayMs', options.delayMs, 0);
      stopFaults();
      seed = options.seed;
      // Two streams: the cut schedule replays from the seed however many connections arrive.
      const cutRandom = createSeededRandom(options.seed);
      const delayRandom = createSeededRandom(options.seed ^ 0x9e3779b9);
      const nextDelay = (): number => drawInRange(delayRandom, options.delayMs);
      drawDelay = nextDelay;
      for (const connection of open) connection.extraDelayMs = nextDelay();
      const scheduleCut = (): void => {
        faultTimer = setTimeout(
          () => {
            cutAll();
            scheduleCut();
          },
          drawInRange(cutRandom, options.cutEveryMs),
        );
      };
      scheduleCut();
    },
    stopFaults,
    connections: () => [...open].filter((c) => !c.client.destroyed).length,
    stats: () => ({ ...counts, seed }),
    close: async () => {
      if (isClosed) return;
      isClosed = true;
      stopFaults();
      const closed = new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
      for (const connection of open) cut(connection, false);
      await closed;
    },
  };
}

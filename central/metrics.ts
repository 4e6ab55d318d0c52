import { performance } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Central's Prometheus metrics, in a registry of its own. */
export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  batchSize: Histogram;
  batchSeconds: Histogram;
  writes: Counter<'operation' | 'outcome'>;
  writerQueue: Gauge;
  eventLoopActive: Counter;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'ledger_batch_commands',
      help: 'Commands written per ledger transaction',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'ledger_batch_seconds',
      help: 'Time to write one ledger transaction',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    writes: new Counter({
      name: 'ledger_writes_total',
      help: 'Ledger writes by operation and outcome',
      labelNames: ['operation', 'outcome'],
      registers: [registry],
    }),
    writerQueue: new Gauge({
      name: 'ledger_writer_waiting',
      help: 'Commands waiting for the next ledger transaction',
      registers: [registry],
    }),
    eventLoopActive: eventLoopActiveCounter(registry),
  };
}

/**
 * Time the event loop spent running code rather than waiting, since the process started:
 * its rate is the loop's utilization. One process serves every socket and request, so a
 * rate near 1 means each of them waits for the others (see docs/benchmarks.md, sync).
 */
function eventLoopActiveCounter(registry: Registry): Counter {
  let counted = 0;
  return new Counter({
    name: 'nodejs_eventloop_active_seconds_total',
    help: 'Time the event loop was busy (not waiting for I/O or timers)',
    registers: [registry],
    collect() {
      const active = performance.eventLoopUtilization().active / 1000;
      if (active <= counted) return;
      this.inc(active - counted);
      counted = active;
    },
  });
}

import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

const EVENT_LOOP_SAMPLE_MS = 1000;

/**
 * The daemon's metric registry. Each part registers its own metrics on `registry` (names start
 * with `shoal_`); the RPC metrics every call updates live here because the server owns them.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly rpcRequests: Counter<'service' | 'method' | 'code'>;
  readonly rpcDuration: Histogram<'service' | 'method' | 'code'>;

  constructor() {
    // The event-loop lag histogram samples with a timer; prom-client's default (every 10 ms) wakes
    // an idle daemon 100 times a second (0.8% of a core here) and leaves its caches cold for the
    // next call. Once a second still shows a blocked loop.
    collectDefaultMetrics({ register: this.registry, prefix: 'shoal_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    // prom-client names three gauges "*_total", which Prometheus reserves for counters; the same
    // numbers stay available, by type, in the gauges without the suffix.
    for (const name of ['active_handles', 'active_requests', 'active_resources']) {
      this.registry.removeSingleMetric(`shoal_nodejs_${name}_total`);
    }
    this.rpcRequests = new Counter({
      name: 'shoal_grpc_requests_total',
      help: 'CRI calls answered, by service, method and gRPC status code.',
      labelNames: ['service', 'method', 'code'],
      registers: [this.registry],
    });
    this.rpcDuration = new Histogram({
      name: 'shoal_grpc_request_duration_seconds',
      help: 'Time from receiving a CRI call to answering it.',
      labelNames: ['service', 'method', 'code'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [this.registry],
    });
  }
}

import { collectDefaultMetrics, Registry } from 'prom-client';
import { RpcMetrics } from './rpc_metrics';

const EVENT_LOOP_SAMPLE_MS = 1000;

/**
 * The daemon's metric registry. Each part registers its own metrics on `registry` (names start
 * with `shoal_`); the RPC metrics every call updates live here because the server owns them.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly rpc: RpcMetrics;

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
    this.rpc = new RpcMetrics(this.registry);
  }
}

import { Counter, Histogram, type Registry } from 'prom-client';

type RpcLabel = 'service' | 'method' | 'code';
type RpcLabels = Record<RpcLabel, string>;
/** A value as prom-client's registry formats it (`sharedLabels` is read by its JSON form). */
interface Sample {
  value: number;
  labels: Partial<Record<RpcLabel | 'le', string | number>>;
  sharedLabels: Record<string, never>;
  metricName: string;
}

const REQUESTS = 'shoal_grpc_requests_total';
const DURATION = 'shoal_grpc_request_duration_seconds';
const DURATION_BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] as const;

/** One (service, method, code)'s numbers: plain fields, so recording a call allocates nothing. */
class RpcSeries {
  count = 0;
  sum = 0;
  /** Per bound, not cumulative; the last slot counts what lies above every bound. */
  readonly buckets = new Float64Array(DURATION_BOUNDS.length + 1);
  constructor(readonly labels: RpcLabels) {}

  record(seconds: number): void {
    this.count++;
    this.sum += seconds;
    let i = 0;
    while (i < DURATION_BOUNDS.length && seconds > DURATION_BOUNDS[i]!) i++;
    this.buckets[i]!++;
  }
}

/** What one method's wrapper holds: its series by status code, made on the code's first call. */
export class MethodRpcMetrics {
  private readonly byCode = new Map<number, RpcSeries>();
  constructor(
    private readonly owner: RpcMetrics,
    private readonly service: string,
    private readonly method: string,
  ) {}

  /** `codeName` names a status code in the labels; it is called once per code. */
  record(code: number, codeName: (code: number) => string, seconds: number): void {
    let series = this.byCode.get(code);
    if (!series) {
      series = this.owner.newSeries({ service: this.service, method: this.method, code: codeName(code) });
      this.byCode.set(code, series);
    }
    series.record(seconds);
  }
}

/**
 * The calls-answered counter and the latency histogram of every CRI call. prom-client's own
 * `inc`/`observe` build and hash a label string per call, a measurable share of a small call's CPU
 * (bench/README.md, seventh session); here a call adds to numbers its method already holds, and
 * prom-client reads them when /metrics is scraped.
 */
export class RpcMetrics {
  private readonly series: RpcSeries[] = [];

  constructor(registry: Registry) {
    const all = this.series;
    new Counter<RpcLabel>({
      name: REQUESTS,
      help: 'CRI calls answered, by service, method and gRPC status code.',
      labelNames: ['service', 'method', 'code'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of all) this.inc(s.labels, s.count);
      },
    });
    new PrecountedHistogram(
      {
        name: DURATION,
        help: 'Time from receiving a CRI call to answering it.',
        labelNames: ['service', 'method', 'code'],
        buckets: [...DURATION_BOUNDS],
        registers: [registry],
      },
      () => all.flatMap(histogramSamples),
    );
  }

  forMethod(service: string, method: string): MethodRpcMetrics {
    return new MethodRpcMetrics(this, service, method);
  }

  /** @internal for MethodRpcMetrics */
  newSeries(labels: RpcLabels): RpcSeries {
    const series = new RpcSeries(labels);
    this.series.push(series);
    return series;
  }
}

function histogramSamples(s: RpcSeries): Sample[] {
  const out: Sample[] = [];
  let cumulative = 0;
  DURATION_BOUNDS.forEach((bound, i) => {
    cumulative += s.buckets[i]!;
    out.push({ metricName: `${DURATION}_bucket`, labels: { ...s.labels, le: bound }, sharedLabels: {}, value: cumulative });
  });
  out.push({ metricName: `${DURATION}_bucket`, labels: { ...s.labels, le: '+Inf' }, sharedLabels: {}, value: s.count });
  out.push({ metricName: `${DURATION}_sum`, labels: { ...s.labels }, sharedLabels: {}, value: s.sum });
  out.push({ metricName: `${DURATION}_count`, labels: { ...s.labels }, sharedLabels: {}, value: s.count });
  return out;
}

/**
 * A prom-client histogram whose samples come from counts kept elsewhere. prom-client's registry
 * takes a metric's text form from `getForPromString()` when it has one, and its `get()` (JSON)
 * builds on the same call; answering there from `samples` means the parent's own, never-observed
 * state is not read.
 */
class PrecountedHistogram extends Histogram<RpcLabel> {
  constructor(
    private readonly config: { name: string; help: string; labelNames: RpcLabel[]; buckets: number[]; registers: Registry[] },
    private readonly samples: () => Sample[],
  ) {
    super(config);
  }

  async getForPromString(): Promise<{ name: string; help: string; type: 'histogram'; values: Sample[]; aggregator: 'sum' }> {
    return { name: this.config.name, help: this.config.help, type: 'histogram', values: this.samples(), aggregator: 'sum' };
  }
}

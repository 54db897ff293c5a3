import type { ContainerStats, Metric, MetricDescriptor, PodSandboxMetrics, PodSandboxStats } from '../gen/runtime/v1/api';
import { notFound } from '../errors';
import type { StatsCollector } from './collector';
import { containerMetrics, metricDescriptors, podMetrics } from './metric_descriptors';
import type { StatsContainer, StatsPod, StatsSource } from './source';

const SWEEP_MS = 30_000;

export interface ContainerStatsFilter {
  id?: string;
  podSandboxId?: string;
  labelSelector?: Record<string, string>;
}

export interface PodStatsFilter {
  id?: string;
  labelSelector?: Record<string, string>;
}

const matchesLabels = (labels: Record<string, string>, selector: Record<string, string> | undefined): boolean =>
  selector === undefined || Object.entries(selector).every(([k, v]) => labels[k] === v);

/**
 * The stats operations the RPCs expose, over whatever containers and pods the source knows.
 * Everything is read on demand; what the collector keeps between calls (the previous CPU sample,
 * open cgroup files, recent writable-layer walks) is per container and pod, and dropped when they go.
 */
export class StatsService {
  private readonly descriptors = metricDescriptors();
  private lastSweep = Date.now();

  constructor(
    private readonly source: StatsSource,
    private readonly collector: StatsCollector,
  ) {}

  containerStats(id: string): ContainerStats {
    this.sweepNowAndThen();
    const c = this.source.container(id);
    if (c === undefined) throw notFound(`container "${id}" not found`);
    return this.collector.containerStats(c);
  }

  listContainerStats(filter: ContainerStatsFilter = {}): ContainerStats[] {
    const all = this.source.containers();
    if (isEmpty(filter)) this.sweep(all, this.source.pods());
    return this.filterContainers(all, filter).map((c) => this.collector.containerStats(c));
  }

  podStats(id: string): PodSandboxStats {
    this.sweepNowAndThen();
    const p = this.source.pod(id);
    if (p === undefined) throw notFound(`pod sandbox "${id}" not found`);
    return this.collector.podStats(p, this.containersOf(p.id));
  }

  /** Ready pods only: a stopped pod has no processes left to measure. */
  listPodStats(filter: PodStatsFilter = {}): PodSandboxStats[] {
    const all = this.source.pods();
    if (!filter.id && (filter.labelSelector === undefined || Object.keys(filter.labelSelector).length === 0)) {
      this.sweep(this.source.containers(), all);
    }
    let pods = all.filter((p) => p.ready);
    if (filter.id) pods = byIdOrUniquePrefix(pods, filter.id, (p) => p.id);
    pods = pods.filter((p) => matchesLabels(p.labels, filter.labelSelector));
    if (pods.length === 0) return [];
    const byPod = this.containersByPod();
    return pods.map((p) => this.collector.podStats(p, byPod.get(p.id) ?? []));
  }

  metricDescriptors(): MetricDescriptor[] {
    return this.descriptors;
  }

  podMetrics(): PodSandboxMetrics[] {
    this.sweepNowAndThen();
    const byPod = this.containersByPod();
    return this.source.pods().filter((p) => p.ready).map((p) => {
      const pod = this.collector.readPod(p, true);
      return {
        podSandboxId: p.id,
        metrics: podMetrics(pod),
        containerMetrics: (byPod.get(p.id) ?? []).map((c) => {
          const reading = this.collector.readContainer(c, true);
          const metrics: Metric[] = containerMetrics(reading, p, reading.sample?.timestampNs ?? pod.timestampNs);
          return { containerId: c.id, metrics };
        }),
      };
    });
  }

  /**
   * Unfiltered list calls drop what was kept for removed containers and pods; a client that only
   * ever asks for single ids gets the same clean-up at most every SWEEP_MS.
   */
  private sweepNowAndThen(): void {
    if (Date.now() - this.lastSweep >= SWEEP_MS) this.sweep(this.source.containers(), this.source.pods());
  }

  private sweep(containers: StatsContainer[], pods: StatsPod[]): void {
    this.collector.retain(containers, pods);
    this.lastSweep = Date.now();
  }

  private filterContainers(all: StatsContainer[], filter: ContainerStatsFilter): StatsContainer[] {
    let out = all;
    if (filter.id) out = byIdOrUniquePrefix(out, filter.id, (c) => c.id);
    if (filter.podSandboxId) {
      const podIds = byIdOrUniquePrefix(this.source.pods(), filter.podSandboxId, (p) => p.id).map((p) => p.id);
      out = out.filter((c) => podIds.includes(c.podSandboxId));
    }
    return out.filter((c) => matchesLabels(c.labels, filter.labelSelector));
  }

  private containersOf(podId: string): StatsContainer[] {
    return this.source.containers().filter((c) => c.podSandboxId === podId);
  }

  private containersByPod(): Map<string, StatsContainer[]> {
    const out = new Map<string, StatsContainer[]>();
    for (const c of this.source.containers()) {
      const list = out.get(c.podSandboxId);
      if (list) list.push(c);
      else out.set(c.podSandboxId, [c]);
    }
    return out;
  }
}

/** A filter id matches exactly, or as the prefix of exactly one id (as crictl users type them). */
function byIdOrUniquePrefix<T>(items: T[], id: string, idOf: (item: T) => string): T[] {
  const exact = items.filter((i) => idOf(i) === id);
  if (exact.length > 0) return exact;
  const prefixed = items.filter((i) => idOf(i).startsWith(id));
  return prefixed.length === 1 ? prefixed : [];
}

function isEmpty(f: ContainerStatsFilter): boolean {
  return !f.id && !f.podSandboxId && (f.labelSelector === undefined || Object.keys(f.labelSelector).length === 0);
}


import { MetricType, type Metric, type MetricDescriptor } from '../gen/runtime/v1/api';
import type { Psi } from './cgroup/psi';
import type { ContainerReading, PodReading } from './collector';
import type { InterfaceCounters } from './network';

/**
 * The metrics ListPodSandboxMetrics returns, named and labelled as kubelet's /metrics/cadvisor
 * shows them, so dashboards and alerts written for cadvisor keep working. Every series carries the
 * cadvisor identity labels (container, id, image, name, namespace, pod) and, where cadvisor has
 * one, its extra label (cpu, interface, device, failure_type/scope).
 *
 * CRI metric values are unsigned integers, so "seconds" counters hold whole seconds.
 */
export const BASE_LABELS = ['container', 'id', 'image', 'name', 'namespace', 'pod'] as const;

interface Value {
  value: bigint;
  /** Values of the descriptor's extra label keys, in order. */
  extra?: string[];
}

interface MetricDef<Input> {
  name: string;
  help: string;
  type: MetricType;
  extraLabels?: string[];
  values(input: Input): Value[];
}

const NS_PER_S = 1_000_000_000n;
const one = (v: bigint | undefined, extra?: string[]): Value[] => (v === undefined ? [] : [{ value: v, extra }]);
const seconds = (ns: bigint | undefined): bigint | undefined => (ns === undefined ? undefined : ns / NS_PER_S);
const usToSeconds = (us: bigint | undefined): bigint | undefined => (us === undefined ? undefined : us / 1_000_000n);

/** Figures that come from a cgroup: shared by containers and by the pod cgroup itself. */
type CgroupInput = Pick<ContainerReading, 'sample'>;

function pressure(resource: 'cpu' | 'memory' | 'io', pick: (i: CgroupInput) => Psi | undefined): Array<MetricDef<CgroupInput>> {
  return [
    {
      name: `container_pressure_${resource}_waiting_seconds_total`,
      help: `Total time duration tasks in the container have waited due to ${resource} congestion.`,
      type: MetricType.COUNTER,
      values: (i) => one(usToSeconds(pick(i)?.some?.totalUs)),
    },
    {
      name: `container_pressure_${resource}_stalled_seconds_total`,
      help: `Total time duration no tasks in the container could make progress due to ${resource} congestion.`,
      type: MetricType.COUNTER,
      values: (i) => one(usToSeconds(pick(i)?.full?.totalUs)),
    },
  ];
}

const CGROUP_METRICS: Array<MetricDef<CgroupInput>> = [
  {
    name: 'container_cpu_usage_seconds_total',
    help: 'Cumulative cpu time consumed in seconds.',
    type: MetricType.COUNTER,
    extraLabels: ['cpu'],
    values: (i) => one(seconds(i.sample?.cpu?.usageNs), ['total']),
  },
  {
    name: 'container_cpu_user_seconds_total',
    help: 'Cumulative user cpu time consumed in seconds.',
    type: MetricType.COUNTER,
    values: (i) => one(seconds(i.sample?.cpu?.userNs)),
  },
  {
    name: 'container_cpu_system_seconds_total',
    help: 'Cumulative system cpu time consumed in seconds.',
    type: MetricType.COUNTER,
    values: (i) => one(seconds(i.sample?.cpu?.systemNs)),
  },
  {
    name: 'container_memory_usage_bytes',
    help: 'Current memory usage in bytes, including all memory regardless of when it was accessed.',
    type: MetricType.GAUGE,
    values: (i) => one(i.sample?.memory?.usageBytes),
  },
  {
    name: 'container_memory_working_set_bytes',
    help: 'Current working set in bytes.',
    type: MetricType.GAUGE,
    values: (i) => one(i.sample?.memory?.workingSetBytes),
  },
  {
    name: 'container_memory_rss',
    help: 'Size of RSS in bytes.',
    type: MetricType.GAUGE,
    values: (i) => one(i.sample?.memory?.rssBytes),
  },
  {
    name: 'container_memory_cache',
    help: 'Number of bytes of page cache memory.',
    type: MetricType.GAUGE,
    values: (i) => one(i.sample?.memory?.cacheBytes),
  },
  {
    name: 'container_memory_mapped_file',
    help: 'Size of memory mapped files in bytes.',
    type: MetricType.GAUGE,
    values: (i) => one(i.sample?.memory?.mappedFileBytes),
  },
  {
    name: 'container_memory_swap',
    help: 'Container swap usage in bytes.',
    type: MetricType.GAUGE,
    values: (i) => one(i.sample?.swap?.usageBytes),
  },
  {
    name: 'container_memory_failcnt',
    help: 'Number of memory usage hits limits.',
    type: MetricType.COUNTER,
    values: (i) => one(i.sample?.memory?.failcnt),
  },
  {
    name: 'container_memory_failures_total',
    help: 'Cumulative count of memory allocation failures.',
    type: MetricType.COUNTER,
    extraLabels: ['failure_type', 'scope'],
    values: (i) => {
      const m = i.sample?.memory;
      if (m === undefined) return [];
      // The counters read are hierarchical; a container's cgroup has no children, so both scopes agree.
      return ['container', 'hierarchy'].flatMap((scope) => [
        { value: m.pageFaults, extra: ['pgfault', scope] },
        { value: m.majorPageFaults, extra: ['pgmajfault', scope] },
      ]);
    },
  },
  {
    name: 'container_spec_memory_limit_bytes',
    help: 'Memory limit for the container.',
    type: MetricType.GAUGE,
    values: (i) => (i.sample?.memory ? one(i.sample.memory.limitBytes ?? 0n) : []),
  },
  {
    name: 'container_oom_events_total',
    help: 'Count of out of memory events observed for the container.',
    type: MetricType.COUNTER,
    values: (i) => one(i.sample?.memory?.oomKills),
  },
  {
    name: 'container_threads',
    help: 'Number of threads running inside the container.',
    type: MetricType.GAUGE,
    values: (i) => one(i.sample?.pids?.current),
  },
  {
    name: 'container_threads_max',
    help: 'Maximum number of threads allowed inside the container, infinity if value is zero.',
    type: MetricType.GAUGE,
    values: (i) => (i.sample?.pids ? one(i.sample.pids.limit ?? 0n) : []),
  },
  ...pressure('cpu', (i) => i.sample?.cpu?.psi),
  ...pressure('memory', (i) => i.sample?.memory?.psi),
  ...pressure('io', (i) => i.sample?.io?.psi),
];

const CONTAINER_ONLY_METRICS: Array<MetricDef<ContainerReading>> = [
  {
    name: 'container_fs_usage_bytes',
    help: 'Number of bytes that are consumed by the container on this filesystem.',
    type: MetricType.GAUGE,
    extraLabels: ['device'],
    values: (i) => one(i.layer?.usedBytes, [i.layerMountpoint ?? '']),
  },
  {
    name: 'container_fs_inodes_used',
    help: 'Number of inodes used by the container on this filesystem.',
    type: MetricType.GAUGE,
    extraLabels: ['device'],
    values: (i) => one(i.layer?.inodesUsed, [i.layerMountpoint ?? '']),
  },
  {
    name: 'container_start_time_seconds',
    help: 'Start time of the container since unix epoch in seconds.',
    type: MetricType.GAUGE,
    values: (i) => one(seconds(i.container.startedAtNs)),
  },
];

type Direction = 'receive' | 'transmit';
type Counter = Exclude<keyof InterfaceCounters, 'name'>;
const NETWORK_FIELDS: Record<Direction, Record<'bytes' | 'packets' | 'errors' | 'packets_dropped', Counter>> = {
  receive: { bytes: 'rxBytes', packets: 'rxPackets', errors: 'rxErrors', packets_dropped: 'rxDropped' },
  transmit: { bytes: 'txBytes', packets: 'txPackets', errors: 'txErrors', packets_dropped: 'txDropped' },
};

function networkMetric(direction: Direction, what: keyof (typeof NETWORK_FIELDS)['receive'], help: string): MetricDef<PodReading> {
  const field = NETWORK_FIELDS[direction][what];
  return {
    name: `container_network_${direction}_${what}_total`,
    help,
    type: MetricType.COUNTER,
    extraLabels: ['interface'],
    values: (p) => (p.interfaces ?? []).map((i) => ({ value: i[field], extra: [i.name] })),
  };
}

const NETWORK_METRICS: Array<MetricDef<PodReading>> = [
  networkMetric('receive', 'bytes', 'Cumulative count of bytes received.'),
  networkMetric('receive', 'packets', 'Cumulative count of packets received.'),
  networkMetric('receive', 'errors', 'Cumulative count of errors encountered while receiving.'),
  networkMetric('receive', 'packets_dropped', 'Cumulative count of packets dropped while receiving.'),
  networkMetric('transmit', 'bytes', 'Cumulative count of bytes transmitted.'),
  networkMetric('transmit', 'packets', 'Cumulative count of packets transmitted.'),
  networkMetric('transmit', 'errors', 'Cumulative count of errors encountered while transmitting.'),
  networkMetric('transmit', 'packets_dropped', 'Cumulative count of packets dropped while transmitting.'),
];

function describe<I>(def: MetricDef<I>): MetricDescriptor {
  return { name: def.name, help: def.help, labelKeys: [...BASE_LABELS, ...(def.extraLabels ?? [])] };
}

/** Every descriptor, in a stable order. */
export function metricDescriptors(): MetricDescriptor[] {
  return [...CGROUP_METRICS.map(describe), ...CONTAINER_ONLY_METRICS.map(describe), ...NETWORK_METRICS.map(describe)];
}

function emit<I>(defs: Array<MetricDef<I>>, input: I, base: string[], timestamp: bigint, out: Metric[]): void {
  for (const def of defs) {
    for (const v of def.values(input)) {
      out.push({ name: def.name, timestamp, metricType: def.type, labelValues: [...base, ...(v.extra ?? [])], value: { value: v.value } });
    }
  }
}

/** cadvisor's identity labels of a container, in BASE_LABELS order. */
export function containerLabelValues(r: ContainerReading, pod: PodReading['pod'] | undefined): string[] {
  const c = r.container;
  return [c.name, c.cgroupPath ?? '', c.image, c.id, pod?.namespace ?? '', pod?.name ?? ''];
}

/** The pod's own series use an empty container label, as cadvisor does for a pod's cgroup. */
export function podLabelValues(p: PodReading['pod']): string[] {
  return ['', p.cgroupPath ?? '', '', p.id, p.namespace, p.name];
}

export function containerMetrics(r: ContainerReading, pod: PodReading['pod'] | undefined, timestamp: bigint): Metric[] {
  const out: Metric[] = [];
  const base = containerLabelValues(r, pod);
  emit(CGROUP_METRICS, r, base, timestamp, out);
  emit(CONTAINER_ONLY_METRICS, r, base, timestamp, out);
  return out;
}

export function podMetrics(r: PodReading): Metric[] {
  const out: Metric[] = [];
  const base = podLabelValues(r.pod);
  emit(CGROUP_METRICS, r, base, r.timestampNs, out);
  emit(NETWORK_METRICS, r, base, r.timestampNs, out);
  return out;
}

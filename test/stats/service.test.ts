import { join } from 'node:path';
import { MetricType } from '../../src/gen/runtime/v1/api';
import type { CgroupLayout } from '../../src/cgroup/layout';
import { CgroupStatsReader } from '../../src/stats/cgroup/reader';
import { StatsCollector } from '../../src/stats/collector';
import { HostMemory } from '../../src/stats/host_memory';
import { NetnsCounterReader } from '../../src/stats/network';
import { StatsService } from '../../src/stats/service';
import { MountPointFinder } from '../../src/stats/writable_layer';
import { BASE_LABELS } from '../../src/stats/metric_descriptors';
import type { StatsContainer, StatsPod, StatsSource } from '../../src/stats/source';

// The service over the recorded v2 samples: containers and pods are plain data here (what the
// container and sandbox parts hand over); the readers and the CRI shapes are the real ones.
const FIXTURES = join(__dirname, 'fixtures');
const layout: CgroupLayout = { mode: 'v2', v2Root: FIXTURES, v2Controllers: ['cpu', 'memory', 'pids', 'io'], v1: {} };
const GiB = 1n << 30n;

const pod = (id: string, over: Partial<StatsPod> = {}): StatsPod => ({
  id, name: `name-${id}`, namespace: 'ns', uid: `uid-${id}`, attempt: 0, labels: { app: id }, annotations: {},
  cgroupPath: '/v2-unlimited', ready: true, ...over,
});
const ctr = (id: string, podSandboxId: string, over: Partial<StatsContainer> = {}): StatsContainer => ({
  id, podSandboxId, name: `c-${id}`, attempt: 1, labels: { tier: id.startsWith('a') ? 'front' : 'back' }, annotations: {},
  image: 'registry.local/busybox:1', cgroupPath: '/v2-limited', running: true, ...over,
});

function service(pods: StatsPod[], containers: StatsContainer[]): StatsService {
  const source: StatsSource = {
    containers: () => containers,
    container: (id) => containers.find((c) => c.id === id),
    pods: () => pods,
    pod: (id) => pods.find((p) => p.id === id),
  };
  const collector = new StatsCollector({
    cgroups: new CgroupStatsReader(layout),
    network: new NetnsCounterReader(),
    host: new HostMemory(60_000, () => `MemTotal: ${(4n * GiB) / 1024n} kB\nSwapTotal: ${GiB / 1024n} kB\n`),
    mounts: new MountPointFinder(),
  });
  return new StatsService(source, collector);
}

describe('stats service', () => {
  const svc = service(
    [pod('p1'), pod('p2', { ready: false })],
    [ctr('a1', 'p1'), ctr('b1', 'p1'), ctr('a2', 'p2')],
  );

  test('ContainerStats: CRI figures from the cgroup files; PSI totals in nanoseconds', () => {
    const s = svc.containerStats('a1');
    expect(s.attributes).toEqual({ id: 'a1', metadata: { name: 'c-a1', attempt: 1 }, labels: { tier: 'front' }, annotations: {} });
    expect(s.cpu?.usageCoreNanoSeconds?.value).toBe(2503101000n);
    expect(s.cpu?.psi?.Some?.Total).toBe(1234567n * 1000n);
    expect(s.cpu?.psi?.Full?.Avg10).toBe(0.5);
    expect(s.memory?.workingSetBytes?.value).toBe(73400320n - 12582912n);
    // limit 128 MiB below the host's 4 GiB: available = limit - working set
    expect(s.memory?.availableBytes?.value).toBe(134217728n - (73400320n - 12582912n));
    expect(s.swap).toMatchObject({ swapUsageBytes: { value: 1048576n }, swapAvailableBytes: { value: 67108864n - 1048576n } });
    expect(s.io?.psi?.Some?.Total).toBe(98765000n);
  });

  test('unknown container or pod → NotFound', () => {
    expect(() => svc.containerStats('nope')).toThrow(expect.objectContaining({ kind: 'NotFound' }));
    expect(() => svc.podStats('nope')).toThrow(expect.objectContaining({ kind: 'NotFound' }));
  });

  test('ListContainerStats filters: id (or unique prefix), pod id, labels', () => {
    expect(svc.listContainerStats().map((s) => s.attributes?.id)).toEqual(['a1', 'b1', 'a2']);
    expect(svc.listContainerStats({ id: 'b' }).map((s) => s.attributes?.id)).toEqual(['b1']);
    expect(svc.listContainerStats({ id: 'a' })).toEqual([]); // ambiguous prefix
    expect(svc.listContainerStats({ podSandboxId: 'p2' }).map((s) => s.attributes?.id)).toEqual(['a2']);
    expect(svc.listContainerStats({ labelSelector: { tier: 'front' } }).map((s) => s.attributes?.id)).toEqual(['a1', 'a2']);
  });

  test('pod stats: the pod cgroup, host memory as the ceiling, its containers inside', () => {
    const s = svc.podStats('p1');
    expect(s.attributes?.metadata).toEqual({ name: 'name-p1', uid: 'uid-p1', namespace: 'ns', attempt: 0 });
    expect(s.linux?.memory?.availableBytes?.value).toBe(4n * GiB); // working set 0, no limit
    expect(s.linux?.process?.processCount?.value).toBe(1n);
    expect(s.linux?.containers.map((c) => c.attributes?.id)).toEqual(['a1', 'b1']);
    expect(s.linux?.network).toBeUndefined(); // no network namespace given
  });

  test('ListPodSandboxStats: ready pods only, filtered by labels', () => {
    expect(svc.listPodStats().map((s) => s.attributes?.id)).toEqual(['p1']);
    expect(svc.listPodStats({ labelSelector: { app: 'p2' } })).toEqual([]);
  });

  test('metric descriptors use cadvisor names; every metric fits its descriptor', () => {
    const descriptors = svc.metricDescriptors();
    const byName = new Map(descriptors.map((d) => [d.name, d]));
    for (const name of ['container_cpu_usage_seconds_total', 'container_memory_working_set_bytes', 'container_network_receive_bytes_total',
      'container_network_transmit_errors_total', 'container_fs_usage_bytes', 'container_pressure_cpu_waiting_seconds_total']) {
      expect(byName.get(name)?.labelKeys.slice(0, BASE_LABELS.length)).toEqual([...BASE_LABELS]);
    }
    expect(byName.get('container_network_receive_bytes_total')?.labelKeys).toContain('interface');
    expect(byName.get('container_cpu_usage_seconds_total')?.labelKeys).toContain('cpu');

    const [p1] = svc.podMetrics();
    expect(p1?.podSandboxId).toBe('p1');
    const all = [...p1!.metrics, ...p1!.containerMetrics.flatMap((c) => c.metrics)];
    for (const m of all) expect(m.labelValues).toHaveLength(byName.get(m.name)!.labelKeys.length);
    const a1 = p1!.containerMetrics.find((c) => c.containerId === 'a1')!.metrics;
    const cpu = a1.find((m) => m.name === 'container_cpu_usage_seconds_total')!;
    expect(cpu.metricType).toBe(MetricType.COUNTER);
    expect(cpu.value?.value).toBe(2n); // 2.503 s, whole seconds
    expect(cpu.labelValues).toEqual(['c-a1', '/v2-limited', 'registry.local/busybox:1', 'a1', 'ns', 'name-p1', 'total']);
    const ws = a1.find((m) => m.name === 'container_memory_working_set_bytes')!;
    expect(ws.metricType).toBe(MetricType.GAUGE);
    expect(ws.value?.value).toBe(73400320n - 12582912n);
    expect(a1.find((m) => m.name === 'container_oom_events_total')?.value?.value).toBe(1n);
  });
});

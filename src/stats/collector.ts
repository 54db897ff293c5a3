import type { ContainerStats, PodSandboxStats } from '../gen/runtime/v1/api';
import type { CgroupStatsReader } from './cgroup/reader';
import { wallClockNs, type CgroupSample } from './cgroup/sample';
import { CpuRateTracker } from './cpu_rate';
import { cpuUsage, filesystemUsage, ioUsage, memoryUsage, networkUsage, processUsage, swapUsage } from './cri_mapping';
import type { HostMemory } from './host_memory';
import { defaultInterface, podInterfaces, type InterfaceCounters, type NetnsCounterReader } from './network';
import type { StatsContainer, StatsPod } from './source';
import { WritableLayerCache, type LayerUsage, type MountPointFinder } from './writable_layer';

export interface StatsCollectorDeps {
  cgroups: CgroupStatsReader;
  network: NetnsCounterReader;
  host: HostMemory;
  mounts: MountPointFinder;
}

/** One container's raw figures, shared by the CRI stats and the Prometheus-style metrics. */
export interface ContainerReading {
  container: StatsContainer;
  sample: CgroupSample | undefined;
  usageNanoCores: bigint | undefined;
  layer: LayerUsage | undefined;
  layerMountpoint: string | undefined;
}

export interface PodReading {
  pod: StatsPod;
  sample: CgroupSample | undefined;
  usageNanoCores: bigint | undefined;
  /** The pod's interfaces, loopback left out; undefined without a network namespace. */
  interfaces: InterfaceCounters[] | undefined;
  timestampNs: bigint;
}

/**
 * Reads containers and pods and builds the CRI's stats messages. Holds the only state stats
 * needs: the previous CPU sample per container and pod, for usage_nano_cores.
 */
export class StatsCollector {
  readonly cpuRates = new CpuRateTracker();
  private readonly layers = new WritableLayerCache();

  constructor(private readonly deps: StatsCollectorDeps) {}

  readContainer(c: StatsContainer, extended = false): ContainerReading {
    const sample = c.cgroupPath !== undefined && c.running ? this.deps.cgroups.read(c.cgroupPath, { extended }) : undefined;
    let usageNanoCores: bigint | undefined;
    if (sample?.cpu !== undefined) {
      const sinceStart = c.startedAtNs !== undefined ? sample.timestampNs - c.startedAtNs : undefined;
      usageNanoCores = this.cpuRates.rate(c.id, sample.cpu.usageNs, sample.monotonicNs, sinceStart);
    }
    const layer = c.upperDir !== undefined ? this.layers.usage(c.upperDir) : undefined;
    const layerMountpoint = layer !== undefined && c.upperDir !== undefined ? this.deps.mounts.find(c.upperDir) : undefined;
    return { container: c, sample, usageNanoCores, layer, layerMountpoint };
  }

  readPod(p: StatsPod, extended = false): PodReading {
    const sample = p.cgroupPath !== undefined ? this.deps.cgroups.read(p.cgroupPath, { extended }) : undefined;
    let usageNanoCores: bigint | undefined;
    if (sample?.cpu !== undefined) {
      const sinceStart = p.createdAtNs !== undefined ? sample.timestampNs - p.createdAtNs : undefined;
      usageNanoCores = this.cpuRates.rate(`pod/${p.id}`, sample.cpu.usageNs, sample.monotonicNs, sinceStart);
    }
    const all = p.netnsPath !== undefined && p.ready ? this.deps.network.read(p.netnsPath, p.pids) : undefined;
    return { pod: p, sample, usageNanoCores, interfaces: all !== undefined ? podInterfaces(all) : undefined, timestampNs: sample?.timestampNs ?? wallClockNs() };
  }

  containerStats(c: StatsContainer): ContainerStats {
    return this.toContainerStats(this.readContainer(c));
  }

  podStats(p: StatsPod, containers: StatsContainer[]): PodSandboxStats {
    const r = this.readPod(p);
    const s = r.sample;
    return {
      attributes: {
        id: p.id,
        metadata: { name: p.name, uid: p.uid, namespace: p.namespace, attempt: p.attempt },
        labels: p.labels,
        annotations: p.annotations,
      },
      linux: {
        cpu: s ? cpuUsage(s, r.usageNanoCores) : undefined,
        memory: s ? memoryUsage(s, this.deps.host) : undefined,
        network: r.interfaces !== undefined ? networkUsage(r.interfaces, defaultInterface(r.interfaces), r.timestampNs) : undefined,
        process: s ? processUsage(s) : undefined,
        containers: containers.map((c) => this.containerStats(c)),
        io: s ? ioUsage(s) : undefined,
      },
      windows: undefined,
    };
  }

  /**
   * Forgets what was kept for containers and pods that no longer exist or no longer run: CPU
   * samples, and the cgroup files held open.
   */
  retain(containers: readonly StatsContainer[], pods: readonly StatsPod[]): void {
    const ids = new Set<string>(containers.map((c) => c.id));
    const cgroups = new Set<string>();
    for (const c of containers) if (c.running && c.cgroupPath !== undefined) cgroups.add(c.cgroupPath);
    for (const p of pods) {
      ids.add(`pod/${p.id}`);
      if (p.cgroupPath !== undefined) cgroups.add(p.cgroupPath);
    }
    this.cpuRates.retain(ids);
    this.deps.cgroups.retain(cgroups);
    const upperDirs = new Set(containers.flatMap((c) => (c.upperDir !== undefined ? [c.upperDir] : [])));
    this.layers.retain(upperDirs);
    this.deps.mounts.retain(upperDirs);
  }

  private toContainerStats(r: ContainerReading): ContainerStats {
    const c = r.container;
    const s = r.sample;
    return {
      attributes: { id: c.id, metadata: { name: c.name, attempt: c.attempt }, labels: c.labels, annotations: c.annotations },
      cpu: s ? cpuUsage(s, r.usageNanoCores) : undefined,
      memory: s ? memoryUsage(s, this.deps.host) : undefined,
      writableLayer: r.layer !== undefined ? filesystemUsage(r.layer, r.layerMountpoint, s?.timestampNs ?? wallClockNs()) : undefined,
      swap: s ? swapUsage(s, this.deps.host) : undefined,
      io: s ? ioUsage(s) : undefined,
    };
  }
}

import type { ContainerStats, PodSandboxStats } from '../gen/runtime/v1/api';
import type { CgroupStatsReader } from './cgroup/reader';
import { wallClockNs, type CgroupSample } from './cgroup/sample';
import { CpuRateTracker } from './cpu_rate';
import { cpuUsage, filesystemUsage, ioUsage, memoryUsage, networkUsage, processUsage, swapUsage } from './cri_mapping';
import type { HostMemory } from './host_memory';
import { defaultInterface, podInterfaces, type InterfaceCounters, type NetnsCounterReader } from './network';
import type { StatsContainer, StatsPod } from './source';
import { writableLayerUsage, type LayerUsage, type MountPointFinder } from './writable_layer';

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

  constructor(private readonly deps: StatsCollectorDeps) {}

  readContainer(c: StatsContainer, extended = false): ContainerReading {
    const sample = c.cgroupPath !== undefined && c.running ? this.deps.cgroups.read(c.cgroupPath, { extended }) : undefined;
    let usageNanoCores: bigint | undefined;
    if (sample?.cpu !== undefined) {
      const sinceStart = c.startedAtNs !== undefined ? sample.timestampNs - c.startedAtNs : undefined;
      usageNanoCores = this.cpuRates.rate(c.id, sample.cpu.usageNs, sample.monotonicNs, sinceStart);
    }
    const layer = c.upperDir !== undefined ? writableLayerUsage(c.upperDir) : undefined;
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

  /** Forgets the CPU samples of containers and pods that no longer exist. */
  retain(containerIds: Iterable<string>, podIds: Iterable<string>): void {
    const alive = new Set<string>(containerIds);
    for (const id of podIds) alive.add(`pod/${id}`);
    this.cpuRates.retain(alive);
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

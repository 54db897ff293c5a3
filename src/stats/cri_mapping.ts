import type {
  CpuUsage, FilesystemUsage, IoUsage, MemoryUsage, NetworkInterfaceUsage, NetworkUsage, ProcessUsage, PsiData, PsiStats,
  SwapUsage, UInt64Value,
} from '../gen/runtime/v1/api';
import type { CgroupSample } from './cgroup/sample';
import type { Psi, PsiLine } from './cgroup/psi';
import type { HostMemory } from './host_memory';
import type { InterfaceCounters } from './network';
import type { LayerUsage } from './writable_layer';

/** Turns samples into the CRI's messages. Pure: every number comes in through the arguments. */

export const u64 = (value: bigint | undefined): UInt64Value | undefined => (value === undefined ? undefined : { value });

function psiData(line: PsiLine | undefined): PsiData | undefined {
  if (line === undefined) return undefined;
  // The kernel counts stall time in microseconds; the CRI field is nanoseconds.
  return { Total: line.totalUs * 1000n, Avg10: line.avg10, Avg60: line.avg60, Avg300: line.avg300 };
}

export function psiStats(psi: Psi | undefined): PsiStats | undefined {
  if (psi === undefined) return undefined;
  return { Some: psiData(psi.some), Full: psiData(psi.full) };
}

export function cpuUsage(sample: CgroupSample, usageNanoCores: bigint | undefined): CpuUsage | undefined {
  if (sample.cpu === undefined) return undefined;
  return {
    timestamp: sample.timestampNs,
    usageCoreNanoSeconds: u64(sample.cpu.usageNs),
    usageNanoCores: u64(usageNanoCores),
    psi: psiStats(sample.cpu.psi),
  };
}

export function memoryUsage(sample: CgroupSample, host: HostMemory): MemoryUsage | undefined {
  const m = sample.memory;
  if (m === undefined) return undefined;
  const limit = m.limitBytes !== undefined && m.limitBytes < host.memTotal ? m.limitBytes : host.memTotal;
  return {
    timestamp: sample.timestampNs,
    workingSetBytes: u64(m.workingSetBytes),
    availableBytes: u64(limit > m.workingSetBytes ? limit - m.workingSetBytes : 0n),
    usageBytes: u64(m.usageBytes),
    rssBytes: u64(m.rssBytes),
    pageFaults: u64(m.pageFaults),
    majorPageFaults: u64(m.majorPageFaults),
    psi: psiStats(m.psi),
  };
}

export function swapUsage(sample: CgroupSample, host: HostMemory): SwapUsage | undefined {
  const s = sample.swap;
  if (s === undefined) return undefined;
  const limit = s.limitBytes !== undefined && s.limitBytes < host.swapTotal ? s.limitBytes : host.swapTotal;
  return {
    timestamp: sample.timestampNs,
    swapUsageBytes: u64(s.usageBytes),
    swapAvailableBytes: u64(limit > s.usageBytes ? limit - s.usageBytes : 0n),
  };
}

export function ioUsage(sample: CgroupSample): IoUsage | undefined {
  if (sample.io?.psi === undefined) return undefined;
  return { timestamp: sample.timestampNs, psi: psiStats(sample.io.psi) };
}

export function processUsage(sample: CgroupSample): ProcessUsage | undefined {
  if (sample.pids === undefined) return undefined;
  return { timestamp: sample.timestampNs, processCount: u64(sample.pids.current) };
}

export function filesystemUsage(usage: LayerUsage, mountpoint: string | undefined, timestampNs: bigint): FilesystemUsage {
  return {
    timestamp: timestampNs,
    fsId: mountpoint !== undefined ? { mountpoint } : undefined,
    usedBytes: u64(usage.usedBytes),
    inodesUsed: u64(usage.inodesUsed),
  };
}

function interfaceUsage(i: InterfaceCounters): NetworkInterfaceUsage {
  return { name: i.name, rxBytes: u64(i.rxBytes), rxErrors: u64(i.rxErrors), txBytes: u64(i.txBytes), txErrors: u64(i.txErrors) };
}

export function networkUsage(interfaces: InterfaceCounters[], defaultIface: InterfaceCounters | undefined, timestampNs: bigint): NetworkUsage {
  return {
    timestamp: timestampNs,
    defaultInterface: defaultIface !== undefined ? interfaceUsage(defaultIface) : undefined,
    interfaces: interfaces.map(interfaceUsage),
  };
}

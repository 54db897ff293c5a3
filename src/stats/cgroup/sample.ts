import type { Psi } from './psi';

/**
 * What one read of a cgroup yields, the same shape for v1 and v2. Absent parts are the ones the
 * kernel does not expose for this cgroup (controller missing, cgroup gone). Counters are bigint:
 * nanosecond and byte totals outgrow 2^53.
 */
export interface CgroupSample {
  /** When the files were read: wall clock (ns) for the CRI timestamps. */
  timestampNs: bigint;
  /** The same instant on the monotonic clock (ns), for rates between samples. */
  monotonicNs: bigint;
  cpu?: CpuSample;
  memory?: MemorySample;
  swap?: SwapSample;
  pids?: PidsSample;
  io?: { psi?: Psi };
}

export interface CpuSample {
  /** Cumulative CPU time of every task in the cgroup and its descendants. */
  usageNs: bigint;
  userNs?: bigint;
  systemNs?: bigint;
  psi?: Psi;
}

export interface MemorySample {
  usageBytes: bigint;
  /** Usage minus the inactive file cache: what the kernel could not reclaim cheaply. */
  workingSetBytes: bigint;
  rssBytes: bigint;
  cacheBytes: bigint;
  mappedFileBytes: bigint;
  pageFaults: bigint;
  majorPageFaults: bigint;
  /** The effective limit; undefined when the cgroup has none. */
  limitBytes?: bigint;
  /** Times usage hit the limit (v1 memory.failcnt, v2 memory.events "max"). */
  failcnt?: bigint;
  oomKills?: bigint;
  psi?: Psi;
}

export interface SwapSample {
  usageBytes: bigint;
  /** Swap the cgroup may use; undefined when unlimited. */
  limitBytes?: bigint;
}

export interface PidsSample {
  /** Tasks (threads included), as the pids controller counts them. */
  current: bigint;
  limit?: bigint;
}

/** Working set as the kubelet defines it: usage minus inactive file, never below zero. */
export function workingSet(usage: bigint, inactiveFile: bigint): bigint {
  return usage > inactiveFile ? usage - inactiveFile : 0n;
}

export function wallClockNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

import { readFlatKeyed, readSingle, type ReadFile } from './files';
import { workingSet, type CpuSample, type MemorySample, type PidsSample, type SwapSample } from './sample';

/**
 * cgroup v1 readers, one per controller directory. Hierarchical figures ("total_*" in memory.stat,
 * cpuacct.usage) are used so a pod cgroup accounts for its containers.
 */

/** v1 writes "no limit" as the largest page-aligned counter, 2^63 rounded down to a page. */
const V1_UNLIMITED = 1n << 62n;

const MEMORY_STAT_KEYS = [
  'total_inactive_file', 'total_rss', 'total_cache', 'total_mapped_file', 'total_pgfault', 'total_pgmajfault', 'total_swap',
  'hierarchical_memory_limit', 'hierarchical_memsw_limit',
] as const;

const finite = (v: bigint | undefined): bigint | undefined => (v === undefined || v >= V1_UNLIMITED ? undefined : v);

export function readV1Cpu(read: ReadFile, cpuacctDir: string, extended: boolean): CpuSample | undefined {
  const usage = readSingle(read, `${cpuacctDir}/cpuacct.usage`);
  if (usage === undefined || usage === null) return undefined;
  const cpu: CpuSample = { usageNs: usage };
  if (extended) {
    cpu.userNs = readSingle(read, `${cpuacctDir}/cpuacct.usage_user`) ?? undefined;
    cpu.systemNs = readSingle(read, `${cpuacctDir}/cpuacct.usage_sys`) ?? undefined;
  }
  return cpu;
}

export function readV1Memory(read: ReadFile, memoryDir: string, extended: boolean): { memory: MemorySample; swap?: SwapSample } | undefined {
  const usage = readSingle(read, `${memoryDir}/memory.usage_in_bytes`);
  const stat = readFlatKeyed(read, `${memoryDir}/memory.stat`, MEMORY_STAT_KEYS);
  if (usage === undefined || usage === null || stat === undefined) return undefined;
  const get = (key: string): bigint => stat.get(key) ?? 0n;
  const limit = finite(stat.get('hierarchical_memory_limit'));
  const memory: MemorySample = {
    usageBytes: usage,
    workingSetBytes: workingSet(usage, get('total_inactive_file')),
    rssBytes: get('total_rss'),
    cacheBytes: get('total_cache'),
    mappedFileBytes: get('total_mapped_file'),
    pageFaults: get('total_pgfault'),
    majorPageFaults: get('total_pgmajfault'),
    limitBytes: limit,
  };
  if (extended) {
    memory.failcnt = readSingle(read, `${memoryDir}/memory.failcnt`) ?? undefined;
    memory.oomKills = readFlatKeyed(read, `${memoryDir}/memory.oom_control`, ['oom_kill'])?.get('oom_kill');
  }
  // total_swap is only there when the kernel accounts swap (memsw); without it there is no
  // per-cgroup swap figure at all.
  const swapUsage = stat.get('total_swap');
  if (swapUsage === undefined) return { memory };
  const memswLimit = finite(stat.get('hierarchical_memsw_limit'));
  const swapLimit = memswLimit !== undefined && limit !== undefined && memswLimit >= limit ? memswLimit - limit : undefined;
  return { memory, swap: { usageBytes: swapUsage, limitBytes: swapLimit } };
}

export function readV1Pids(read: ReadFile, pidsDir: string, extended: boolean): PidsSample | undefined {
  const current = readSingle(read, `${pidsDir}/pids.current`);
  if (current === undefined || current === null) return undefined;
  // The limit is only for the metrics; CRI stats need the count alone.
  return { current, limit: extended ? (readSingle(read, `${pidsDir}/pids.max`) ?? undefined) : undefined };
}

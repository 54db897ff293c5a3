import { readFlatKeyed, readSingle, type ReadFile } from './files';
import { readPsi, type Psi } from './psi';
import { workingSet, type CpuSample, type MemorySample, type PidsSample, type SwapSample } from './sample';

/**
 * cgroup v2 readers on one cgroup directory of the unified hierarchy. Figures there are
 * hierarchical already; "max" means no limit.
 */

const MEMORY_STAT_KEYS = ['inactive_file', 'anon', 'file', 'file_mapped', 'pgfault', 'pgmajfault'] as const;

export function readV2Cpu(read: ReadFile, dir: string, extended: boolean): CpuSample | undefined {
  // cpu.stat's usage lines exist on every v2 cgroup, with or without the cpu controller.
  const stat = readFlatKeyed(read, `${dir}/cpu.stat`, ['usage_usec', 'user_usec', 'system_usec']);
  const usage = stat?.get('usage_usec');
  if (stat === undefined || usage === undefined) return undefined;
  const cpu: CpuSample = { usageNs: usage * 1000n };
  if (extended) {
    const user = stat.get('user_usec');
    const system = stat.get('system_usec');
    if (user !== undefined) cpu.userNs = user * 1000n;
    if (system !== undefined) cpu.systemNs = system * 1000n;
  }
  return cpu;
}

export function readV2Memory(read: ReadFile, dir: string, extended: boolean): { memory: MemorySample; swap?: SwapSample } | undefined {
  const usage = readSingle(read, `${dir}/memory.current`);
  const stat = readFlatKeyed(read, `${dir}/memory.stat`, MEMORY_STAT_KEYS);
  if (usage === undefined || usage === null || stat === undefined) return undefined;
  const get = (key: string): bigint => stat.get(key) ?? 0n;
  const memory: MemorySample = {
    usageBytes: usage,
    workingSetBytes: workingSet(usage, get('inactive_file')),
    rssBytes: get('anon'),
    cacheBytes: get('file'),
    mappedFileBytes: get('file_mapped'),
    pageFaults: get('pgfault'),
    majorPageFaults: get('pgmajfault'),
    limitBytes: readSingle(read, `${dir}/memory.max`) ?? undefined,
  };
  if (extended) {
    const events = readFlatKeyed(read, `${dir}/memory.events`, ['max', 'oom_kill']);
    memory.failcnt = events?.get('max');
    memory.oomKills = events?.get('oom_kill');
  }
  const swapUsage = readSingle(read, `${dir}/memory.swap.current`);
  if (swapUsage === undefined || swapUsage === null) return { memory };
  return { memory, swap: { usageBytes: swapUsage, limitBytes: readSingle(read, `${dir}/memory.swap.max`) ?? undefined } };
}

export function readV2Pids(read: ReadFile, dir: string, extended: boolean): PidsSample | undefined {
  const current = readSingle(read, `${dir}/pids.current`);
  if (current === undefined || current === null) return undefined;
  // The limit is only for the metrics; CRI stats need the count alone.
  return { current, limit: extended ? (readSingle(read, `${dir}/pids.max`) ?? undefined) : undefined };
}

/** PSI lives on the unified hierarchy only (also in hybrid mode, for cgroups mirrored there). */
export function readV2Pressure(read: ReadFile, dir: string): { cpu?: Psi; memory?: Psi; io?: Psi } {
  return {
    cpu: readPsi(read, `${dir}/cpu.pressure`),
    memory: readPsi(read, `${dir}/memory.pressure`),
    io: readPsi(read, `${dir}/io.pressure`),
  };
}

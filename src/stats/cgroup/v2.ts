import { join } from 'node:path';
import { readFlatKeyed, readSingle } from './files';
import { readPsi, type Psi } from './psi';
import { workingSet, type CpuSample, type MemorySample, type PidsSample, type SwapSample } from './sample';

/**
 * cgroup v2 readers on one cgroup directory of the unified hierarchy. Figures there are
 * hierarchical already; "max" means no limit.
 */

export function readV2Cpu(dir: string, extended: boolean): CpuSample | undefined {
  // cpu.stat's usage lines exist on every v2 cgroup, with or without the cpu controller.
  const stat = readFlatKeyed(join(dir, 'cpu.stat'));
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

export function readV2Memory(dir: string, extended: boolean): { memory: MemorySample; swap?: SwapSample } | undefined {
  const usage = readSingle(join(dir, 'memory.current'));
  const stat = readFlatKeyed(join(dir, 'memory.stat'));
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
    limitBytes: readSingle(join(dir, 'memory.max')) ?? undefined,
  };
  if (extended) {
    const events = readFlatKeyed(join(dir, 'memory.events'));
    memory.failcnt = events?.get('max');
    memory.oomKills = events?.get('oom_kill');
  }
  const swapUsage = readSingle(join(dir, 'memory.swap.current'));
  if (swapUsage === undefined || swapUsage === null) return { memory };
  return { memory, swap: { usageBytes: swapUsage, limitBytes: readSingle(join(dir, 'memory.swap.max')) ?? undefined } };
}

export function readV2Pids(dir: string): PidsSample | undefined {
  const current = readSingle(join(dir, 'pids.current'));
  if (current === undefined || current === null) return undefined;
  return { current, limit: readSingle(join(dir, 'pids.max')) ?? undefined };
}

/** PSI lives on the unified hierarchy only (also in hybrid mode, for cgroups mirrored there). */
export function readV2Pressure(dir: string): { cpu?: Psi; memory?: Psi; io?: Psi } {
  return {
    cpu: readPsi(join(dir, 'cpu.pressure')),
    memory: readPsi(join(dir, 'memory.pressure')),
    io: readPsi(join(dir, 'io.pressure')),
  };
}

import type { LinuxContainerResources } from '../../gen/runtime/v1/api';
import { invalidArgument } from '../../errors';
import type { OciResources } from './oci';

const CPUSET = /^\s*$|^\d+(-\d+)?(,\d+(-\d+)?)*$/;
const PAGE_SIZE = /^\d+(KB|MB|GB|TB|PB)$/;

/** A bigint field as a safe JS number, or an InvalidArgument naming it. */
function num(value: bigint, field: string): number {
  if (value < BigInt(Number.MIN_SAFE_INTEGER) || value > BigInt(Number.MAX_SAFE_INTEGER)) throw invalidArgument(`resources.${field}: ${value} is out of range`);
  return Number(value);
}

/**
 * linux.resources from CRI resources (zero means "not set", as in CRI). Validated here so the
 * runtime and UpdateContainerResources never see half-valid input.
 */
export function ociResources(r: LinuxContainerResources | undefined): OciResources {
  const out: OciResources = {};
  if (!r) return out;
  const cpu: NonNullable<OciResources['cpu']> = {};
  if (r.cpuShares !== 0n) {
    if (r.cpuShares < 2n || r.cpuShares > 262144n) throw invalidArgument(`resources.cpu_shares: ${r.cpuShares} is outside 2..262144`);
    cpu.shares = num(r.cpuShares, 'cpu_shares');
  }
  if (r.cpuPeriod !== 0n) {
    if (r.cpuPeriod < 1000n || r.cpuPeriod > 1000000n) throw invalidArgument(`resources.cpu_period: ${r.cpuPeriod} is outside 1000..1000000 µs`);
    cpu.period = num(r.cpuPeriod, 'cpu_period');
  }
  if (r.cpuQuota !== 0n) {
    if (r.cpuQuota !== -1n && r.cpuQuota < 1000n) throw invalidArgument(`resources.cpu_quota: ${r.cpuQuota} is below 1000 µs (and not -1)`);
    cpu.quota = num(r.cpuQuota, 'cpu_quota');
  }
  if (r.cpusetCpus !== '') {
    if (!CPUSET.test(r.cpusetCpus)) throw invalidArgument(`resources.cpuset_cpus: "${r.cpusetCpus}" is not a cpu list like "0-3,7"`);
    cpu.cpus = r.cpusetCpus;
  }
  if (r.cpusetMems !== '') {
    if (!CPUSET.test(r.cpusetMems)) throw invalidArgument(`resources.cpuset_mems: "${r.cpusetMems}" is not a node list like "0-1"`);
    cpu.mems = r.cpusetMems;
  }
  if (Object.keys(cpu).length > 0) out.cpu = cpu;

  const memory: NonNullable<OciResources['memory']> = {};
  if (r.memoryLimitInBytes !== 0n) {
    if (r.memoryLimitInBytes < 0n) throw invalidArgument(`resources.memory_limit_in_bytes: ${r.memoryLimitInBytes} is negative`);
    memory.limit = num(r.memoryLimitInBytes, 'memory_limit_in_bytes');
  }
  if (r.memorySwapLimitInBytes !== 0n) {
    if (r.memorySwapLimitInBytes !== -1n && r.memorySwapLimitInBytes < r.memoryLimitInBytes) {
      throw invalidArgument(`resources.memory_swap_limit_in_bytes: ${r.memorySwapLimitInBytes} is below memory_limit_in_bytes ${r.memoryLimitInBytes}`);
    }
    memory.swap = num(r.memorySwapLimitInBytes, 'memory_swap_limit_in_bytes');
  }
  if (Object.keys(memory).length > 0) out.memory = memory;

  if (r.hugepageLimits.length > 0) {
    out.hugepageLimits = r.hugepageLimits.map((h, i) => {
      if (!PAGE_SIZE.test(h.pageSize)) throw invalidArgument(`resources.hugepage_limits[${i}].page_size: "${h.pageSize}" is not like "2MB" or "1GB"`);
      return { pageSize: h.pageSize, limit: num(h.limit, `hugepage_limits[${i}].limit`) };
    });
  }
  const unified = Object.entries(r.unified);
  if (unified.length > 0) {
    for (const [k] of unified) {
      if (!/^[a-z_]+\.[a-z0-9_.]+$/.test(k)) throw invalidArgument(`resources.unified: "${k}" is not a cgroup v2 file name`);
    }
    out.unified = { ...r.unified };
  }
  return out;
}

/** oom_score_adj is a process attribute, not a cgroup one; checked against the kernel's range. */
export function oomScoreAdj(r: LinuxContainerResources | undefined): number | undefined {
  if (!r || r.oomScoreAdj === 0n) return undefined;
  if (r.oomScoreAdj < -1000n || r.oomScoreAdj > 1000n) throw invalidArgument(`resources.oom_score_adj: ${r.oomScoreAdj} is outside -1000..1000`);
  return Number(r.oomScoreAdj);
}

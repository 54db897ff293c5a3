import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LinuxContainerResources } from '../gen/runtime/v1/api';
import type { OciResources } from '../native/libshoal';
import { readCgroupLayout, type CgroupLayout } from '../cgroup/layout';
import { invalidArgument } from '../errors';

/**
 * The pod cgroup: kubelet's cgroupfs-driver parent (e.g. /kubepods/burstable/pod<uid>) is the pod's
 * own cgroup; without one, a cgroup per pod under the configured default parent.
 */
export function podCgroupPath(cgroupParent: string, defaultParent: string, podId: string): string {
  if (cgroupParent === '') return `${defaultParent.replace(/\/+$/, '')}/${podId}`;
  if (!cgroupParent.startsWith('/')) throw invalidArgument(`linux.cgroup_parent "${cgroupParent}": expected an absolute cgroupfs path`);
  if (cgroupParent.endsWith('.slice') || cgroupParent.includes(':')) {
    throw invalidArgument(`linux.cgroup_parent "${cgroupParent}" is a systemd slice; this runtime uses the cgroupfs driver`);
  }
  if (cgroupParent.split('/').some((p) => p === '..' || p === '.')) throw invalidArgument(`linux.cgroup_parent "${cgroupParent}" has a . or .. component`);
  return cgroupParent.replace(/\/+$/, '');
}

/** Whether the cgroup already exists in any hierarchy (then it is someone else's to remove). */
export function cgroupExists(path: string, layout: CgroupLayout = readCgroupLayout()): boolean {
  const roots = new Set<string>(Object.values(layout.v1));
  if (layout.v2Root) roots.add(layout.v2Root);
  return [...roots].some((root) => existsSync(join(root, path)));
}

/**
 * OCI linux.resources for the pod: the sum of its containers' resources (as kubelet sends them)
 * and the pod overhead. Zero means "not set" in CRI.
 */
export function podResources(resources: LinuxContainerResources | undefined, overhead: LinuxContainerResources | undefined): OciResources {
  const r = resources;
  const o = overhead;
  const out: OciResources = {};
  const memory: Record<string, number> = {};
  if (r && r.memoryLimitInBytes > 0n) memory.limit = Number(r.memoryLimitInBytes + (o?.memoryLimitInBytes ?? 0n));
  if (r && r.memorySwapLimitInBytes > 0n) memory.swap = Number(r.memorySwapLimitInBytes + (o?.memoryLimitInBytes ?? 0n));
  if (Object.keys(memory).length > 0) out.memory = memory;

  const cpu: Record<string, number | string> = {};
  const shares = (r?.cpuShares ?? 0n) + (o?.cpuShares ?? 0n);
  if (shares > 0n) cpu.shares = Number(shares);
  if (r && r.cpuQuota > 0n) {
    const period = r.cpuPeriod > 0n ? r.cpuPeriod : 100_000n;
    let quota = r.cpuQuota;
    if (o && o.cpuQuota > 0n) {
      const oPeriod = o.cpuPeriod > 0n ? o.cpuPeriod : 100_000n;
      quota += (o.cpuQuota * period) / oPeriod;
    }
    cpu.quota = Number(quota);
    cpu.period = Number(period);
  }
  if (r?.cpusetCpus) cpu.cpus = r.cpusetCpus;
  if (r?.cpusetMems) cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;

  if (r && r.hugepageLimits.length > 0) out.hugepageLimits = r.hugepageLimits.map((h) => ({ pageSize: h.pageSize, limit: Number(h.limit) }));
  if (r && Object.keys(r.unified).length > 0) out.unified = { ...r.unified };
  return out;
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCgroupLayout } from '../../src/cgroup/layout';

/**
 * Reading a cgroup's files from the host in tests that run on this cgroup v1 host and in the
 * cgroup2-only VM alike: the directory of a controller is found where the host mounts it.
 */
const layout = readCgroupLayout();

export const onCgroupV2 = layout.mode === 'v2';

/** The directory of cgroup `rel` in the hierarchy holding `controller` (the unified one on v2). */
export function cgroupDir(rel: string, controller: string): string {
  const root = onCgroupV2 ? layout.v2Root : layout.v1[controller];
  if (!root) throw new Error(`cgroup controller ${controller} is not mounted on this host`);
  return join(root, rel);
}

export function readCgroupFile(rel: string, controller: string, file: string): string {
  return readFileSync(join(cgroupDir(rel, controller), file), 'utf8').trim();
}

/** The kernel-documented cpu.shares → cpu.weight conversion, for expectations on v2. */
export function weightOfShares(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

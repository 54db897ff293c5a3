import { readFileSync } from 'node:fs';

/**
 * How cgroups are mounted on this host, read from /proc/self/mountinfo: "v1" (only legacy
 * hierarchies), "v2" (the unified hierarchy alone) or "hybrid" (both, e.g. v1 controllers with a
 * cgroup2 mount that holds the rest).
 */
export interface CgroupLayout {
  mode: 'v1' | 'v2' | 'hybrid';
  /** Mount point of the cgroup2 hierarchy, if any. */
  v2Root: string | undefined;
  /** Controllers available on the cgroup2 hierarchy (its root cgroup.controllers). */
  v2Controllers: string[];
  /** v1 controller (or name=…) → mount point. */
  v1: Record<string, string>;
}

export function readCgroupLayout(mountinfo = readFileSync('/proc/self/mountinfo', 'utf8')): CgroupLayout {
  const v1: Record<string, string> = {};
  let v2Root: string | undefined;
  for (const line of mountinfo.split('\n')) {
    // Fields: id parent major:minor root mountpoint options [optional…] - fstype source superoptions
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const left = line.slice(0, dash).split(' ');
    const [fstype, , superOptions = ''] = line.slice(dash + 3).split(' ');
    const mountPoint = unescapeMountinfo(left[4] ?? '');
    if (fstype === 'cgroup2') {
      v2Root ??= mountPoint;
    } else if (fstype === 'cgroup') {
      for (const opt of superOptions.split(',')) {
        if (KNOWN_V1_CONTROLLERS.has(opt) || opt.startsWith('name=')) v1[opt] ??= mountPoint;
      }
    }
  }
  let v2Controllers: string[] = [];
  if (v2Root !== undefined) {
    try {
      v2Controllers = readFileSync(`${v2Root}/cgroup.controllers`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      v2Controllers = [];
    }
  }
  const hasV1 = Object.keys(v1).some((k) => !k.startsWith('name='));
  const mode = hasV1 ? (v2Root !== undefined ? 'hybrid' : 'v1') : 'v2';
  return { mode, v2Root, v2Controllers, v1 };
}

const KNOWN_V1_CONTROLLERS = new Set([
  'cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'net_cls', 'blkio', 'perf_event',
  'net_prio', 'hugetlb', 'pids', 'rdma', 'misc',
]);

function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

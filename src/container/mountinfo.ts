import { readFileSync } from 'node:fs';

/** One line of /proc/self/mountinfo, the fields this daemon uses. */
export interface MountInfo {
  mountPoint: string;
  /** Optional fields such as "shared:12" or "master:3". */
  propagation: string[];
  fsType: string;
  source: string;
}

const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function readMountInfo(file = '/proc/self/mountinfo'): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (dash < 6) continue;
    out.push({ mountPoint: unescape(f[4]), propagation: f.slice(6, dash), fsType: f[dash + 1], source: unescape(f[dash + 2]) });
  }
  return out;
}

/** The mount `path` lives on: the last (topmost) mount whose point is path or an ancestor. */
export function mountOf(path: string, mounts: MountInfo[]): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const m of mounts) {
    const prefix = m.mountPoint === '/' ? '/' : `${m.mountPoint}/`;
    if (path !== m.mountPoint && !path.startsWith(prefix)) continue;
    if (!best || m.mountPoint.length >= best.mountPoint.length) best = m;
  }
  return best;
}

/** Whether `path` is a mount point (the topmost entry counts). */
export function isMountPoint(path: string, mounts = readMountInfo()): boolean {
  return mounts.some((m) => m.mountPoint === path);
}

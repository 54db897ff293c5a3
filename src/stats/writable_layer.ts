import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Disk use of a container's writable layer (its overlay upper directory). */
export interface LayerUsage {
  /** Allocated bytes (st_blocks × 512), each hard-linked inode counted once, as du does. */
  usedBytes: bigint;
  /** Inodes in the directory tree, the directory itself included. */
  inodesUsed: bigint;
}

/**
 * Walks the tree once: one readdir per directory and one lstat per entry, no process spawned.
 * Allocated size rather than apparent size: sparse files do not claim space they do not hold,
 * and what the kernel charges to the disk is what eviction cares about. Entries that vanish
 * while the walk runs are skipped. Undefined when the directory itself does not exist.
 */
export function writableLayerUsage(upperDir: string): LayerUsage | undefined {
  let root;
  try {
    root = lstatSync(upperDir, { bigint: true });
  } catch {
    return undefined;
  }
  const seen = new Set<bigint>();
  let bytes = root.blocks * 512n;
  let inodes = 1n;
  seen.add(root.ino);
  const dirs = [upperDir];
  while (dirs.length > 0) {
    const dir = dirs.pop()!;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const path = join(dir, name);
      let st;
      try {
        st = lstatSync(path, { bigint: true });
      } catch {
        continue;
      }
      if (st.isDirectory()) dirs.push(path);
      if (st.nlink > 1n) {
        if (seen.has(st.ino)) continue;
        seen.add(st.ino);
      }
      inodes += 1n;
      bytes += st.blocks * 512n;
    }
  }
  return { usedBytes: bytes, inodesUsed: inodes };
}

/**
 * The mount point of the filesystem holding `path` (the CRI's fsId of a writable layer), found in
 * /proc/self/mountinfo by device number and remembered per device.
 */
export class MountPointFinder {
  private readonly byDevice = new Map<string, string>();
  /** Writable layers do not move between filesystems: one stat per path is enough. */
  private readonly byPath = new Map<string, string>();

  constructor(private readonly mountinfo: () => string = () => readFileSync('/proc/self/mountinfo', 'utf8')) {}

  find(path: string): string | undefined {
    const known = this.byPath.get(path);
    if (known !== undefined) return known;
    const found = this.lookup(path);
    if (found !== undefined) this.byPath.set(path, found);
    return found;
  }

  /** Forgets the paths not in `alive`. */
  retain(alive: ReadonlySet<string>): void {
    for (const path of this.byPath.keys()) if (!alive.has(path)) this.byPath.delete(path);
  }

  private lookup(path: string): string | undefined {
    let dev: bigint;
    try {
      dev = statSync(path, { bigint: true }).dev;
    } catch {
      return undefined;
    }
    const key = deviceNumber(dev);
    const cached = this.byDevice.get(key);
    if (cached !== undefined) return cached;
    let best: string | undefined;
    for (const line of this.mountinfo().split('\n')) {
      const f = line.split(' ');
      if (f[2] !== key || f[4] === undefined) continue;
      const mountPoint = f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
      const prefix = mountPoint === '/' ? '/' : `${mountPoint}/`;
      if ((path === mountPoint || path.startsWith(prefix)) && (best === undefined || mountPoint.length > best.length)) best = mountPoint;
    }
    if (best !== undefined) this.byDevice.set(key, best);
    return best;
  }
}

/** "major:minor" of a st_dev as glibc encodes it (the form mountinfo's third field uses). */
export function deviceNumber(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  return `${major}:${minor}`;
}

/**
 * Walks are synchronous and the costliest part of container stats. A result is reused for at
 * least MIN_REUSE_MS (disk use needs no sub-second freshness: kubelet asks every 10 s or so, and
 * cadvisor refreshes it once a minute), and a layer whose walk took T for COST_FACTOR × T (capped),
 * so a layer with many files costs at most a few percent of the daemon's time.
 */
const MIN_REUSE_MS = 1_000;
const COST_FACTOR = 20;
const MAX_REUSE_MS = 60_000;

export class WritableLayerCache {
  private readonly entries = new Map<string, { usage: LayerUsage; at: number; costMs: number }>();

  constructor(
    private readonly walk: (dir: string) => LayerUsage | undefined = writableLayerUsage,
    private readonly clockMs: () => number = () => performance.now(),
  ) {}

  usage(upperDir: string): LayerUsage | undefined {
    const now = this.clockMs();
    const e = this.entries.get(upperDir);
    if (e !== undefined && now - e.at < Math.min(MAX_REUSE_MS, Math.max(MIN_REUSE_MS, e.costMs * COST_FACTOR))) return e.usage;
    const usage = this.walk(upperDir);
    const done = this.clockMs();
    if (usage === undefined) this.entries.delete(upperDir);
    else this.entries.set(upperDir, { usage, at: done, costMs: done - now });
    return usage;
  }

  retain(alive: ReadonlySet<string>): void {
    for (const dir of this.entries.keys()) if (!alive.has(dir)) this.entries.delete(dir);
  }
}

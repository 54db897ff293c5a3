import { readFileSync, readdirSync, rmdirSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { readCgroupLayout } from '../../src/cgroup/layout';

/**
 * Leak-proof teardown for tests that run real containers: whatever a failed test left behind under
 * its directory or cgroup parent is removed here, so the next CI run on this machine starts clean.
 */

/** Unmounts every mount at or below `dir`, deepest first (lazily, so a busy one cannot block). */
export function unmountUnder(dir: string): void {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
  for (const p of points) spawnSync('umount', ['-l', p], { stdio: 'ignore' });
}

/**
 * The pids of the processes (this one excepted) whose command line, its arguments joined by NULs,
 * `matches`.
 */
export function processesWhere(matches: (cmdline: string) => boolean): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (matches(readFileSync(`/proc/${entry}/cmdline`, 'utf8'))) out.push(Number(entry));
    } catch {
      /* gone already */
    }
  }
  return out;
}

/** SIGKILLs every process whose command line mentions `needle` (monitors, containers, helpers). */
export function killProcessesMentioning(needle: string): number {
  let killed = 0;
  for (const pid of processesWhere((cmdline) => cmdline.includes(needle))) {
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      /* gone already */
    }
  }
  return killed;
}

/** Removes the cgroup `relPath` (and everything below) in every hierarchy, killing what is inside. */
export function removeCgroupTree(relPath: string): void {
  const layout = readCgroupLayout();
  const roots = new Set<string>(Object.values(layout.v1));
  if (layout.v2Root) roots.add(layout.v2Root);
  for (const root of roots) {
    const top = join(root, relPath);
    if (existsSync(top)) removeCgroupDir(top);
  }
}

function removeCgroupDir(dir: string): void {
  for (const name of readdirSync(dir)) {
    const child = join(dir, name);
    try {
      if (statSync(child).isDirectory()) removeCgroupDir(child);
    } catch {
      /* raced with removal */
    }
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* exited */
        }
      }
      rmdirSync(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      spawnSync('sleep', ['0.05']);
    }
  }
}

import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { killProcessesMentioning, removeCgroupTree, unmountUnder } from './helpers/cleanup';

/**
 * A test run that was killed (CI timeout, a developer's Ctrl-C) cannot clean up after itself. Before
 * the suite starts, remove what such a run left: a test daemon directory whose daemon is gone and
 * which nothing has touched for a while, with its processes, mounts and cgroup parent.
 */
const STALE_AFTER_MS = 20 * 60 * 1000;

export default function sweepAbandonedTestDirs(): void {
  for (const name of readdirSync('/tmp')) {
    if (!name.startsWith('shoal-test-')) continue;
    const dir = join('/tmp', name);
    try {
      if (Date.now() - statSync(dir).mtimeMs < STALE_AFTER_MS || daemonAlive(dir)) continue;
      killProcessesMentioning(dir);
      const parent = /default_cgroup_parent = "([^"]+)"/.exec(readFileSync(join(dir, 'config.toml'), 'utf8'))?.[1];
      if (parent?.startsWith('/shoal-test-')) removeCgroupTree(parent);
      unmountUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    } catch {
      /* half-removed already or unreadable: leave it to the next sweep */
    }
  }
}

function daemonAlive(dir: string): boolean {
  try {
    const pid = Number(readFileSync(join(dir, 'shoal.sock.lock'), 'utf8').trim());
    if (!pid) return false;
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { killProcessesMentioning, removeCgroupTree, unmountUnder } from './helpers/cleanup';
import { PORTMAP_CHAINS } from './global_teardown';

const STALE_AFTER_MS = 20 * 60 * 1000;

export default function setUpSuite(): void {
  sweepAbandonedTestDirs();
  ensurePortmapChains();
}

/**
 * portmap (Debian's plugins 1.1.1) races with itself when pods with port mappings start together on
 * a node that has none of its shared chains yet: two ADDs both find CNI-HOSTPORT-SETMARK missing,
 * both create it, and one fails with "File exists" (kubelet would retry that pod). Several test
 * files start such pods at once, so the suite provides the empty chains the way a node has them
 * after its first such pod; portmap adds its rules to them. global_teardown.ts removes them again.
 */
function ensurePortmapChains(): void {
  for (const family of ['iptables', 'ip6tables'] as const) {
    const listed = spawnSync(family, ['-t', 'nat', '-S'], { encoding: 'utf8' });
    if (listed.status !== 0) continue;
    const lines = listed.stdout.split('\n');
    for (const chain of PORTMAP_CHAINS) {
      if (!lines.includes(`-N ${chain}`)) spawnSync(family, ['-t', 'nat', '-N', chain, '--wait'], { stdio: 'ignore' });
    }
  }
}

/**
 * A test run that was killed (CI timeout, a developer's Ctrl-C) cannot clean up after itself. Before
 * the suite starts, remove what such a run left: a test daemon directory whose daemon is gone and
 * which nothing has touched for a while, with its processes, mounts and cgroup parent.
 */
function sweepAbandonedTestDirs(): void {
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

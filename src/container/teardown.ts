import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerLayout } from './layout';
import type { ContainerRecord, ContainerStore } from './record';
import { destroyRootfs } from './rootfs';
import type { RuntimeClient } from './runtime_client';

export interface TeardownDeps {
  layout: ContainerLayout;
  runtime: RuntimeClient;
  store: ContainerStore;
  releaseLayers(holderId: string): Promise<void>;
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is (still) the monitor of container `id`: pids get reused. */
export function isMonitorOf(pid: number, id: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(id);
  } catch {
    return false;
  }
}

/**
 * Removes everything a container has on the host, whatever state it got to: monitor, runtime
 * state and cgroup, rootfs mount, layer hold, files, record. Safe to repeat; needs only the id
 * (and the monitor pid when known).
 */
export async function teardownContainer(d: TeardownDeps, r: ContainerRecord): Promise<void> {
  const L = d.layout;
  // The monitor goes first, so it cannot be caught half-way through writing an exit file.
  const monitorPid = r.monitorPid ?? readPid(L.monitorPidFile(r.id));
  if (monitorPid !== undefined && isMonitorOf(monitorPid, r.id)) {
    try {
      process.kill(monitorPid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await d.runtime.delete(r.id, true);
  await destroyRootfs(L.rootfs(r.id), L.upper(r.id), L.work(r.id));
  await d.releaseLayers(r.id);
  for (const p of [L.exitFile(r.id), L.attachSocket(r.id), L.runFiles(r.id)]) rmSync(p, { recursive: true, force: true });
  for (const name of readdirSync(L.exitsDir)) if (name.startsWith(`${r.id}.`)) rmSync(join(L.exitsDir, name), { force: true });
  await d.store.remove(r.id);
}

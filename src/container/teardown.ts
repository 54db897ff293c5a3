import { readFileSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { ContainerLayout } from './layout';
import type { ContainerRecord, ContainerStore } from './record';
import { unmountRootfs } from './rootfs';
import type { RuntimeClient } from './runtime_client';
import type { StepTimes } from './step_times';

export interface TeardownDeps {
  layout: ContainerLayout;
  runtime: RuntimeClient;
  store: ContainerStore;
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
 * Takes a container off the host, whatever state it got to: monitor, runtime state and cgroup,
 * rootfs mount, run files, and its directory — discarded in one rename, the record with it. What
 * is left, the layer hold and the discarded bytes, the caller hands to a Reclaimer: nothing of it
 * is visible to CRI, and a restart reclaims it if the daemon dies first. Safe to repeat; needs only
 * the id (and the monitor pid when known).
 */
export async function teardownContainer(d: TeardownDeps, r: ContainerRecord, t?: StepTimes): Promise<void> {
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
  t?.step('monitor');
  // The run files (nothing below reads them) go on the thread pool while libshoal's delete
  // (synchronous) removes the runtime state and the cgroup.
  const runFiles = removeRunFiles(L, r.id);
  runFiles.catch(() => undefined); // met by the await below
  await d.runtime.delete(r.id, true);
  t?.step('runtime');
  unmountRootfs(L.rootfs(r.id));
  t?.step('umount');
  await runFiles;
  t?.step('files');
  // Last: until the record is gone a restart finishes the job.
  d.store.discard(r.id);
  t?.step('dir');
}

/** The exit file (and a monitor's leftover temp copies of it), attach socket and pid files. */
async function removeRunFiles(L: ContainerLayout, id: string): Promise<void> {
  const rm = (p: string): Promise<void> => fsp.rm(p, { recursive: true, force: true });
  const leftovers = async (): Promise<void> => {
    const names = (await fsp.readdir(L.exitsDir)).filter((name) => name.startsWith(`${id}.`));
    await Promise.all(names.map((name) => rm(join(L.exitsDir, name))));
  };
  // All submitted at once: they run on the thread pool while the caller's synchronous work runs.
  await Promise.all([rm(L.exitFile(id)), rm(L.attachSocket(id)), rm(L.runFiles(id)), leftovers()]);
}

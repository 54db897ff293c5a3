import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorText } from '../errors';
import type { ContainerLayout } from './layout';
import type { RuntimeClient } from './runtime_client';
import type { ContainerEntry } from './status';

/** ContainerStatus `info` for verbose requests: pid, paths, the OCI spec and the runtime's state. */
export async function verboseInfo(layout: ContainerLayout, runtime: RuntimeClient, e: ContainerEntry): Promise<string> {
  const r = e.record;
  let runtimeState: unknown;
  try {
    runtimeState = r.phase === 'created' || r.phase === 'running' ? await runtime.state(r.id) : undefined;
  } catch (err) {
    runtimeState = { error: errorText(err) };
  }
  let spec: unknown;
  try {
    spec = JSON.parse(readFileSync(join(layout.bundle(r.id), 'config.json'), 'utf8'));
  } catch {
    spec = undefined;
  }
  return JSON.stringify({
    sandboxID: r.podId,
    pid: r.pid ?? 0,
    monitorPid: r.monitorPid ?? 0,
    phase: r.phase,
    imageId: r.imageId,
    rootfs: layout.rootfs(r.id),
    bundle: layout.bundle(r.id),
    attachSocket: layout.attachSocket(r.id),
    cgroupsPath: r.cgroupsPath,
    runtimeSpec: spec,
    runtimeState,
    exit: r.exit,
  });
}

import {
  ContainerState,
  type Container,
  type ContainerConfig,
  type ContainerFilter,
  type ContainerStatus,
  type LinuxContainerResources,
} from '../gen/runtime/v1/api';
import type { ContainerRecord } from './record';
import { criSignalOf } from './signals';

/** A container as the daemon holds it in memory: its record plus the decoded config. */
export interface ContainerEntry {
  record: ContainerRecord;
  config: ContainerConfig;
  resources: LinuxContainerResources;
}

export function criState(r: ContainerRecord): ContainerState {
  switch (r.phase) {
    case 'created':
      return ContainerState.CONTAINER_CREATED;
    case 'running':
      return ContainerState.CONTAINER_RUNNING;
    case 'exited':
    case 'removing':
      return ContainerState.CONTAINER_EXITED;
    default:
      return ContainerState.CONTAINER_UNKNOWN;
  }
}

export function toCriContainer(e: ContainerEntry): Container {
  const r = e.record;
  return {
    id: r.id,
    podSandboxId: r.podId,
    metadata: e.config.metadata,
    image: e.config.image,
    imageRef: r.imageId,
    state: criState(r),
    createdAt: BigInt(r.createdAt),
    labels: e.config.labels,
    annotations: e.config.annotations,
    imageId: r.imageId,
  };
}

export function toCriStatus(e: ContainerEntry): ContainerStatus {
  const r = e.record;
  const exit = r.exit;
  return {
    id: r.id,
    metadata: e.config.metadata,
    state: criState(r),
    createdAt: BigInt(r.createdAt),
    startedAt: BigInt(r.startedAt),
    finishedAt: exit ? BigInt(exit.finishedAt) : 0n,
    exitCode: exit?.exitCode ?? 0,
    image: e.config.image,
    imageRef: r.imageId,
    reason: exit?.reason ?? '',
    message: exit?.message ?? '',
    labels: e.config.labels,
    annotations: e.config.annotations,
    mounts: e.config.mounts,
    logPath: r.logPath,
    resources: { linux: e.resources, windows: undefined },
    imageId: r.imageId,
    user: { linux: { uid: BigInt(r.user.uid), gid: BigInt(r.user.gid), supplementalGroups: r.user.additionalGids.map(BigInt) } },
    stopSignal: criSignalOf(r.stopSignal),
  };
}

/** CRI's exit reason: OOMKilled wins, else Completed for 0 and Error for the rest. */
export function exitReason(exitCode: number, oomKilled: boolean): string {
  if (oomKilled) return 'OOMKilled';
  return exitCode === 0 ? 'Completed' : 'Error';
}

/**
 * ListContainers' filter. The id may be a unique prefix; an ambiguous prefix matches nothing,
 * as a filter that names no single container should.
 */
export function filterEntries(entries: readonly ContainerEntry[], filter: ContainerFilter | undefined): ContainerEntry[] {
  let out = entries.filter((e) => e.record.phase !== 'creating');
  if (!filter) return out;
  if (filter.id !== '') {
    const exact = out.filter((e) => e.record.id === filter.id);
    const byPrefix = exact.length > 0 ? exact : out.filter((e) => e.record.id.startsWith(filter.id));
    out = byPrefix.length === 1 ? byPrefix : [];
  }
  if (filter.podSandboxId !== '') out = out.filter((e) => e.record.podId === filter.podSandboxId || e.record.podId.startsWith(filter.podSandboxId));
  if (filter.state !== undefined) out = out.filter((e) => criState(e.record) === filter.state!.state);
  const selector = Object.entries(filter.labelSelector);
  if (selector.length > 0) out = out.filter((e) => selector.every(([k, v]) => e.config.labels[k] === v));
  return out;
}

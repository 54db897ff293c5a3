import { PodSandboxState, type PodSandboxStatus } from '../gen/runtime/v1/api';
import type { Sandbox } from '../sandbox';
import type { PodView } from './spec/input';

/** The sandbox part's lookup, as the container part uses it (SandboxManager satisfies it). */
export interface PodDirectory {
  get(id: string): Sandbox | undefined;
}

export function podViewOf(s: Sandbox): PodView {
  return {
    id: s.id,
    netnsPath: s.namespaces.net,
    ipcnsPath: s.namespaces.ipc,
    utsnsPath: s.namespaces.uts,
    pidnsPath: s.namespaces.pid,
    pidMode: s.namespaceOptions.pid,
    cgroupParent: s.cgroupPath,
    hostname: s.config.hostname !== '' ? s.config.hostname : s.metadata.name,
    hostsPath: s.files.hosts || undefined,
    resolvConfPath: s.files.resolvConf || undefined,
    hostnamePath: s.files.hostname || undefined,
    shmPath: s.files.shm || undefined,
    logDirectory: s.config.logDirectory,
    config: s.config,
    ready: s.state === 'ready',
  };
}

/** The pod's status as container events carry it (kubelet's evented PLEG reads it). */
export function podSandboxStatusOf(s: Sandbox): PodSandboxStatus {
  return {
    id: s.id,
    metadata: s.metadata,
    state: s.state === 'ready' ? PodSandboxState.SANDBOX_READY : PodSandboxState.SANDBOX_NOTREADY,
    createdAt: s.createdAt,
    network: { ip: s.network.ip, additionalIps: s.network.additionalIps.map((ip) => ({ ip })) },
    linux: { namespaces: { options: s.namespaceOptions } },
    labels: s.config.labels,
    annotations: s.config.annotations,
    runtimeHandler: s.runtimeHandler,
  };
}

import {
  PodSandboxState,
  type PodSandbox,
  type PodSandboxFilter,
  type PodSandboxStatus,
} from '../../gen/runtime/v1/api';
import type { Sandbox } from '../../sandbox/manager';

export function criState(s: Sandbox): PodSandboxState {
  return s.state === 'ready' ? PodSandboxState.SANDBOX_READY : PodSandboxState.SANDBOX_NOTREADY;
}

export function toPodSandbox(s: Sandbox): PodSandbox {
  return {
    id: s.id,
    metadata: s.metadata,
    state: criState(s),
    createdAt: s.createdAt,
    labels: s.config.labels,
    annotations: s.config.annotations,
    runtimeHandler: s.runtimeHandler,
  };
}

export function toPodSandboxStatus(s: Sandbox): PodSandboxStatus {
  return {
    id: s.id,
    metadata: s.metadata,
    state: criState(s),
    createdAt: s.createdAt,
    network: { ip: s.network.ip, additionalIps: s.network.additionalIps.map((ip) => ({ ip })) },
    linux: { namespaces: { options: s.namespaceOptions } },
    labels: s.config.labels,
    annotations: s.config.annotations,
    runtimeHandler: s.runtimeHandler,
  };
}

/** ListPodSandbox / StreamPodSandboxes filtering: id (full or unique prefix), state, labels. */
export function filterSandboxes(all: Sandbox[], filter: PodSandboxFilter | undefined): Sandbox[] {
  if (!filter) return all;
  let out = all;
  if (filter.id !== '') {
    const exact = out.filter((s) => s.id === filter.id);
    const byPrefix = out.filter((s) => s.id.startsWith(filter.id));
    out = exact.length > 0 ? exact : byPrefix.length === 1 ? byPrefix : [];
  }
  if (filter.state) {
    const want = filter.state.state;
    out = out.filter((s) => criState(s) === want);
  }
  const selector = Object.entries(filter.labelSelector);
  if (selector.length > 0) out = out.filter((s) => selector.every(([k, v]) => s.config.labels[k] === v));
  return out;
}

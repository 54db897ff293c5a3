import type { ContainerManager } from '../../container/manager';
import type { RuntimeExecutable } from '../../native/sealed_exe';
import type { SandboxManager } from '../../sandbox/manager';
import type { StreamBackends } from '../session';
import { attachToContainer } from './attach';
import { execInContainer } from './exec';
import { PodDialer } from './pod_dial';

export interface DaemonBackendDeps {
  containers: ContainerManager;
  sandboxes: SandboxManager;
  monitorBinary: string;
  runtime: RuntimeExecutable;
}

/** The streaming server's backends on the daemon's containers and pods. */
export function daemonBackends(deps: DaemonBackendDeps): StreamBackends & { close(): void } {
  const dialer = new PodDialer(deps.sandboxes);
  return {
    exec: (req, session) => execInContainer(deps, req, session),
    attach: (req, session) => attachToContainer(deps.containers, req, session),
    dialPod: (req, port) => dialer.dial(req.podSandboxId, port),
    close: () => dialer.close(),
  };
}

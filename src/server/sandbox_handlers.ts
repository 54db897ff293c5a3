import type { RuntimeServiceServer } from '../gen/runtime/v1/api';
import type { SandboxManager } from '../sandbox/manager';
import type { Handlers } from './handler';
import { runPodSandbox } from './sandbox/run_pod_sandbox';
import { stopPodSandbox } from './sandbox/stop_pod_sandbox';
import { removePodSandbox } from './sandbox/remove_pod_sandbox';
import { podSandboxStatus } from './sandbox/pod_sandbox_status';
import { listPodSandbox } from './sandbox/list_pod_sandbox';
import { streamPodSandboxes } from './sandbox/stream_pod_sandboxes';
import { updatePodSandboxResources } from './sandbox/update_pod_sandbox_resources';

/** The pod sandbox RPCs (UpdateRuntimeConfig lives with the base handlers). */
export function sandboxHandlers(sandboxes: SandboxManager): Handlers<RuntimeServiceServer> {
  return {
    runPodSandbox: runPodSandbox(sandboxes),
    stopPodSandbox: stopPodSandbox(sandboxes),
    removePodSandbox: removePodSandbox(sandboxes),
    podSandboxStatus: podSandboxStatus(sandboxes),
    listPodSandbox: listPodSandbox(sandboxes),
    streamPodSandboxes: streamPodSandboxes(sandboxes),
    updatePodSandboxResources: updatePodSandboxResources(sandboxes),
  };
}

import type { StopPodSandboxRequest, StopPodSandboxResponse } from '../../gen/runtime/v1/api';
import type { SandboxManager } from '../../sandbox/manager';
import type { UnaryHandler } from '../handler';

/** Idempotent; an unknown id is already stopped. */
export function stopPodSandbox(sandboxes: SandboxManager): UnaryHandler<StopPodSandboxRequest, StopPodSandboxResponse> {
  return async (request) => {
    await sandboxes.stop(request.podSandboxId);
    return {};
  };
}

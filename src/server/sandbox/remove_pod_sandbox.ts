import type { RemovePodSandboxRequest, RemovePodSandboxResponse } from '../../gen/runtime/v1/api';
import type { SandboxManager } from '../../sandbox/manager';
import type { UnaryHandler } from '../handler';

/** Idempotent; an unknown id is already removed. */
export function removePodSandbox(sandboxes: SandboxManager): UnaryHandler<RemovePodSandboxRequest, RemovePodSandboxResponse> {
  return async (request) => {
    await sandboxes.remove(request.podSandboxId);
    return {};
  };
}

import type { UpdatePodSandboxResourcesRequest, UpdatePodSandboxResourcesResponse } from '../../gen/runtime/v1/api';
import type { SandboxManager } from '../../sandbox/manager';
import type { UnaryHandler } from '../handler';

export function updatePodSandboxResources(
  sandboxes: SandboxManager,
): UnaryHandler<UpdatePodSandboxResourcesRequest, UpdatePodSandboxResourcesResponse> {
  return async (request) => {
    await sandboxes.updateResources(request.podSandboxId, request.resources, request.overhead);
    return {};
  };
}

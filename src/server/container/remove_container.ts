import type { RemoveContainerRequest, RemoveContainerResponse } from '../../gen/runtime/v1/api';
import type { ContainerManager } from '../../container/manager';
import type { UnaryHandler } from '../handler';

export function removeContainer(containers: ContainerManager): UnaryHandler<RemoveContainerRequest, RemoveContainerResponse> {
  return async (request) => {
    await containers.remove(request.containerId);
    return {};
  };
}

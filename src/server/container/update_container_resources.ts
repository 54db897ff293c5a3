import type { UpdateContainerResourcesRequest, UpdateContainerResourcesResponse } from '../../gen/runtime/v1/api';
import type { ContainerManager } from '../../container/manager';
import type { UnaryHandler } from '../handler';

export function updateContainerResources(containers: ContainerManager): UnaryHandler<UpdateContainerResourcesRequest, UpdateContainerResourcesResponse> {
  return async (request) => {
    await containers.updateResources(request.containerId, request.linux);
    return {};
  };
}

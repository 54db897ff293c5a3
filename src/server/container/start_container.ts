import type { StartContainerRequest, StartContainerResponse } from '../../gen/runtime/v1/api';
import type { ContainerManager } from '../../container/manager';
import type { UnaryHandler } from '../handler';

export function startContainer(containers: ContainerManager): UnaryHandler<StartContainerRequest, StartContainerResponse> {
  return async (request) => {
    await containers.start(request.containerId);
    return {};
  };
}

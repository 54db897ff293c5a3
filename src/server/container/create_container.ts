import type { CreateContainerRequest, CreateContainerResponse } from '../../gen/runtime/v1/api';
import type { ContainerManager } from '../../container/manager';
import type { UnaryHandler } from '../handler';

export function createContainer(containers: ContainerManager): UnaryHandler<CreateContainerRequest, CreateContainerResponse> {
  return async (request) => ({ containerId: await containers.create(request) });
}

import type { ListContainersRequest, ListContainersResponse } from '../../gen/runtime/v1/api';
import type { ContainerManager } from '../../container/manager';
import type { UnaryHandler } from '../handler';

export function listContainers(containers: ContainerManager): UnaryHandler<ListContainersRequest, ListContainersResponse> {
  return async (request) => ({ containers: containers.list(request.filter) });
}

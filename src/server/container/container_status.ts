import type { ContainerStatusRequest, ContainerStatusResponse } from '../../gen/runtime/v1/api';
import type { ContainerManager } from '../../container/manager';
import type { UnaryHandler } from '../handler';

export function containerStatus(containers: ContainerManager): UnaryHandler<ContainerStatusRequest, ContainerStatusResponse> {
  return async (request) => containers.status(request.containerId, request.verbose);
}

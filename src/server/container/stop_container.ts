import type { StopContainerRequest, StopContainerResponse } from '../../gen/runtime/v1/api';
import type { ContainerManager } from '../../container/manager';
import { invalidArgument } from '../../errors';
import type { UnaryHandler } from '../handler';

export function stopContainer(containers: ContainerManager): UnaryHandler<StopContainerRequest, StopContainerResponse> {
  return async (request) => {
    if (request.timeout < 0n) throw invalidArgument(`StopContainer: timeout ${request.timeout} is negative`);
    await containers.stop(request.containerId, Number(request.timeout > 86400n ? 86400n : request.timeout));
    return {};
  };
}

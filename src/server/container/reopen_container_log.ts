import type { ReopenContainerLogRequest, ReopenContainerLogResponse } from '../../gen/runtime/v1/api';
import type { ContainerManager } from '../../container/manager';
import type { UnaryHandler } from '../handler';

export function reopenContainerLog(containers: ContainerManager): UnaryHandler<ReopenContainerLogRequest, ReopenContainerLogResponse> {
  return async (request) => {
    await containers.reopenLog(request.containerId);
    return {};
  };
}

import type { StreamContainersRequest, StreamContainersResponse } from '../../gen/runtime/v1/api';
import type { ContainerManager } from '../../container/manager';
import type { StreamHandler } from '../handler';

/** Chunk size of StreamContainers: keeps each message well under the gRPC size limit. */
const PER_MESSAGE = 500;

export function streamContainers(containers: ContainerManager): StreamHandler<StreamContainersRequest, StreamContainersResponse> {
  return async (request, send) => {
    const all = containers.list(request.filter);
    for (let i = 0; i < all.length; i += PER_MESSAGE) send({ containers: all.slice(i, i + PER_MESSAGE) });
  };
}

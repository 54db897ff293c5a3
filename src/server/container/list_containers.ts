import { Container, type ListContainersRequest, type ListContainersResponse } from '../../gen/runtime/v1/api';
import type { ContainerManager } from '../../container/manager';
import { criState, toCriContainer, type ContainerEntry } from '../../container/status';
import type { UnaryHandler } from '../handler';
import { EncodingCache, repeatedMessageField } from '../pre_encoded';

/** ListContainersResponse.containers */
const CONTAINERS_FIELD = 1;

export function listContainers(containers: ContainerManager): UnaryHandler<ListContainersRequest, ListContainersResponse> {
  // Of a listed container only its state changes over its life.
  const wire = new EncodingCache<ContainerEntry, number>(
    (e) => criState(e.record),
    (e) => Container.encode(toCriContainer(e)).finish(),
  );
  return async (request) =>
    repeatedMessageField<ListContainersResponse>(
      CONTAINERS_FIELD,
      containers.listEntries(request.filter).map((e) => wire.get(e)),
    );
}

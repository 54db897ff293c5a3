import type { StreamPodSandboxesRequest, StreamPodSandboxesResponse } from '../../gen/runtime/v1/api';
import type { SandboxManager } from '../../sandbox/manager';
import type { StreamHandler } from '../handler';
import { filterSandboxes, toPodSandbox } from './convert';

/** Messages stay well under the gRPC size limit however many pods there are. */
const BATCH = 500;

export function streamPodSandboxes(sandboxes: SandboxManager): StreamHandler<StreamPodSandboxesRequest, StreamPodSandboxesResponse> {
  return async (request, send) => {
    const items = filterSandboxes(sandboxes.list(), request.filter).map(toPodSandbox);
    for (let i = 0; i < items.length; i += BATCH) send({ podSandboxes: items.slice(i, i + BATCH) });
  };
}

import type { ListPodSandboxRequest, ListPodSandboxResponse } from '../../gen/runtime/v1/api';
import type { SandboxManager } from '../../sandbox/manager';
import type { UnaryHandler } from '../handler';
import { filterSandboxes, toPodSandbox } from './convert';

export function listPodSandbox(sandboxes: SandboxManager): UnaryHandler<ListPodSandboxRequest, ListPodSandboxResponse> {
  return async (request) => ({ items: filterSandboxes(sandboxes.list(), request.filter).map(toPodSandbox) });
}

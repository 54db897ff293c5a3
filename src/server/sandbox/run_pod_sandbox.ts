import type { RunPodSandboxRequest, RunPodSandboxResponse } from '../../gen/runtime/v1/api';
import type { SandboxManager } from '../../sandbox/manager';
import type { UnaryHandler } from '../handler';

export function runPodSandbox(sandboxes: SandboxManager): UnaryHandler<RunPodSandboxRequest, RunPodSandboxResponse> {
  return async (request) => ({ podSandboxId: await sandboxes.run(request) });
}

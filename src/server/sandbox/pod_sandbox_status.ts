import type { PodSandboxStatusRequest, PodSandboxStatusResponse } from '../../gen/runtime/v1/api';
import type { SandboxManager, Sandbox } from '../../sandbox/manager';
import { notFound } from '../../errors';
import type { UnaryHandler } from '../handler';
import { toPodSandboxStatus } from './convert';

export function podSandboxStatus(sandboxes: SandboxManager): UnaryHandler<PodSandboxStatusRequest, PodSandboxStatusResponse> {
  return async (request) => {
    const s = sandboxes.find(request.podSandboxId);
    if (!s) throw notFound(`pod sandbox "${request.podSandboxId}" not found`);
    const info: Record<string, string> = request.verbose ? { info: verboseInfo(s, sandboxes.cniResult(s.id)) } : {};
    return {
      status: toPodSandboxStatus(s),
      info,
      containersStatuses: await sandboxes.containerStatuses(s.id),
      timestamp: BigInt(Date.now()) * 1_000_000n,
    };
  };
}

function verboseInfo(s: Sandbox, cniResult: unknown): string {
  return JSON.stringify(
    {
      id: s.id,
      state: s.state,
      runtimeHandler: s.runtimeHandler,
      namespaces: s.namespaces,
      cgroupPath: s.cgroupPath,
      files: s.files,
      podInitPid: s.podInitPid,
      cniResult: cniResult ?? null,
      config: s.config,
    },
    (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value),
  );
}

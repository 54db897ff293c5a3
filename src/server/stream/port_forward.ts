import type { PortForwardRequest, PortForwardResponse } from '../../gen/runtime/v1/api';
import type { SandboxManager } from '../../sandbox/manager';
import { failedPrecondition, invalidArgument, notFound } from '../../errors';
import type { StreamServer } from '../../stream/server';
import type { UnaryHandler } from '../handler';

/** PortForward: validates the pod and ports and hands out a single-use streaming URL. */
export function portForward(sandboxes: SandboxManager, stream: StreamServer): UnaryHandler<PortForwardRequest, PortForwardResponse> {
  return async (req) => {
    if (req.podSandboxId === '') throw invalidArgument('PortForward: pod_sandbox_id is empty');
    const pod = sandboxes.find(req.podSandboxId);
    if (!pod) throw notFound(`PortForward: pod sandbox "${req.podSandboxId}" not found`);
    if (pod.state !== 'ready') throw failedPrecondition(`PortForward: pod sandbox ${pod.id} is not ready (it is ${pod.state})`);
    const bad = req.port.find((p) => !Number.isInteger(p) || p < 1 || p > 65535);
    if (bad !== undefined) throw invalidArgument(`PortForward: port ${bad} is not in 1..65535`);
    return { url: stream.portForwardUrl({ ...req, podSandboxId: pod.id }) };
  };
}

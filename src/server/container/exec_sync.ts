import type { ExecSyncRequest, ExecSyncResponse } from '../../gen/runtime/v1/api';
import type { ContainerManager } from '../../container/manager';
import { invalidArgument } from '../../errors';
import type { UnaryHandler } from '../handler';

/** Room left in a response for everything but the two output buffers (fields, framing). */
const RESPONSE_OVERHEAD = 1024;

/**
 * Output is capped at 16 MiB per stream by the container part; a response must also fit the
 * server's message limit, or the caller gets RESOURCE_EXHAUSTED instead of the exit code. So
 * stderr, then stdout, give up their tails until it fits.
 */
export function fitResponse(res: ExecSyncResponse, maxMessageBytes: number): ExecSyncResponse {
  const budget = maxMessageBytes - RESPONSE_OVERHEAD;
  if (res.stdout.length + res.stderr.length <= budget) return res;
  const stdout = res.stdout.subarray(0, Math.min(res.stdout.length, budget));
  const stderr = res.stderr.subarray(0, Math.max(0, budget - stdout.length));
  return { ...res, stdout, stderr };
}

export function execSync(containers: ContainerManager, maxMessageBytes: number): UnaryHandler<ExecSyncRequest, ExecSyncResponse> {
  return async (request, ctx) => {
    if (request.timeout < 0n) throw invalidArgument(`ExecSync: timeout ${request.timeout} is negative`);
    return fitResponse(await containers.execSync(request.containerId, request.cmd, Number(request.timeout), ctx.signal), maxMessageBytes);
  };
}

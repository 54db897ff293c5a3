import type { ExecSyncRequest, ExecSyncResponse } from '../../gen/runtime/v1/api';
import type { ContainerManager } from '../../container/manager';
import { invalidArgument } from '../../errors';
import type { UnaryHandler } from '../handler';

export function execSync(containers: ContainerManager): UnaryHandler<ExecSyncRequest, ExecSyncResponse> {
  return async (request, ctx) => {
    if (request.timeout < 0n) throw invalidArgument(`ExecSync: timeout ${request.timeout} is negative`);
    return containers.execSync(request.containerId, request.cmd, Number(request.timeout), ctx.signal);
  };
}

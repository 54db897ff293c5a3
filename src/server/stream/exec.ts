import type { ExecRequest, ExecResponse } from '../../gen/runtime/v1/api';
import type { ContainerManager } from '../../container/manager';
import { invalidArgument } from '../../errors';
import type { StreamServer } from '../../stream/server';
import type { UnaryHandler } from '../handler';
import { checkStdio, runningContainer } from './targets';

/** Exec: validates the request and hands out a single-use streaming URL for it. */
export function exec(containers: ContainerManager, stream: StreamServer): UnaryHandler<ExecRequest, ExecResponse> {
  return async (req) => {
    const containerId = runningContainer(containers, req.containerId, 'Exec');
    if (req.cmd.length === 0 || req.cmd[0] === '') throw invalidArgument('Exec: cmd is empty');
    checkStdio('Exec', req);
    return { url: stream.execUrl({ ...req, containerId }) };
  };
}

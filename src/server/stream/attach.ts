import type { AttachRequest, AttachResponse } from '../../gen/runtime/v1/api';
import type { ContainerManager } from '../../container/manager';
import type { StreamServer } from '../../stream/server';
import type { UnaryHandler } from '../handler';
import { checkStdio, runningContainer } from './targets';

/** Attach: validates the request and hands out a single-use streaming URL for it. */
export function attach(containers: ContainerManager, stream: StreamServer): UnaryHandler<AttachRequest, AttachResponse> {
  return async (req) => {
    const containerId = runningContainer(containers, req.containerId, 'Attach');
    checkStdio('Attach', req);
    return { url: stream.attachUrl({ ...req, containerId }) };
  };
}

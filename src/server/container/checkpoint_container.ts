import type { CheckpointContainerRequest, CheckpointContainerResponse } from '../../gen/runtime/v1/api';
import { unimplemented } from '../../errors';
import type { UnaryHandler } from '../handler';

export function checkpointContainer(): UnaryHandler<CheckpointContainerRequest, CheckpointContainerResponse> {
  return async (request) => {
    throw unimplemented(`CheckpointContainer ${request.containerId}: checkpointing is not supported by shoal yet`);
  };
}

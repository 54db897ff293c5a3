import type { VersionRequest, VersionResponse } from '../../gen/runtime/v1/api';
import type { UnaryHandler } from '../handler';

/** The kubelet runtime API version this server speaks; CRI fixes it at "0.1.0". */
const KUBELET_API_VERSION = '0.1.0';

export function version(runtimeVersion: string): UnaryHandler<VersionRequest, VersionResponse> {
  return async () => ({
    version: KUBELET_API_VERSION,
    runtimeName: 'shoal',
    runtimeVersion,
    runtimeApiVersion: 'v1',
  });
}

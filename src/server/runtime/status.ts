import type { StatusRequest, StatusResponse, RuntimeHandlerFeatures } from '../../gen/runtime/v1/api';
import type { Config } from '../../config/schema';
import type { NetworkConfigWatcher } from '../../cni/network_config';
import type { UnaryHandler } from '../handler';

export interface StatusDeps {
  config: Config;
  configSource: string;
  network: NetworkConfigWatcher;
  /** Features the runtime handlers really provide; reported as-is so kubelet does not rely on more. */
  handlerFeatures: RuntimeHandlerFeatures;
  supplementalGroupsPolicy: boolean;
}

export function status(deps: StatusDeps): UnaryHandler<StatusRequest, StatusResponse> {
  return async (request) => {
    const network = deps.network.current();
    const info: Record<string, string> = {};
    if (request.verbose) {
      info.config = JSON.stringify({ ...deps.config, configFile: deps.configSource });
      info.networkConfig = JSON.stringify(network.ready ? { file: network.file, name: network.config?.name } : network);
    }
    const handlerNames = ['', ...new Set([deps.config.runtime.default_handler].filter((n) => n !== ''))];
    return {
      status: {
        conditions: [
          { type: 'RuntimeReady', status: true, reason: '', message: '' },
          { type: 'NetworkReady', status: network.ready, reason: network.reason, message: network.message },
        ],
      },
      info,
      runtimeHandlers: handlerNames.map((name) => ({ name, features: deps.handlerFeatures })),
      features: { supplementalGroupsPolicy: deps.supplementalGroupsPolicy, userNamespacesHostNetwork: false },
    };
  };
}

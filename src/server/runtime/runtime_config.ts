import {
  CgroupDriver,
  type RuntimeConfigRequest,
  type RuntimeConfigResponse,
  type UpdateRuntimeConfigRequest,
  type UpdateRuntimeConfigResponse,
} from '../../gen/runtime/v1/api';
import type { Config } from '../../config/schema';
import type { RuntimeConfigStore } from '../../daemon/runtime_config_store';
import type { UnaryHandler } from '../handler';

export function runtimeConfig(config: Config): UnaryHandler<RuntimeConfigRequest, RuntimeConfigResponse> {
  const cgroupDriver = config.runtime.cgroup_driver === 'systemd' ? CgroupDriver.SYSTEMD : CgroupDriver.CGROUPFS;
  return async () => ({ linux: { cgroupDriver } });
}

export function updateRuntimeConfig(store: RuntimeConfigStore): UnaryHandler<UpdateRuntimeConfigRequest, UpdateRuntimeConfigResponse> {
  return async (request) => {
    const podCidr = request.runtimeConfig?.networkConfig?.podCidr ?? '';
    // An empty CIDR means "no change" to kubelet, never "forget the CIDR".
    if (podCidr !== '' && podCidr !== store.podCidr) await store.setPodCidr(podCidr);
    return {};
  };
}

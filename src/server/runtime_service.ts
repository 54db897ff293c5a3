import type { RuntimeServiceServer } from '../gen/runtime/v1/api';
import type { Handlers } from './handler';
import { version } from './runtime/version';
import { status, type StatusDeps } from './runtime/status';
import { runtimeConfig, updateRuntimeConfig } from './runtime/runtime_config';
import type { RuntimeConfigStore } from '../daemon/runtime_config_store';

export interface RuntimeServiceDeps extends StatusDeps {
  runtimeVersion: string;
  runtimeConfigStore: RuntimeConfigStore;
}

/**
 * RuntimeService's handlers. Each domain (sandboxes, containers, stats, streaming) contributes its
 * own map; what no map has answers UNIMPLEMENTED.
 */
export function runtimeHandlers(deps: RuntimeServiceDeps, ...domains: Array<Handlers<RuntimeServiceServer>>): Handlers<RuntimeServiceServer> {
  const base: Handlers<RuntimeServiceServer> = {
    version: version(deps.runtimeVersion),
    status: status(deps),
    runtimeConfig: runtimeConfig(deps.config),
    updateRuntimeConfig: updateRuntimeConfig(deps.runtimeConfigStore),
  };
  return Object.assign(base, ...domains);
}

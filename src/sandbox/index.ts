/** The sandbox part's surface for the rest of the daemon (containers, stats, streaming). */
export { SandboxManager, type Sandbox, type ContainerHooks, type SandboxManagerDeps } from './manager';
export { effectiveModes } from './pod_config';
export type { SandboxState, SandboxNamespaces, PodFiles } from './record';

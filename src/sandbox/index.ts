/** The sandbox part's surface for the rest of the daemon (containers, stats, streaming). */
export { SandboxManager, effectiveModes, type Sandbox, type ContainerHooks, type SandboxManagerDeps } from './manager';
export type { SandboxState, SandboxNamespaces, PodFiles } from './record';

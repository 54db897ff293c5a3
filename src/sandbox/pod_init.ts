import type { PodInitInfo, SandboxNamespaces } from './record';

export interface PodInitRequest {
  podId: string;
  /** The init's id in the runtime's state (known before start, so a crash can still delete it). */
  runtimeId: string;
  /** The pod's run directory (the init's bundle goes below it). */
  dir: string;
  /** The pod's pinned namespaces the init joins. */
  namespaces: SandboxNamespaces;
  cgroupPath: string;
}

/**
 * Starts and stops the PID 1 of a pod whose containers share a PID namespace (pid mode POD). The
 * namespace lives as long as its init; /proc/<pid>/ns/pid is what containers join.
 */
export interface PodInitLauncher {
  start(req: PodInitRequest): Promise<PodInitInfo>;
  stop(init: PodInitInfo): Promise<void>;
  /** Whether the recorded init is still the same live process (not a recycled pid). */
  alive(init: PodInitInfo): boolean;
}

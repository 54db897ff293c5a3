/**
 * What stats needs to know about containers and pods, and nothing more. The container and sandbox
 * managers are adapted to this in src/server/stats/ so this part depends on neither.
 */

export interface StatsContainer {
  id: string;
  podSandboxId: string;
  /** CRI metadata. */
  name: string;
  attempt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** The image as the user asked for it (the "image" label of cadvisor metrics). */
  image: string;
  /** Relative to each cgroup hierarchy's root; undefined before the container has one. */
  cgroupPath?: string;
  /** The overlay upper directory: the writable layer. */
  upperDir?: string;
  running: boolean;
  /** Wall-clock ns of the start, when started. */
  startedAtNs?: bigint;
  /** The container's init process, while it runs. */
  pid?: number;
}

export interface StatsPod {
  id: string;
  name: string;
  namespace: string;
  uid: string;
  attempt: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  cgroupPath?: string;
  /** The pinned network namespace file; undefined for host-network pods. */
  netnsPath?: string;
  ready: boolean;
  /** Processes known to be in the pod's network namespace (pod init, containers), if any. */
  pids?: number[];
  /** Wall-clock ns of creation. */
  createdAtNs?: bigint;
}

export interface StatsSource {
  containers(): StatsContainer[];
  container(id: string): StatsContainer | undefined;
  pods(): StatsPod[];
  pod(id: string): StatsPod | undefined;
}

import type { ContainerConfig as ImageContainerConfig } from '../../image/manifest';
import type { ContainerConfig, NamespaceMode, PodSandboxConfig } from '../../gen/runtime/v1/api';
import type { ResolvedUser } from './user';

/**
 * What a container needs to know about its pod to be set up inside it. The sandbox part owns
 * these facts; the container part receives them through this narrow view (see pod_view.ts).
 */
export interface PodView {
  id: string;
  /** Pinned namespace files; absent when the pod uses the host's namespace of that kind. */
  netnsPath?: string;
  ipcnsPath?: string;
  utsnsPath?: string;
  /** The pod's shared PID namespace (the pod init's), when the pod's pid mode is POD. */
  pidnsPath?: string;
  /** The pod's own PID namespace mode (POD, CONTAINER or NODE), as the sandbox resolved it. */
  pidMode: NamespaceMode;
  /** The pod's cgroup, relative to each hierarchy's root (e.g. "/kubepods/pod<uid>"). */
  cgroupParent: string;
  hostname: string;
  /** Files the pod prepared for its containers; absent when the pod has none of that kind. */
  hostsPath?: string;
  resolvConfPath?: string;
  hostnamePath?: string;
  /** The pod's /dev/shm (a tmpfs shared by its containers when ipc is POD). */
  shmPath?: string;
  logDirectory: string;
  config: PodSandboxConfig;
  ready: boolean;
}

/** The image's runtime defaults (OCI image config `config` object) that a container spec uses. */
export type ImageDefaults = Pick<ImageContainerConfig, 'User' | 'Env' | 'Entrypoint' | 'Cmd' | 'WorkingDir' | 'StopSignal'>;

/** Host facts spec generation depends on; gathered once at start-up (host_facts.ts). */
export interface HostFacts {
  apparmorEnabled: boolean;
  /** Whether the cgroup namespace is worth creating (unified cgroup v2 host). */
  cgroupV2: boolean;
  /** Capabilities the daemon may pass on (its bounding set); undefined = every known one. */
  boundingCaps?: readonly string[];
}

export interface SpecInput {
  id: string;
  config: ContainerConfig;
  pod: PodView;
  image: ImageDefaults;
  /** The mounted rootfs (overlay) path. */
  rootfs: string;
  user: ResolvedUser;
  /** For pid namespace TARGET: the target container's process pid. */
  targetPid?: number;
  host: HostFacts;
}

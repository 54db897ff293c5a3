import { realpathSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import type { ContainerConfig, LinuxContainerSecurityContext, Mount } from '../../gen/runtime/v1/api';
import { MountPropagation, NamespaceMode } from '../../gen/runtime/v1/api';
import { invalidArgument } from '../../errors';
import { mountOf, readMountInfo, type MountInfo } from '../mountinfo';
import type { OciMount } from './oci';
import type { PodView } from './input';

/** The filesystems every container gets, before the pod's files and the requested mounts. */
function baseMounts(privileged: boolean): OciMount[] {
  const sysOpts = privileged ? ['nosuid', 'noexec', 'nodev', 'rw'] : ['nosuid', 'noexec', 'nodev', 'ro'];
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: sysOpts },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', privileged ? 'rw' : 'ro'] },
  ];
}

function shmMount(pod: PodView, ipcMode: NamespaceMode): OciMount {
  if (ipcMode === NamespaceMode.NODE) return { destination: '/dev/shm', type: 'bind', source: '/dev/shm', options: ['rbind', 'rw'] };
  if (ipcMode === NamespaceMode.POD && pod.shmPath) {
    return { destination: '/dev/shm', type: 'bind', source: pod.shmPath, options: ['rbind', 'nosuid', 'nodev', 'noexec', 'rw'] };
  }
  return { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] };
}

/** The pod's /etc/hosts, /etc/hostname and /etc/resolv.conf, unless a requested mount covers them. */
function podFileMounts(pod: PodView, readonlyRootfs: boolean, taken: Set<string>): OciMount[] {
  const files: Array<[string, string | undefined]> = [
    ['/etc/hostname', pod.hostnamePath],
    ['/etc/hosts', pod.hostsPath],
    ['/etc/resolv.conf', pod.resolvConfPath],
  ];
  const out: OciMount[] = [];
  for (const [destination, source] of files) {
    if (source === undefined || taken.has(destination)) continue;
    out.push({ destination, type: 'bind', source, options: ['rbind', 'rprivate', readonlyRootfs ? 'ro' : 'rw'] });
  }
  return out;
}

const PROPAGATION_OPTION: Record<number, string> = {
  [MountPropagation.PROPAGATION_PRIVATE]: 'rprivate',
  [MountPropagation.PROPAGATION_HOST_TO_CONTAINER]: 'rslave',
  [MountPropagation.PROPAGATION_BIDIRECTIONAL]: 'rshared',
};

/** A requested host-path mount, checked: the source exists, propagation is possible. */
function requestedMount(m: Mount, index: number, mounts: () => MountInfo[]): OciMount {
  const field = `mounts[${index}]`;
  if (m.image !== undefined) throw invalidArgument(`${field}: image volumes (${m.image.image}) are not supported`);
  if (!m.containerPath.startsWith('/')) throw invalidArgument(`${field}.container_path: "${m.containerPath}" is not an absolute path`);
  if (m.hostPath === '') throw invalidArgument(`${field}.host_path is empty (container path ${m.containerPath})`);
  if (m.uidMappings.length > 0 || m.gidMappings.length > 0) throw invalidArgument(`${field}: idmapped mounts are not supported (container path ${m.containerPath})`);
  let source: string;
  try {
    source = realpathSync(m.hostPath);
    statSync(source);
  } catch {
    throw invalidArgument(`${field}.host_path: ${m.hostPath} does not exist (container path ${m.containerPath})`);
  }
  const propagation = PROPAGATION_OPTION[m.propagation];
  if (propagation === undefined) throw invalidArgument(`${field}.propagation: unknown value ${String(m.propagation)}`);
  if (m.propagation !== MountPropagation.PROPAGATION_PRIVATE) {
    const host = mountOf(source, mounts());
    const shared = host?.propagation.some((p) => p.startsWith('shared:')) ?? false;
    const slave = host?.propagation.some((p) => p.startsWith('master:')) ?? false;
    if (m.propagation === MountPropagation.PROPAGATION_BIDIRECTIONAL && !shared) {
      throw invalidArgument(`${field}: bidirectional propagation needs ${m.hostPath} on a shared mount, but ${host?.mountPoint ?? '?'} is not shared`);
    }
    if (m.propagation === MountPropagation.PROPAGATION_HOST_TO_CONTAINER && !shared && !slave) {
      throw invalidArgument(`${field}: host-to-container propagation needs ${m.hostPath} on a shared or slave mount, but ${host?.mountPoint ?? '?'} is private`);
    }
  }
  const options = ['rbind', propagation];
  if (m.recursiveReadOnly) {
    if (!m.readonly) throw invalidArgument(`${field}: recursive_read_only needs readonly (container path ${m.containerPath})`);
    if (m.propagation !== MountPropagation.PROPAGATION_PRIVATE) {
      throw invalidArgument(`${field}: recursive_read_only needs private propagation (container path ${m.containerPath})`);
    }
    options.push('ro', 'rro');
  } else {
    options.push(m.readonly ? 'ro' : 'rw');
  }
  return { destination: posix.normalize(m.containerPath), type: 'bind', source, options };
}

export interface MountPlan {
  mounts: OciMount[];
  /** rshared when a mount propagates both ways, rslave when one receives from the host. */
  rootfsPropagation?: string;
}

/**
 * Every mount of the container in the order the runtime applies them: system filesystems,
 * /dev/shm, the pod's files, then the requested mounts (which replace a default at the same
 * destination, as kubelet expects for e.g. /etc/hosts or /dev/shm).
 */
export function planMounts(config: ContainerConfig, pod: PodView, sc: LinuxContainerSecurityContext | undefined, ipcMode: NamespaceMode): MountPlan {
  let info: MountInfo[] | undefined;
  const mounts = (): MountInfo[] => (info ??= readMountInfo());
  const requested = config.mounts.map((m, i) => requestedMount(m, i, mounts));
  const taken = new Set(requested.map((m) => m.destination));
  const defaults = [...baseMounts(sc?.privileged ?? false), shmMount(pod, ipcMode), ...podFileMounts(pod, sc?.readonlyRootfs ?? false, taken)];
  const all = [...defaults.filter((m) => !taken.has(m.destination)), ...requested];
  let rootfsPropagation: string | undefined;
  if (config.mounts.some((m) => m.propagation === MountPropagation.PROPAGATION_BIDIRECTIONAL)) rootfsPropagation = 'rshared';
  else if (config.mounts.some((m) => m.propagation === MountPropagation.PROPAGATION_HOST_TO_CONTAINER)) rootfsPropagation = 'rslave';
  return { mounts: all, ...(rootfsPropagation ? { rootfsPropagation } : {}) };
}

import { readFileSync, readdirSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isAtomicTempName, replaceFileSync } from '../store/atomic';

/**
 * creating: RunPodSandbox has begun making things (a record in this state after a restart means the
 * daemon died mid-way: everything it names is torn down). ready: fully set up. notready: stopped.
 */
export type SandboxState = 'creating' | 'ready' | 'notready';

/** Paths of the pod's namespaces; an absent kind is the host's (NODE mode). */
export interface SandboxNamespaces {
  net?: string;
  ipc?: string;
  uts?: string;
  /** Only when pid is POD: /proc/<init pid>/ns/pid of the pod init. */
  pid?: string;
}

/** Files prepared for the pod's containers to bind-mount. */
export interface PodFiles {
  hostname: string;
  hosts: string;
  resolvConf: string;
  /** The pod's /dev/shm (a tmpfs of its own when ipc is POD, the host's /dev/shm when NODE). */
  shm: string;
}

export interface PodInitInfo {
  pid: number;
  /** /proc/<pid>/stat start time, so a recycled pid is never mistaken for the init. */
  startTime: string;
  /** The runtime's id for the init container (when run through shoal-runtime). */
  runtimeId: string;
}

/** The durable record of one pod sandbox: `<root>/pods/<id>.json`. */
export interface SandboxRecord {
  id: string;
  state: SandboxState;
  /** Nanoseconds since the epoch, decimal. */
  createdAt: string;
  runtimeHandler: string;
  /** PodSandboxConfig in protobuf wire form, base64: exact and independent of JSON mapping. */
  config: string;
  /** The name reservation key (name, namespace, uid, attempt). */
  nameKey: string;
  /** The pod's directory under the run dir (namespace files, pod files, shm). */
  dir: string;
  namespaces: SandboxNamespaces;
  cgroupPath: string;
  /** Whether the daemon made the cgroup (and so removes it); kubelet-made ones are left alone. */
  cgroupCreated: boolean;
  files: PodFiles;
  network: { ip: string; additionalIps: string[] };
  /** pid mode POD: the pod has (or was getting) an init holding its PID namespace. */
  sharedPid?: boolean;
  podInit?: PodInitInfo;
}

export class SandboxStore {
  private readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'pods');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Replaces the record atomically (temp file, rename) without fsync: a daemon killed at any point
   * finds the last record it renamed, since the page cache outlives the process. After a power loss
   * nothing a record names survives (namespaces, mounts, cgroups, the run dir, bridge and iptables
   * state) except what CNI plugins keep on disk (host-local's address store), and that is released
   * through the CNI cache entry, which is synced before ADD (PodNetwork.add) and found at start
   * even without a record. An older or missing record after a power loss leads to the same cleanup
   * (creating → torn down, ready → NOTREADY because its namespaces are gone), every step of which is
   * idempotent.
   */
  write(record: SandboxRecord): void {
    // A few hundred bytes into the page cache: inline is quicker than two thread-pool round trips.
    replaceFileSync(this.file(record.id), JSON.stringify(record));
  }

  /** Not synced, for the reason given at `write`. */
  remove(id: string): void {
    rmSync(this.file(id), { force: true });
  }

  /** Every record on disk; unreadable ones are reported to `onBad` and skipped. */
  loadAll(onBad: (file: string, err: unknown) => void): SandboxRecord[] {
    const out: SandboxRecord[] = [];
    for (const name of readdirSync(this.dir)) {
      const file = join(this.dir, name);
      if (isAtomicTempName(name)) {
        rmSync(file, { force: true });
        continue;
      }
      if (!name.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(readFileSync(file, 'utf8')) as SandboxRecord);
      } catch (err) {
        onBad(file, err);
      }
    }
    return out;
  }

  private file(id: string): string {
    return join(this.dir, `${id}.json`);
  }
}

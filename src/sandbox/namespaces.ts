import { openSync, closeSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWUTS,
  MNT_DETACH,
  MS_BIND,
  close,
  ioctlPtr,
  lastErrno,
  mount,
  setns,
  sethostname,
  socket,
  syscallError,
  umount2,
  unshare,
} from '../native/libc';
import { invalidArgument } from '../errors';

/** The namespaces a pod may own; pid is held by the pod init, not pinned here. */
export type PinnedKind = 'net' | 'ipc' | 'uts';

const NS_FLAG: Record<PinnedKind, number> = { net: CLONE_NEWNET, ipc: CLONE_NEWIPC, uts: CLONE_NEWUTS };
const KINDS: PinnedKind[] = ['net', 'ipc', 'uts'];

/** A sysctl as a file under /proc/sys and the value to write. */
export interface SysctlWrite {
  name: string;
  file: string;
  value: string;
}

export interface PinRequest {
  /** Directory (on a private mount) the namespace files go in. */
  dir: string;
  kinds: PinnedKind[];
  /** Set in the new uts namespace. */
  hostname?: string;
  /** Written inside the new namespaces; those whose file does not exist yet are returned. */
  sysctls?: SysctlWrite[];
}

export type PinnedPaths = Partial<Record<PinnedKind, string>>;

export interface PinResult {
  paths: PinnedPaths;
  /** Sysctls whose file appears only later (e.g. per-interface ones, after CNI ADD). */
  deferredSysctls: SysctlWrite[];
}

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;
const ENOENT = 2;

/**
 * Creates and pins pod namespaces without a process per pod. unshare(2) of net/ipc/uts affects
 * only the calling thread, so the daemon's main thread steps into fresh namespaces, bind-mounts
 * /proc/thread-self/ns/* onto files, configures what must be done from inside (hostname, loopback,
 * sysctls) and steps back through fds of its original namespaces, opened once. Everything between
 * unshare and the return is synchronous on this thread: no callback can run in the wrong namespace.
 */
export class NamespacePinner {
  private readonly home: Record<PinnedKind, number>;

  constructor() {
    this.home = {
      net: openSync('/proc/thread-self/ns/net', 'r'),
      ipc: openSync('/proc/thread-self/ns/ipc', 'r'),
      uts: openSync('/proc/thread-self/ns/uts', 'r'),
    };
  }

  pin(req: PinRequest): PinResult {
    const kinds = KINDS.filter((k) => req.kinds.includes(k));
    const paths: PinnedPaths = {};
    if (kinds.length === 0) return { paths, deferredSysctls: req.sysctls ?? [] };
    for (const kind of kinds) {
      const target = join(req.dir, kind);
      writeFileSync(target, '', { mode: 0o444 });
      paths[kind] = target;
    }
    const deferred: SysctlWrite[] = [];
    try {
      this.inside(kinds, () => {
        if (unshareFlags(kinds) !== 0) throw syscallError(`unshare ${kinds.join('+')} namespaces for ${req.dir}`);
        for (const kind of kinds) {
          if (mount(`/proc/thread-self/ns/${kind}`, paths[kind]!, null, MS_BIND, null) !== 0) {
            throw syscallError(`bind-mount the new ${kind} namespace onto ${paths[kind]}`);
          }
        }
        if (kinds.includes('uts') && req.hostname) {
          if (sethostname(req.hostname, Buffer.byteLength(req.hostname)) !== 0) throw syscallError(`set hostname "${req.hostname}"`);
        }
        if (kinds.includes('net')) loopbackUp();
        for (const s of req.sysctls ?? []) {
          if (!writeSysctl(s)) deferred.push(s);
        }
      });
    } catch (err) {
      unpinNamespaces(req.dir);
      throw err;
    }
    return { paths, deferredSysctls: deferred };
  }

  /** Runs `work` synchronously inside the pinned namespaces at `paths`, then returns home. */
  enter(paths: PinnedPaths, work: () => void): void {
    const kinds = KINDS.filter((k) => paths[k] !== undefined);
    const fds = kinds.map((k) => openSync(paths[k]!, 'r'));
    try {
      this.inside(kinds, () => {
        kinds.forEach((kind, i) => {
          if (setns(fds[i]!, NS_FLAG[kind]) !== 0) throw syscallError(`join the ${kind} namespace ${paths[kind]}`);
        });
        work();
      });
    } finally {
      fds.forEach((fd) => closeSync(fd));
    }
  }

  /** `work` may leave this thread in other namespaces of `kinds`; they are always restored. */
  private inside(kinds: PinnedKind[], work: () => void): void {
    try {
      work();
    } finally {
      for (const kind of kinds) {
        if (setns(this.home[kind], NS_FLAG[kind]) !== 0) {
          // The main thread would keep running in a pod's namespace: nothing after this is safe.
          process.stderr.write(`shoald: fatal: cannot return to the host ${kind} namespace: ${syscallError('setns').message}\n`);
          process.exit(70);
        }
      }
    }
  }
}

function unshareFlags(kinds: PinnedKind[]): number {
  return unshare(kinds.reduce((f, k) => f | NS_FLAG[k], 0));
}

/** Brings `lo` up in the calling thread's network namespace (what the loopback plugin does). */
function loopbackUp(): void {
  const fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw syscallError('open a socket in the pod network namespace');
  try {
    const ifreq = Buffer.alloc(40);
    ifreq.write('lo', 0, 'ascii');
    if (ioctlPtr(fd, SIOCGIFFLAGS, ifreq) !== 0) throw syscallError('read the flags of lo');
    ifreq.writeUInt16LE(ifreq.readUInt16LE(16) | IFF_UP, 16);
    if (ioctlPtr(fd, SIOCSIFFLAGS, ifreq) !== 0) throw syscallError('bring lo up');
  } finally {
    close(fd);
  }
}

/** false when the sysctl's file does not exist (yet); other failures throw naming the sysctl. */
export function writeSysctl(s: SysctlWrite): boolean {
  try {
    writeFileSync(s.file, s.value);
    return true;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') return false;
    throw invalidArgument(`sysctl ${s.name}=${s.value} cannot be set in the pod: ${e.message}`);
  }
}

/** Unmounts and removes the namespace files under `dir`; missing ones are fine. */
export function unpinNamespaces(dir: string): void {
  for (const kind of KINDS) {
    const target = join(dir, kind);
    if (!existsSync(target)) continue;
    if (umount2(target, MNT_DETACH) !== 0) {
      const errno = lastErrno();
      // EINVAL: not a mount point (a crash between creating the file and mounting it).
      if (errno !== 22 && errno !== ENOENT) throw syscallError(`unmount the ${kind} namespace file ${target}`, errno);
    }
    rmSync(target, { force: true });
  }
}

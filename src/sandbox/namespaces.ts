import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MNT_DETACH, MS_BIND, close, ioctlPtr, lastErrno, mount, sethostname, socket, syscallError, umount2, unshare } from '../native/libc';
import { NAMESPACE_FLAG, THREAD_NAMESPACE_KINDS, inNamespaces, returningHome, type ThreadNamespaceKind } from '../native/netns';
import { invalidArgument } from '../errors';

/** The namespaces a pod may own; pid is held by the pod init, not pinned here. */
export type PinnedKind = ThreadNamespaceKind;

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
const EINVAL = 22;

/**
 * Creates and pins pod namespaces without a process per pod. unshare(2) of net/ipc/uts affects
 * only the calling thread, so the daemon's main thread steps into fresh namespaces, bind-mounts
 * /proc/thread-self/ns/* onto files, configures what must be done from inside (hostname, loopback,
 * sysctls) and steps back (`returningHome`). Everything between unshare and the return is
 * synchronous on this thread: no callback can run in the wrong namespace.
 */
export class NamespacePinner {
  pin(req: PinRequest): PinResult {
    const kinds = THREAD_NAMESPACE_KINDS.filter((k) => req.kinds.includes(k));
    const paths: PinnedPaths = {};
    if (kinds.length === 0) return { paths, deferredSysctls: req.sysctls ?? [] };
    for (const kind of kinds) {
      const target = join(req.dir, kind);
      writeFileSync(target, '', { mode: 0o444 });
      paths[kind] = target;
    }
    const deferred: SysctlWrite[] = [];
    try {
      returningHome(kinds, `pinning pod namespaces in ${req.dir}`, () => {
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
    inNamespaces(paths, 'configure the pod', work);
  }
}

function unshareFlags(kinds: PinnedKind[]): number {
  return unshare(kinds.reduce((f, k) => f | NAMESPACE_FLAG[k], 0));
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
  for (const kind of THREAD_NAMESPACE_KINDS) {
    const target = join(dir, kind);
    if (umount2(target, MNT_DETACH) !== 0) {
      const errno = lastErrno();
      if (errno === ENOENT) continue;
      // EINVAL: not a mount point (a crash between creating the file and mounting it).
      if (errno !== EINVAL) throw syscallError(`unmount the ${kind} namespace file ${target}`, errno);
    }
    rmSync(target, { force: true });
  }
}

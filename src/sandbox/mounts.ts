import { readFileSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { MNT_DETACH, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_REC, lastErrno, mount, syscallError, umount2 } from '../native/libc';

/** Mount points listed in /proc/self/mountinfo (unescaped). */
export function mountPoints(): Set<string> {
  const points = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const field = line.split(' ')[4];
    if (field) points.add(field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return points;
}

/**
 * Makes `dir` a private bind mount of itself, so namespace files and pod /dev/shm mounts made below
 * it never propagate into other mount namespaces (where they would keep namespaces alive).
 */
export function ensurePrivateMount(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  if (!mountPoints().has(dir)) {
    if (mount(dir, dir, null, MS_BIND | MS_REC, null) !== 0) throw syscallError(`bind-mount ${dir} onto itself`);
  }
  if (mount(null, dir, null, MS_PRIVATE, null) !== 0) throw syscallError(`make ${dir} a private mount`);
}

const SHM_SIZE = 64 * 1024 * 1024;

/** The pod's own /dev/shm: a tmpfs its containers bind-mount (shared when they share ipc). */
export function mountPodShm(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o1777 });
  if (mount('shm', path, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, `mode=1777,size=${SHM_SIZE}`) !== 0) {
    throw syscallError(`mount the pod /dev/shm tmpfs on ${path}`);
  }
}

/** Unmounts (lazily) and removes a mount directory; absent or not mounted is fine. */
export function unmountAndRemove(path: string): void {
  if (!existsSync(path)) return;
  if (umount2(path, MNT_DETACH) !== 0) {
    const errno = lastErrno();
    if (errno !== 22 && errno !== 2) throw syscallError(`unmount ${path}`, errno);
  }
  rmSync(path, { recursive: true, force: true });
}

import { mkdirSync } from 'node:fs';
import { lastErrno, mount, umount2, syscallError, MNT_DETACH } from '../native/libc';

/** mount(2)'s data argument is one page. */
const MAX_MOUNT_DATA = 4095;
const EINVAL = 22;
const ENOENT = 2;

/** Whether the kernel refused `volatile` once (before 5.10): then it is not asked for again. */
let volatileRefused = false;

/**
 * The container's writable root: an overlay of the image's layers (top first) under a private
 * upper directory. `lowerDirs` must exist; upper and work are created here.
 *
 * The overlay is `volatile`: it never syncs its upper directory. Unmounting a non-volatile overlay
 * syncs the whole filesystem under the upper directory (every dirty page of the host's root
 * filesystem, not only the container's), which made RemoveContainer wait on other writers. What
 * volatile gives up is the upper directory's content after a host crash, and a writable layer is
 * never used again after one: the container's processes are gone, CRI never restarts a
 * container, and recovery removes or reports it as exited without remounting. Kernels without the
 * option get the plain mount.
 */
export function mountRootfs(target: string, lowerDirs: readonly string[], upper: string, work: string): void {
  if (lowerDirs.length === 0) throw new Error(`mount rootfs ${target}: the image has no layers`);
  for (const d of [target, upper, work]) mkdirSync(d, { recursive: true, mode: 0o755 });
  const data = `lowerdir=${lowerDirs.join(':')},upperdir=${upper},workdir=${work}`;
  if (data.length + ',volatile'.length > MAX_MOUNT_DATA) {
    throw new Error(`mount rootfs ${target}: ${lowerDirs.length} layers make overlay options longer than ${MAX_MOUNT_DATA} bytes`);
  }
  if (!volatileRefused) {
    if (mount('overlay', target, 'overlay', 0, `${data},volatile`) === 0) return;
    const errno = lastErrno();
    if (errno !== EINVAL) throw syscallError(`mount overlay rootfs on ${target}`, errno);
  }
  if (mount('overlay', target, 'overlay', 0, data) !== 0) throw syscallError(`mount overlay rootfs on ${target}`);
  // Only a plain mount that works where the volatile one did not shows the option is unknown.
  volatileRefused = true;
}

/**
 * Detaches the rootfs and everything mounted below it (MNT_DETACH takes the whole subtree, so
 * no mount table scan is needed); absent or not mounted is fine.
 */
export function unmountRootfs(target: string): void {
  if (umount2(target, MNT_DETACH) !== 0) {
    const errno = lastErrno();
    if (errno !== EINVAL && errno !== ENOENT) throw syscallError(`unmount ${target}`, errno);
  }
}

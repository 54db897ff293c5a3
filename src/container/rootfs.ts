import { mkdirSync, promises as fsp } from 'node:fs';
import { lastErrno, mount, umount2, syscallError, MNT_DETACH } from '../native/libc';

/** mount(2)'s data argument is one page. */
const MAX_MOUNT_DATA = 4095;
const EINVAL = 22;
const ENOENT = 2;

/**
 * The container's writable root: an overlay of the image's layers (top first) under a private
 * upper directory. `lowerDirs` must exist; upper and work are created here.
 */
export function mountRootfs(target: string, lowerDirs: readonly string[], upper: string, work: string): void {
  if (lowerDirs.length === 0) throw new Error(`mount rootfs ${target}: the image has no layers`);
  for (const d of [target, upper, work]) mkdirSync(d, { recursive: true, mode: 0o755 });
  const data = `lowerdir=${lowerDirs.join(':')},upperdir=${upper},workdir=${work}`;
  if (data.length > MAX_MOUNT_DATA) {
    throw new Error(`mount rootfs ${target}: ${lowerDirs.length} layers make overlay options longer than ${MAX_MOUNT_DATA} bytes`);
  }
  if (mount('overlay', target, 'overlay', 0, data) !== 0) throw syscallError(`mount overlay rootfs on ${target}`);
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

/** Unmounts the rootfs and removes the writable layer (off the event loop: it can be large). */
export async function destroyRootfs(target: string, upper: string, work: string): Promise<void> {
  unmountRootfs(target);
  await Promise.all([upper, work, target].map((d) => fsp.rm(d, { recursive: true, force: true })));
}

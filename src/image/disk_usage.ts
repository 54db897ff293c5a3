import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

/**
 * Bytes (allocated blocks) and inodes under a directory, each inode counted once (hardlinks),
 * never following symlinks and never descending into another filesystem: a container's rootfs
 * overlay is mounted inside its directory and would otherwise count every image layer again.
 */
export async function diskUsage(dir: string): Promise<{ bytes: number; inodes: number }> {
  const seen = new Set<string>();
  let bytes = 0;
  let inodes = 0;
  let device: number | undefined;
  const walk = async (path: string): Promise<void> => {
    let st;
    try {
      st = await fsp.lstat(path);
    } catch {
      return; // removed while walking
    }
    device ??= st.dev;
    if (st.dev !== device) return; // a mount point: another filesystem's usage
    const key = `${st.dev}:${st.ino}`;
    if (!seen.has(key)) {
      seen.add(key);
      bytes += st.blocks * 512;
      inodes++;
    }
    if (!st.isDirectory()) return;
    let names: string[];
    try {
      names = await fsp.readdir(path);
    } catch {
      return;
    }
    for (const name of names) await walk(join(path, name));
  };
  await walk(dir);
  return { bytes, inodes };
}

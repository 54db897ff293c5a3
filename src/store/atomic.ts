import { promises as fsp, renameSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Crash-consistent replacement of a file: a reader (or a daemon restarting after a crash) sees
 * either the old content or the new, never a torn write. Temp file, fsync, rename, fsync the dir.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  const tmp = tempNameFor(path);
  const fh = await fsp.open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

/**
 * Replaces a small file for readers in one step (temp file, rename), inline and without fsync: a
 * process killed at any point leaves the old or the new content (the page cache outlives it). For
 * state whose loss in a power cut its caller has accounted for.
 */
export function replaceFileSync(path: string, data: string, mode = 0o600): void {
  const tmp = tempNameFor(path);
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, path);
}

function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Makes a rename or unlink in `dir` durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Leftover temp files of writeFileAtomic from a crash: removed at start-up. */
export function isAtomicTempName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

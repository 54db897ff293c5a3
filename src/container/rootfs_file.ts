import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';

const MAX_SYMLINK_HOPS = 40;

/**
 * Resolves `path` inside `root` the way the container will see it: symlinks are followed with
 * `root` as "/", so a link like /etc/passwd -> /../../host/file stays inside the container's
 * tree. Returns the host path, or undefined when some component does not exist.
 */
export function resolveInRoot(root: string, path: string): string | undefined {
  const pending = posix.normalize(`/${path}`).split('/').filter(Boolean);
  const done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = posix.join(root, ...done, part);
    let st;
    try {
      st = lstatSync(host);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++hops > MAX_SYMLINK_HOPS) return undefined;
      const target = readlinkSync(host);
      const rest = target.split('/').filter(Boolean);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...rest);
      continue;
    }
    done.push(part);
  }
  return posix.join(root, ...done);
}

/** A regular file of the container's tree, or undefined when it is absent (or not a file). */
export function readFileInRoot(root: string, path: string, maxBytes = 4 * 1024 * 1024): string | undefined {
  const host = resolveInRoot(root, path);
  if (host === undefined) return undefined;
  try {
    const st = lstatSync(host);
    if (!st.isFile() || st.size > maxBytes) return undefined;
    return readFileSync(host, 'utf8');
  } catch {
    return undefined;
  }
}

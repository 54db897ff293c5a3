import { closeSync, openSync } from 'node:fs';
import { CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWUTS, setns, syscallError } from './libc';

/**
 * Leaving and re-entering namespaces on the calling (main) thread. setns(2) and unshare(2) of
 * net/ipc/uts act on the calling thread only, so the daemon steps into a pod's namespaces, does
 * synchronous work there (a socket created, a /proc/thread-self file read, a hostname set) and
 * steps back through fds of its own namespaces opened once. No other JS runs meanwhile: no callback
 * can run in the wrong namespace.
 */
export type ThreadNamespaceKind = 'net' | 'ipc' | 'uts';

export const NAMESPACE_FLAG: Record<ThreadNamespaceKind, number> = { net: CLONE_NEWNET, ipc: CLONE_NEWIPC, uts: CLONE_NEWUTS };
/** In the order they are entered and left. */
export const THREAD_NAMESPACE_KINDS: readonly ThreadNamespaceKind[] = ['net', 'ipc', 'uts'];

const home: Partial<Record<ThreadNamespaceKind, number>> = {};

/** Opens the daemon's own namespaces of `kinds` once; call before leaving any of them. */
function homeFd(kind: ThreadNamespaceKind): number {
  return (home[kind] ??= openSync(`/proc/thread-self/ns/${kind}`, 'r'));
}

/**
 * Runs `work`, which may move this thread into other namespaces of `kinds` (setns, unshare), and
 * always brings the thread back to the daemon's own namespaces of those kinds afterwards.
 */
export function returningHome<T>(kinds: readonly ThreadNamespaceKind[], what: string, work: () => T): T {
  const fds = kinds.map(homeFd);
  try {
    return work();
  } finally {
    kinds.forEach((kind, i) => {
      if (setns(fds[i]!, NAMESPACE_FLAG[kind]) !== 0) {
        // Staying in a pod's namespace would put every later socket (or hostname, or IPC object) of
        // the daemon there: stop the process rather than go on wrong. It is restarted and finds its
        // pods again.
        process.stderr.write(`shoald: fatal: ${syscallError(`return to the daemon's ${kind} namespace after ${what}`).message}\n`);
        process.exit(70);
      }
    });
  }
}

/** Runs `work` synchronously inside the namespaces named by `paths`, then comes back. */
export function inNamespaces<T>(paths: Partial<Record<ThreadNamespaceKind, string>>, what: string, work: () => T): T {
  const kinds = THREAD_NAMESPACE_KINDS.filter((k) => paths[k] !== undefined);
  const fds: number[] = [];
  try {
    for (const kind of kinds) fds.push(openSync(paths[kind]!, 'r'));
    return returningHome(kinds, what, () => {
      kinds.forEach((kind, i) => {
        if (setns(fds[i]!, NAMESPACE_FLAG[kind]) !== 0) throw syscallError(`enter the ${kind} namespace ${paths[kind]} to ${what}`);
      });
      return work();
    });
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/** `inNamespaces` for the network namespace alone (a socket or a counter read in a pod). */
export function inNetworkNamespace<T>(netnsPath: string, what: string, work: () => T): T {
  return inNamespaces({ net: netnsPath }, what, work);
}

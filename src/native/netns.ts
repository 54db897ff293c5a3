import { closeSync, openSync } from 'node:fs';
import { CLONE_NEWNET, setns, syscallError } from './libc';

/**
 * Runs `work` on the calling (main) thread inside the network namespace at `netnsPath` and comes
 * back before returning: a socket created or a /proc/thread-self file read there belongs to that
 * namespace. `work` must be synchronous, so no other JS runs while the thread is away.
 */
let home: number | undefined;

export function inNetworkNamespace<T>(netnsPath: string, what: string, work: () => T): T {
  home ??= openSync('/proc/thread-self/ns/net', 'r');
  const target = openSync(netnsPath, 'r');
  try {
    if (setns(target, CLONE_NEWNET) !== 0) throw syscallError(`enter network namespace ${netnsPath} to ${what}`);
    try {
      return work();
    } finally {
      if (setns(home, CLONE_NEWNET) !== 0) {
        // Staying in a pod's namespace would put every later socket of the daemon there: stop
        // the process rather than go on wrong (it is restarted and finds its pods again), as the
        // sandbox pinner does.
        process.stderr.write(`shoald: fatal: ${syscallError(`return to the daemon's network namespace after ${what} in ${netnsPath}`).message}\n`);
        process.exit(70);
      }
    }
  } finally {
    closeSync(target);
  }
}

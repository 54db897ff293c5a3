import { closeSync, openSync, readFileSync, ftruncateSync, writeSync } from 'node:fs';
import { tryLockExclusive } from '../native/libc';

/**
 * An exclusive flock on a file, held for the life of the process: the kernel drops it when the
 * process dies, so a crashed daemon never leaves a lock that blocks the next start.
 */
export class PidLock {
  private constructor(
    readonly path: string,
    private fd: number,
  ) {}

  /** Takes the lock or throws naming the process that holds it. */
  static acquire(path: string, what: string): PidLock {
    const fd = openSync(path, 'a+', 0o600);
    let taken: boolean;
    try {
      taken = tryLockExclusive(fd, path);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    if (!taken) {
      closeSync(fd);
      const holder = readFileSync(path, 'utf8').trim() || 'unknown';
      throw new Error(`${what} is in use by another shoald (pid ${holder}); lock file ${path}`);
    }
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
    return new PidLock(path, fd);
  }

  release(): void {
    if (this.fd < 0) return;
    ftruncateSync(this.fd, 0);
    closeSync(this.fd);
    this.fd = -1;
  }
}

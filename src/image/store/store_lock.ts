import { openSync, closeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tryLockExclusive, unlock } from '../../native/libc';

/**
 * Serializes store mutations (record commits, tag moves, removals, garbage collection) within the
 * daemon and with `shoald image import` running beside it: an in-process queue plus flock(2) on
 * the store's lock file. flock is polled non-blocking so the event loop never blocks on it.
 */
export class StoreLock {
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.queue;
    let release!: () => void;
    this.queue = new Promise<void>((r) => (release = r));
    await previous;
    const fd = openSync(this.path, 'a', 0o600);
    try {
      for (let wait = 5; !tryLockExclusive(fd, this.path); wait = Math.min(wait * 2, 100)) await sleep(wait);
      try {
        return await work();
      } finally {
        unlock(fd, this.path);
      }
    } finally {
      closeSync(fd);
      release();
    }
  }
}

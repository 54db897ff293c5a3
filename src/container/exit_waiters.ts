import type { ExitFile } from './exit_watcher';

/**
 * Callers waiting for a container's exit (StopContainer), woken by the exit watcher, or after a
 * timeout with whatever `readNow` finds then (undefined: still running).
 */
export class ExitWaiters {
  private readonly waiting = new Map<string, Array<(e: ExitFile) => void>>();

  constructor(private readonly readNow: (id: string) => ExitFile | undefined) {}

  wait(id: string, timeoutMs: number): Promise<ExitFile | undefined> {
    const already = this.readNow(id);
    if (already) return Promise.resolve(already);
    return new Promise((resolve) => {
      const done = (exit: ExitFile | undefined): void => {
        clearTimeout(timer);
        const list = this.waiting.get(id);
        if (list) {
          const i = list.indexOf(waiter);
          if (i >= 0) list.splice(i, 1);
          if (list.length === 0) this.waiting.delete(id);
        }
        resolve(exit);
      };
      const waiter = (exit: ExitFile): void => done(exit);
      const timer = setTimeout(() => done(this.readNow(id)), timeoutMs);
      const list = this.waiting.get(id) ?? [];
      list.push(waiter);
      this.waiting.set(id, list);
    });
  }

  notify(id: string, exit: ExitFile): void {
    for (const w of [...(this.waiting.get(id) ?? [])]) w(exit);
  }
}

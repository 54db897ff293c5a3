import { readFileSync } from 'node:fs';

/**
 * The host's memory and swap sizes from /proc/meminfo: the ceiling of a cgroup that sets no limit
 * of its own. Re-read at most every `ttlMs` (swap can be switched on and off at run time).
 */
export class HostMemory {
  private cached: { memTotal: bigint; swapTotal: bigint } | undefined;
  private readAt = 0;

  constructor(
    private readonly ttlMs = 10_000,
    private readonly read: () => string = () => readFileSync('/proc/meminfo', 'latin1'),
  ) {}

  get memTotal(): bigint {
    return this.current().memTotal;
  }

  get swapTotal(): bigint {
    return this.current().swapTotal;
  }

  private current(): { memTotal: bigint; swapTotal: bigint } {
    const now = Date.now();
    if (this.cached === undefined || now - this.readAt > this.ttlMs) {
      this.cached = parseMeminfo(this.read());
      this.readAt = now;
    }
    return this.cached;
  }
}

/** "MemTotal:       24684084 kB" lines → bytes. */
export function parseMeminfo(text: string): { memTotal: bigint; swapTotal: bigint } {
  const kb = (key: string): bigint => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? BigInt(m[1]!) * 1024n : 0n;
  };
  return { memTotal: kb('MemTotal'), swapTotal: kb('SwapTotal') };
}

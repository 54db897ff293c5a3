/**
 * usage_nano_cores is a rate, and a cgroup only gives a cumulative counter: the rate needs the
 * previous sample of the same container. This keeps one per container and answers
 * (Δusage / Δtime) against it.
 *
 * Samples closer together than `minWindowNs` would measure scheduler noise, so such a call gets
 * the last rate computed and the older sample is kept as the base. Before any rate exists, the
 * average since the container started stands in, when the start time is known.
 */
export class CpuRateTracker {
  private readonly last = new Map<string, { usageNs: bigint; monotonicNs: bigint; rate: bigint | undefined }>();

  constructor(private readonly minWindowNs = 1_000_000_000n) {}

  /**
   * @param usageNs cumulative CPU time now; @param monotonicNs when it was read (monotonic clock);
   * @param sinceStart elapsed wall-clock ns since the container started, if known.
   */
  rate(id: string, usageNs: bigint, monotonicNs: bigint, sinceStart?: bigint): bigint | undefined {
    const prev = this.last.get(id);
    if (prev === undefined || usageNs < prev.usageNs || monotonicNs <= prev.monotonicNs) {
      // First sight, or the counter went back (a new cgroup under the same id): start over.
      const fallback = sinceStart !== undefined && sinceStart > 0n ? (usageNs * 1_000_000_000n) / sinceStart : undefined;
      this.last.set(id, { usageNs, monotonicNs, rate: fallback });
      return fallback;
    }
    const dt = monotonicNs - prev.monotonicNs;
    if (dt < this.minWindowNs) return prev.rate;
    const rate = ((usageNs - prev.usageNs) * 1_000_000_000n) / dt;
    this.last.set(id, { usageNs, monotonicNs, rate });
    return rate;
  }

  forget(id: string): void {
    this.last.delete(id);
  }

  /** Drops the samples of everything not in `alive` (removed containers and pods). */
  retain(alive: ReadonlySet<string>): void {
    for (const id of this.last.keys()) if (!alive.has(id)) this.last.delete(id);
  }

  get size(): number {
    return this.last.size;
  }
}

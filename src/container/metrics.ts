import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ContainerRecord } from './record';

/**
 * The container part's /metrics: containers by phase, live monitors, OOM kills and ExecSync
 * durations. Gauges are computed when scraped from the manager's own view, so they cannot drift.
 */
export class ContainerMetrics {
  private readonly oomKills?: Counter;
  private readonly execSyncDuration?: Histogram<'result'>;

  constructor(registry: Registry | undefined, records: () => Iterable<ContainerRecord>, monitorAlive: (r: ContainerRecord) => boolean) {
    if (!registry) return;
    new Gauge({
      name: 'shoal_containers',
      help: 'Containers known to the daemon, by phase.',
      labelNames: ['phase'],
      registers: [registry],
      collect() {
        const counts: Record<string, number> = { creating: 0, created: 0, running: 0, exited: 0, removing: 0 };
        for (const r of records()) counts[r.phase]++;
        for (const [phase, n] of Object.entries(counts)) this.set({ phase }, n);
      },
    });
    new Gauge({
      name: 'shoal_monitors',
      help: 'Container monitors (shoal-monitor processes) alive for created or running containers.',
      registers: [registry],
      collect() {
        let alive = 0;
        for (const r of records()) if ((r.phase === 'created' || r.phase === 'running') && monitorAlive(r)) alive++;
        this.set(alive);
      },
    });
    this.oomKills = new Counter({
      name: 'shoal_container_oom_kills_total',
      help: 'Containers whose exit the kernel caused by an OOM kill in their cgroup.',
      registers: [registry],
    });
    this.execSyncDuration = new Histogram({
      name: 'shoal_exec_sync_duration_seconds',
      help: 'ExecSync calls from request to the exec exiting, by result (ok, timeout, error).',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
  }

  oomKilled(): void {
    this.oomKills?.inc();
  }

  /** Times an ExecSync and records its result: "timeout" for DeadlineExceeded, "error" otherwise. */
  async timeExecSync<T>(run: () => Promise<T>): Promise<T> {
    const end = this.execSyncDuration?.startTimer();
    try {
      const value = await run();
      end?.({ result: 'ok' });
      return value;
    } catch (err) {
      end?.({ result: (err as { kind?: string }).kind === 'DeadlineExceeded' ? 'timeout' : 'error' });
      throw err;
    }
  }
}

import type { Sandbox, SandboxManager } from '../../sandbox/manager';
import type { StatsContainer, StatsPod, StatsSource } from '../../stats/source';

/** What the container part offers stats: its containers already in stats' terms. */
export interface ContainerStatsViews {
  list(): StatsContainer[];
  /** By full id or unique prefix. */
  find(idOrPrefix: string): StatsContainer | undefined;
}

const NO_CONTAINERS: ContainerStatsViews = { list: () => [], find: () => undefined };

export function statsPod(s: Sandbox, containerPids: number[]): StatsPod {
  const pids = s.podInitPid !== undefined ? [s.podInitPid, ...containerPids] : containerPids;
  return {
    id: s.id,
    name: s.metadata.name,
    namespace: s.metadata.namespace,
    uid: s.metadata.uid,
    attempt: s.metadata.attempt,
    labels: s.config.labels,
    annotations: s.config.annotations,
    cgroupPath: s.cgroupPath !== '' ? s.cgroupPath : undefined,
    netnsPath: s.namespaces.net,
    ready: s.state === 'ready',
    pids,
    createdAtNs: s.createdAt,
  };
}

/** Adapts the sandbox manager and the container part to the source stats reads from. */
export class ManagedStatsSource implements StatsSource {
  private views: ContainerStatsViews = NO_CONTAINERS;

  constructor(private readonly sandboxes: SandboxManager) {}

  /** Called once the container part exists (it is built after the sandboxes). */
  setContainers(views: ContainerStatsViews): void {
    this.views = views;
  }

  containers(): StatsContainer[] {
    return this.views.list();
  }

  container(id: string): StatsContainer | undefined {
    return this.views.find(id);
  }

  pods(): StatsPod[] {
    const pidsByPod = this.containerPids();
    return this.sandboxes.list().map((s) => statsPod(s, pidsByPod.get(s.id) ?? []));
  }

  pod(id: string): StatsPod | undefined {
    const s = this.sandboxes.find(id);
    if (s === undefined) return undefined;
    return statsPod(s, this.containerPids().get(s.id) ?? []);
  }

  private containerPids(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const c of this.views.list()) {
      if (!c.running || c.pid === undefined) continue;
      const list = out.get(c.podSandboxId);
      if (list) list.push(c.pid);
      else out.set(c.podSandboxId, [c.pid]);
    }
    return out;
  }
}

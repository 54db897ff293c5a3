import { CriError } from '../../errors';
import type { StatsContainer } from '../../stats/source';
import type { ContainerStatsViews } from './source';

/**
 * The slice of the container manager stats reads, written structurally so this adapter follows the
 * manager's records without depending on the rest of it.
 */
interface ContainerEntryLike {
  record: {
    id: string;
    podId: string;
    phase: string;
    imageName: string;
    /** Nanoseconds since the epoch, decimal; "0" until started. */
    startedAt: string;
    cgroupsPath: string;
    pid?: number;
  };
  config: {
    metadata?: { name: string; attempt: number };
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
}

export interface ContainerQueries {
  listEntries(filter: undefined): ContainerEntryLike[];
  /** By id or unique prefix; throws NotFound. */
  lookup(id: string): ContainerEntryLike;
  readonly layout: { upper(id: string): string };
}

/** Containers being created or removed are not (or no longer) there for stats. */
const visible = (e: ContainerEntryLike): boolean => e.record.phase !== 'creating' && e.record.phase !== 'removing';

export function containerStatsViews(containers: ContainerQueries): ContainerStatsViews {
  const toStats = (e: ContainerEntryLike): StatsContainer => {
    const r = e.record;
    const startedAt = BigInt(r.startedAt || '0');
    return {
      id: r.id,
      podSandboxId: r.podId,
      name: e.config.metadata?.name ?? '',
      attempt: e.config.metadata?.attempt ?? 0,
      labels: e.config.labels,
      annotations: e.config.annotations,
      image: r.imageName,
      cgroupPath: r.cgroupsPath !== '' ? r.cgroupsPath : undefined,
      upperDir: containers.layout.upper(r.id),
      running: r.phase === 'running',
      startedAtNs: startedAt > 0n ? startedAt : undefined,
      pid: r.pid,
    };
  };
  return {
    list: () => containers.listEntries(undefined).filter(visible).map(toStats),
    find: (id) => {
      let entry: ContainerEntryLike;
      try {
        entry = containers.lookup(id);
      } catch (err) {
        if (err instanceof CriError && err.kind === 'NotFound') return undefined;
        throw err;
      }
      return visible(entry) ? toStats(entry) : undefined;
    },
  };
}

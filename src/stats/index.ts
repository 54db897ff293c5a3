import { readCgroupLayout, type CgroupLayout } from '../cgroup/layout';
import { CgroupStatsReader } from './cgroup/reader';
import { StatsCollector } from './collector';
import { HostMemory } from './host_memory';
import { NetnsCounterReader } from './network';
import { StatsService } from './service';
import type { StatsSource } from './source';
import { MountPointFinder } from './writable_layer';

export { StatsService } from './service';
export type { StatsContainer, StatsPod, StatsSource } from './source';

/** Builds the stats part over `source`, reading the host's cgroup layout once. */
export function createStatsService(source: StatsSource, layout: CgroupLayout = readCgroupLayout()): StatsService {
  const collector = new StatsCollector({
    cgroups: new CgroupStatsReader(layout),
    network: new NetnsCounterReader(),
    host: new HostMemory(),
    mounts: new MountPointFinder(),
  });
  return new StatsService(source, collector);
}

/**
 * Stats: CRI container and pod stats, and cadvisor-named pod metrics, read on demand.
 *
 *   source.ts          what stats needs to know of containers and pods (adapted in src/server/stats)
 *   cgroup/            v1 and v2 readers behind one CgroupStatsReader; files kept open, pread at 0
 *   network.ts         /proc/net/dev of a pod: via a pod process, or by entering its netns
 *   writable_layer.ts  du-style walk of a container's overlay upper dir, reused by cost
 *   cpu_rate.ts        usage_nano_cores from the previous sample of each container and pod
 *   collector.ts       one reading of a container or pod → CRI messages (cri_mapping.ts)
 *   metric_descriptors.ts  the cadvisor metric names and labels, and their values
 *   service.ts         the operations the RPCs call: filters, NotFound, clean-up of kept state
 */
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

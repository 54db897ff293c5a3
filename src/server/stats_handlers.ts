import type { RuntimeServiceServer } from '../gen/runtime/v1/api';
import type { StatsService } from '../stats/service';
import type { Handlers } from './handler';
import { containerStats, listContainerStats, streamContainerStats } from './stats/container_stats';
import { listPodSandboxStats, podSandboxStats, streamPodSandboxStats } from './stats/pod_sandbox_stats';
import { listMetricDescriptors, listPodSandboxMetrics, streamPodSandboxMetrics } from './stats/pod_metrics';

/** The stats RPCs: container and pod stats, and the cadvisor-style pod metrics. */
export function statsHandlers(stats: StatsService): Handlers<RuntimeServiceServer> {
  return {
    containerStats: containerStats(stats),
    listContainerStats: listContainerStats(stats),
    streamContainerStats: streamContainerStats(stats),
    podSandboxStats: podSandboxStats(stats),
    listPodSandboxStats: listPodSandboxStats(stats),
    streamPodSandboxStats: streamPodSandboxStats(stats),
    listMetricDescriptors: listMetricDescriptors(stats),
    listPodSandboxMetrics: listPodSandboxMetrics(stats),
    streamPodSandboxMetrics: streamPodSandboxMetrics(stats),
  };
}

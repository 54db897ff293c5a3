import type {
  ListMetricDescriptorsRequest, ListMetricDescriptorsResponse, ListPodSandboxMetricsRequest, ListPodSandboxMetricsResponse,
  StreamPodSandboxMetricsRequest, StreamPodSandboxMetricsResponse,
} from '../../gen/runtime/v1/api';
import type { StatsService } from '../../stats/service';
import type { StreamHandler, UnaryHandler } from '../handler';
import { chunks } from './chunks';

export function listMetricDescriptors(stats: StatsService): UnaryHandler<ListMetricDescriptorsRequest, ListMetricDescriptorsResponse> {
  return async () => ({ descriptors: stats.metricDescriptors() });
}

export function listPodSandboxMetrics(stats: StatsService): UnaryHandler<ListPodSandboxMetricsRequest, ListPodSandboxMetricsResponse> {
  return async () => ({ podMetrics: stats.podMetrics() });
}

export function streamPodSandboxMetrics(stats: StatsService): StreamHandler<StreamPodSandboxMetricsRequest, StreamPodSandboxMetricsResponse> {
  return async (_request, send) => {
    // A pod's metrics run to a few hundred series: fewer pods per message than for plain stats.
    for (const part of chunks(stats.podMetrics(), 10)) send({ podSandboxMetrics: part });
  };
}

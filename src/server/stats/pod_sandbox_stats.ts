import type {
  ListPodSandboxStatsRequest, ListPodSandboxStatsResponse, PodSandboxStatsRequest, PodSandboxStatsResponse, StreamPodSandboxStatsRequest,
  StreamPodSandboxStatsResponse,
} from '../../gen/runtime/v1/api';
import { invalidArgument } from '../../errors';
import type { StatsService } from '../../stats/service';
import type { StreamHandler, UnaryHandler } from '../handler';
import { chunks } from './chunks';

export function podSandboxStats(stats: StatsService): UnaryHandler<PodSandboxStatsRequest, PodSandboxStatsResponse> {
  return async (request) => {
    if (request.podSandboxId === '') throw invalidArgument('PodSandboxStats: pod_sandbox_id is empty');
    return { stats: stats.podStats(request.podSandboxId) };
  };
}

export function listPodSandboxStats(stats: StatsService): UnaryHandler<ListPodSandboxStatsRequest, ListPodSandboxStatsResponse> {
  return async (request) => ({ stats: stats.listPodStats(request.filter) });
}

export function streamPodSandboxStats(stats: StatsService): StreamHandler<StreamPodSandboxStatsRequest, StreamPodSandboxStatsResponse> {
  return async (request, send) => {
    for (const part of chunks(stats.listPodStats(request.filter))) send({ podSandboxStats: part });
  };
}

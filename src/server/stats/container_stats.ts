import type {
  ContainerStatsRequest, ContainerStatsResponse, ListContainerStatsRequest, ListContainerStatsResponse, StreamContainerStatsRequest,
  StreamContainerStatsResponse,
} from '../../gen/runtime/v1/api';
import { invalidArgument } from '../../errors';
import type { StatsService } from '../../stats/service';
import type { StreamHandler, UnaryHandler } from '../handler';
import { chunks } from './chunks';

export function containerStats(stats: StatsService): UnaryHandler<ContainerStatsRequest, ContainerStatsResponse> {
  return async (request) => {
    if (request.containerId === '') throw invalidArgument('ContainerStats: container_id is empty');
    return { stats: stats.containerStats(request.containerId) };
  };
}

export function listContainerStats(stats: StatsService): UnaryHandler<ListContainerStatsRequest, ListContainerStatsResponse> {
  return async (request) => ({ stats: stats.listContainerStats(request.filter) });
}

export function streamContainerStats(stats: StatsService): StreamHandler<StreamContainerStatsRequest, StreamContainerStatsResponse> {
  return async (request, send) => {
    for (const part of chunks(stats.listContainerStats(request.filter))) send({ containerStats: part });
  };
}

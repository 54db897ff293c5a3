import type { RuntimeServiceServer } from '../gen/runtime/v1/api';
import type { ContainerManager } from '../container/manager';
import type { Handlers } from './handler';
import { createContainer } from './container/create_container';
import { startContainer } from './container/start_container';
import { stopContainer } from './container/stop_container';
import { removeContainer } from './container/remove_container';
import { containerStatus } from './container/container_status';
import { listContainers } from './container/list_containers';
import { streamContainers } from './container/stream_containers';
import { updateContainerResources } from './container/update_container_resources';
import { reopenContainerLog } from './container/reopen_container_log';
import { execSync } from './container/exec_sync';
import { getContainerEvents } from './container/get_container_events';
import { checkpointContainer } from './container/checkpoint_container';

/** The container RPCs; `maxMessageBytes` is the server's message limit (ExecSync fits it). */
export function containerHandlers(containers: ContainerManager, maxMessageBytes: number): Handlers<RuntimeServiceServer> {
  return {
    createContainer: createContainer(containers),
    startContainer: startContainer(containers),
    stopContainer: stopContainer(containers),
    removeContainer: removeContainer(containers),
    containerStatus: containerStatus(containers),
    listContainers: listContainers(containers),
    streamContainers: streamContainers(containers),
    updateContainerResources: updateContainerResources(containers),
    reopenContainerLog: reopenContainerLog(containers),
    execSync: execSync(containers, maxMessageBytes),
    getContainerEvents: getContainerEvents(containers),
    checkpointContainer: checkpointContainer(),
  };
}

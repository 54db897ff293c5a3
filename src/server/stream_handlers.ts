import type { RuntimeServiceServer } from '../gen/runtime/v1/api';
import type { ContainerManager } from '../container/manager';
import type { SandboxManager } from '../sandbox/manager';
import type { StreamServer } from '../stream/server';
import type { Handlers } from './handler';
import { exec } from './stream/exec';
import { attach } from './stream/attach';
import { portForward } from './stream/port_forward';

/** The streaming RPCs: each validates and returns a URL on the streaming server. */
export function streamHandlers(containers: ContainerManager, sandboxes: SandboxManager, stream: StreamServer): Handlers<RuntimeServiceServer> {
  return {
    exec: exec(containers, stream),
    attach: attach(containers, stream),
    portForward: portForward(sandboxes, stream),
  };
}

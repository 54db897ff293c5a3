import { failedPrecondition, invalidArgument } from '../../errors';
import type { ContainerManager } from '../../container/manager';

/** The running container a streaming request names, or the error that explains why not. */
export function runningContainer(containers: ContainerManager, containerId: string, rpc: string): string {
  if (containerId === '') throw invalidArgument(`${rpc}: container_id is empty`);
  const entry = containers.lookup(containerId); // NotFound naming it
  if (entry.record.phase !== 'running') {
    throw failedPrecondition(`${rpc}: container ${entry.record.id} is not running (it is ${entry.record.phase})`);
  }
  return entry.record.id;
}

/** The stdio combination rules kubelet's streaming server relies on. */
export function checkStdio(rpc: string, r: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }): void {
  if (r.tty && r.stderr) throw invalidArgument(`${rpc}: tty and stderr cannot both be set (a terminal carries all output on stdout)`);
  if (!r.stdin && !r.stdout && !r.stderr) throw invalidArgument(`${rpc}: at least one of stdin, stdout and stderr must be set`);
}

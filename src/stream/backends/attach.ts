import { failedPrecondition } from '../../errors';
import type { AttachRequest } from '../../gen/runtime/v1/api';
import type { ContainerManager } from '../../container/manager';
import type { RemoteSession } from '../session';
import { MonitorSession } from '../monitor_session';
import { bridge } from './bridge';

/**
 * Attach: the client joins the container's monitor socket and sees its output live; its stdin is
 * forwarded when the container was created with stdin, resizes when it has a terminal. Detaching
 * (the client going away, or ending its stdin on a terminal) only closes this connection: the
 * container keeps running.
 */
export async function attachToContainer(containers: ContainerManager, req: AttachRequest, session: RemoteSession): Promise<void> {
  const entry = containers.lookup(req.containerId);
  const id = entry.record.id;
  if (entry.record.phase !== 'running') throw failedPrecondition(`container ${id} is not running (${entry.record.phase}): cannot attach to it`);
  const mon = await MonitorSession.connect(containers.attachSocket(id));
  // Leaving a terminal (crictl's and kubectl's detach keys end their stdin) detaches; the
  // container's own stdin stays open for the next attach.
  await bridge(session, mon, { stdin: req.stdin && entry.config.stdin, tty: entry.config.tty, detachOnStdinEnd: entry.config.tty });
}

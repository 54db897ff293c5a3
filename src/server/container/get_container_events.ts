import type { ContainerEventResponse, GetEventsRequest } from '../../gen/runtime/v1/api';
import type { ContainerManager } from '../../container/manager';
import type { StreamHandler } from '../handler';

/** Streams container events until the client goes away; events come from a bounded queue. */
export function getContainerEvents(containers: ContainerManager): StreamHandler<GetEventsRequest, ContainerEventResponse> {
  return async (_request, send, ctx) => {
    const sub = containers.subscribe();
    const onAbort = (): void => sub.close();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const event = await sub.next();
        if (!event) return;
        send(event);
      }
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      sub.close();
    }
  };
}

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
        // While the client lags, events wait in the subscription's bounded queue (and are
        // dropped and counted there once it is full), not in grpc's unbounded write buffer.
        if (!send(event)) await ctx.drained();
      }
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      sub.close();
    }
  };
}

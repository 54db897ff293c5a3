import { Registry } from 'prom-client';
import { ContainerEvents } from '../../src/container/events';
import { ContainerEventType, type ContainerEventResponse } from '../../src/gen/runtime/v1/api';

const event = (id: string): ContainerEventResponse => ({
  containerId: id,
  containerEventType: ContainerEventType.CONTAINER_CREATED_EVENT,
  createdAt: 1n,
  podSandboxStatus: undefined,
  containersStatuses: [],
});

test('a slow subscriber loses events past its buffer (counted); others and the publisher are unaffected', async () => {
  const registry = new Registry();
  const bus = new ContainerEvents(registry, 4);
  const slow = bus.subscribe();
  const fast = bus.subscribe();
  const seenFast: string[] = [];
  const draining = (async () => {
    for (;;) {
      const e = await fast.next();
      if (!e) return;
      seenFast.push(e.containerId);
    }
  })();
  for (let i = 0; i < 10; i++) {
    bus.publish(event(`c${i}`), 'CONTAINER_CREATED_EVENT');
    await Promise.resolve();
    await Promise.resolve();
  }
  expect(slow.pending).toBe(4);
  const got: string[] = [];
  for (let i = 0; i < 4; i++) got.push((await slow.next())!.containerId);
  expect(got).toEqual(['c0', 'c1', 'c2', 'c3']);
  expect(seenFast).toEqual(Array.from({ length: 10 }, (_, i) => `c${i}`));
  const metrics = await registry.getMetricsAsJSON();
  const dropped = metrics.find((m) => m.name === 'shoal_container_events_dropped_total')!;
  expect((dropped.values as Array<{ value: number }>)[0].value).toBe(6);
  slow.close();
  fast.close();
  await draining;
  expect(bus.subscriberCount).toBe(0);
  expect(await slow.next()).toBeUndefined();
});

import { Counter, type Registry } from 'prom-client';
import type { ContainerEventResponse } from '../gen/runtime/v1/api';

/** How many undelivered events one subscriber may have before new ones are dropped for it. */
export const SUBSCRIBER_BUFFER = 1024;

/**
 * One GetContainerEvents stream's queue. The publisher never waits on it: when it is full the
 * event is dropped (and counted) so a slow consumer cannot hold up the daemon or other streams.
 */
export class Subscription {
  private readonly queue: ContainerEventResponse[] = [];
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly capacity: number,
    private readonly onDrop: () => void,
    private readonly onClose: (s: Subscription) => void,
  ) {}

  push(event: ContainerEventResponse): void {
    if (this.closed) return;
    if (this.queue.length >= this.capacity) {
      this.onDrop();
      return;
    }
    this.queue.push(event);
    this.wake?.();
  }

  /** The next event, or undefined once closed. */
  async next(): Promise<ContainerEventResponse | undefined> {
    while (this.queue.length === 0 && !this.closed) {
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    return this.queue.shift();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.wake?.();
    this.onClose(this);
  }

  get pending(): number {
    return this.queue.length;
  }
}

export class ContainerEvents {
  private readonly subscribers = new Set<Subscription>();
  private readonly dropped?: Counter;
  private readonly published?: Counter<'type'>;

  constructor(registry?: Registry, private readonly capacity = SUBSCRIBER_BUFFER) {
    if (registry) {
      this.dropped = new Counter({
        name: 'shoal_container_events_dropped_total',
        help: 'Container events not delivered to a GetContainerEvents stream because its buffer was full.',
        registers: [registry],
      });
      this.published = new Counter({
        name: 'shoal_container_events_total',
        help: 'Container events published, by type.',
        labelNames: ['type'],
        registers: [registry],
      });
    }
  }

  subscribe(): Subscription {
    const s = new Subscription(this.capacity, () => this.dropped?.inc(), (x) => this.subscribers.delete(x));
    this.subscribers.add(s);
    return s;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  publish(event: ContainerEventResponse, typeName: string): void {
    this.published?.inc({ type: typeName });
    for (const s of this.subscribers) s.push(event);
  }
}

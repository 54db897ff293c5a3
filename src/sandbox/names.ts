import { alreadyExists } from '../errors';
import type { PodSandboxMetadata } from '../gen/runtime/v1/api';

/** The reservation key of a pod: kubelet retries with a new attempt, never reuses one. */
export function podNameKey(m: PodSandboxMetadata): string {
  return [m.name, m.namespace, m.uid, String(m.attempt)].join('_');
}

/** Pod names in use, so two RunPodSandbox calls for the same pod attempt cannot both proceed. */
export class NameReservations {
  private readonly holders = new Map<string, string>();

  reserve(key: string, id: string): void {
    const holder = this.holders.get(key);
    if (holder !== undefined && holder !== id) {
      throw alreadyExists(`pod sandbox name "${key}" is reserved by sandbox ${holder}`);
    }
    this.holders.set(key, id);
  }

  release(key: string, id: string): void {
    if (this.holders.get(key) === id) this.holders.delete(key);
  }
}

import { alreadyExists } from '../errors';

/** One name per (pod, container name, attempt), as kubelet expects: a duplicate names its holder. */
export class ContainerNames {
  private readonly holders = new Map<string, string>();

  static key(podId: string, name: string, attempt: number): string {
    return `${podId}/${name}/${attempt}`;
  }

  reserve(key: string, id: string): void {
    const holder = this.holders.get(key);
    if (holder !== undefined && holder !== id) {
      const [, name, attempt] = key.split('/');
      throw alreadyExists(`container name "${name}" (attempt ${attempt}) is already used in the pod by container ${holder}`);
    }
    this.holders.set(key, id);
  }

  release(key: string, id: string): void {
    if (this.holders.get(key) === id) this.holders.delete(key);
  }
}

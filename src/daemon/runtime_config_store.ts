import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/atomic';

/** What kubelet told us through UpdateRuntimeConfig; kept across restarts. */
export interface RuntimeConfigRecord {
  podCidr: string;
}

export class RuntimeConfigStore {
  private record: RuntimeConfigRecord;
  private readonly file: string;

  constructor(root: string) {
    this.file = join(root, 'runtime-config.json');
    this.record = RuntimeConfigStore.read(this.file);
  }

  get podCidr(): string {
    return this.record.podCidr;
  }

  async setPodCidr(podCidr: string): Promise<void> {
    const next = { ...this.record, podCidr };
    await writeFileAtomic(this.file, JSON.stringify(next));
    this.record = next;
  }

  private static read(file: string): RuntimeConfigRecord {
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
      const podCidr = (parsed as { podCidr?: unknown }).podCidr;
      return { podCidr: typeof podCidr === 'string' ? podCidr : '' };
    } catch {
      return { podCidr: '' };
    }
  }
}

import { readFileSync, readdirSync, mkdirSync, rmSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic, isAtomicTempName } from '../store/atomic';
import type { NetworkConfigList } from './network_config';

/** Runtime-config capability arguments as plugins read them (`runtimeConfig` in their stdin). */
export interface CapabilityArgs {
  portMappings?: Array<{ hostPort: number; containerPort: number; protocol: string; hostIP?: string }>;
  dns?: { servers: string[]; searches: string[]; options: string[] };
}

/**
 * Everything DEL needs, written before ADD runs and again with its result: a daemon that restarts
 * (or crashed mid-ADD) can still release what the plugins allocated, with the same config.
 */
export interface CachedAttachment {
  containerId: string;
  netns: string;
  ifName: string;
  cniArgs: string;
  capabilityArgs: CapabilityArgs;
  /** The config list as it was used for ADD (not the one on disk now). */
  network: NetworkConfigList;
  /** The final ADD result; absent while ADD has not finished. */
  result?: unknown;
}

export class CniResultCache {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Replaces the entry atomically. The entry written before ADD must be durable (fsync): plugins'
   * allocations (host-local's store) survive a power loss and need it for DEL. The result added
   * after ADD need not be: DEL works without a prevResult.
   */
  async write(entry: CachedAttachment, durable: boolean): Promise<void> {
    const path = this.file(entry.containerId);
    if (durable) return writeFileAtomic(path, JSON.stringify(entry));
    const tmp = join(this.dir, `.${entry.containerId}.json.${randomBytes(4).toString('hex')}.tmp`);
    await fsp.writeFile(tmp, JSON.stringify(entry), { mode: 0o600 });
    await fsp.rename(tmp, path);
  }

  read(containerId: string): CachedAttachment | undefined {
    try {
      return JSON.parse(readFileSync(this.file(containerId), 'utf8')) as CachedAttachment;
    } catch {
      return undefined;
    }
  }

  remove(containerId: string): void {
    rmSync(this.file(containerId), { force: true });
  }

  /** Ids with a cached attachment (leftover temp files are removed on the way). */
  ids(): string[] {
    const ids: string[] = [];
    for (const name of readdirSync(this.dir)) {
      if (isAtomicTempName(name)) rmSync(join(this.dir, name), { force: true });
      else if (name.endsWith('.json')) ids.push(name.slice(0, -'.json'.length));
    }
    return ids;
  }

  private file(containerId: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(containerId)) throw new Error(`CNI cache: bad id "${containerId}"`);
    return join(this.dir, `${containerId}.json`);
  }
}

import { closeSync, fsync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isAtomicTempName, replaceFileSync } from '../store/atomic';
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
  /** The final ADD result (kept in a file of its own); absent while ADD has not finished. */
  result?: unknown;
}

/** What is on disk for one attachment. */
export type CacheLookup =
  | { kind: 'absent' }
  /** Torn or empty: a crash came before its fsync finished, so ADD never ran with it. */
  | { kind: 'unreadable' }
  | { kind: 'entry'; entry: CachedAttachment };

/**
 * One attachment is two files: `<id>.json`, the entry DEL needs, written once and synced before ADD
 * (plugins' allocations such as host-local's address store survive a power loss and need it), and
 * `<id>.result.json`, the ADD result, not synced (DEL works without a prevResult). The synced entry
 * is never rewritten, so whatever happens to the result file it stays readable.
 */
export class CniResultCache {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Writes the entry and syncs it: the file (written to a temp name and renamed) and the directory
   * are synced together, one journal commit rather than two in a row. A crash before both syncs end
   * may leave the entry torn; ADD has not begun then, and `lookup` reports it unreadable.
   */
  async writeEntry(entry: CachedAttachment): Promise<void> {
    const path = this.file(entry.containerId);
    const tmp = this.tempName(entry.containerId);
    const fd = openSync(tmp, 'wx', 0o600);
    let dirFd: number | undefined;
    try {
      writeFileSync(fd, JSON.stringify(entry));
      renameSync(tmp, path);
      dirFd = openSync(this.dir, 'r');
      const synced = await Promise.allSettled([fsyncAsync(fd), fsyncAsync(dirFd)]);
      for (const r of synced) if (r.status === 'rejected') throw r.reason;
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    } finally {
      closeSync(fd);
      if (dirFd !== undefined) closeSync(dirFd);
    }
  }

  /** Stores the ADD result beside the entry (atomic, not synced; small, so written inline). */
  writeResult(containerId: string, result: unknown): void {
    replaceFileSync(this.resultFile(containerId), JSON.stringify(result));
  }

  lookup(containerId: string): CacheLookup {
    let text: string;
    try {
      text = readFileSync(this.file(containerId), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
      throw err;
    }
    let entry: CachedAttachment;
    try {
      entry = JSON.parse(text) as CachedAttachment;
    } catch {
      return { kind: 'unreadable' };
    }
    if (entry.result === undefined) {
      try {
        entry.result = JSON.parse(readFileSync(this.resultFile(containerId), 'utf8')) as unknown;
      } catch {
        /* no result (yet, or torn by a power loss): DEL goes without a prevResult */
      }
    }
    return { kind: 'entry', entry };
  }

  read(containerId: string): CachedAttachment | undefined {
    const found = this.lookup(containerId);
    return found.kind === 'entry' ? found.entry : undefined;
  }

  remove(containerId: string): void {
    rmSync(this.file(containerId), { force: true });
    rmSync(this.resultFile(containerId), { force: true });
  }

  /** Ids with a cached entry (leftover temp files and results without an entry are removed). */
  ids(): string[] {
    const names = readdirSync(this.dir);
    const ids = names.filter((n) => n.endsWith('.json') && !n.endsWith(RESULT_SUFFIX)).map((n) => n.slice(0, -'.json'.length));
    for (const name of names) {
      const orphanResult = name.endsWith(RESULT_SUFFIX) && !ids.includes(name.slice(0, -RESULT_SUFFIX.length));
      if (isAtomicTempName(name) || orphanResult) rmSync(join(this.dir, name), { force: true });
    }
    return ids;
  }

  private tempName(containerId: string): string {
    return join(this.dir, `.${containerId}.${randomBytes(4).toString('hex')}.tmp`);
  }

  private file(containerId: string): string {
    checkId(containerId);
    return join(this.dir, `${containerId}.json`);
  }

  private resultFile(containerId: string): string {
    checkId(containerId);
    return join(this.dir, `${containerId}${RESULT_SUFFIX}`);
  }
}

const RESULT_SUFFIX = '.result.json';

function checkId(containerId: string): void {
  if (!/^[A-Za-z0-9_-]+$/.test(containerId)) throw new Error(`CNI cache: bad id "${containerId}"`);
}

function fsyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
}

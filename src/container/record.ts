import { readFileSync, readdirSync, mkdirSync, rmSync, renameSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { ContainerConfig, LinuxContainerResources } from '../gen/runtime/v1/api';
import { writeFileAtomic, isAtomicTempName, replaceFileSync } from '../store/atomic';
import type { ResolvedUser } from './spec/user';

/**
 * creating: CreateContainer has begun making things (in memory only; on disk the directory
 *   without a record stands for it); after a restart it means the daemon died mid-way, and
 *   everything of the container is torn down.
 * created / running / exited: the CRI states.
 * removing: RemoveContainer has begun tearing down; a restart finishes the job.
 */
export type ContainerPhase = 'creating' | 'created' | 'running' | 'exited' | 'removing';

export interface ExitInfo {
  exitCode: number;
  signal: number;
  /** Nanoseconds since the epoch, decimal. */
  finishedAt: string;
  oomKilled: boolean;
  reason: string;
  message: string;
}

/** The durable record of one container: `<root>/containers/<id>/record.json`. */
export interface ContainerRecord {
  id: string;
  podId: string;
  phase: ContainerPhase;
  /** ContainerConfig in protobuf wire form, base64: exact and independent of any JSON mapping. */
  config: string;
  /** The image as the request named it, and its resolved id (config digest). */
  imageName: string;
  imageId: string;
  /** Nanoseconds since the epoch, decimal; "0" until it happened. */
  createdAt: string;
  startedAt: string;
  /** Absolute path of the CRI log ("" when the pod has no log directory). */
  logPath: string;
  user: ResolvedUser;
  stopSignal: number;
  cgroupsPath: string;
  /** LinuxContainerResources in wire form, base64: the last applied values. */
  resources: string;
  /** Set once the monitor reported the container's process. */
  pid?: number;
  /**
   * Whether that process is the init of a PID namespace of its own (how a stop signals it);
   * absent in records written before it was kept, whose containers defaulted to their own.
   */
  ownPidNamespace?: boolean;
  monitorPid?: number;
  exit?: ExitInfo;
}

export function encodeConfig(config: ContainerConfig): string {
  return Buffer.from(ContainerConfig.encode(config).finish()).toString('base64');
}

export function decodeConfig(text: string): ContainerConfig {
  return ContainerConfig.decode(Buffer.from(text, 'base64'));
}

export function encodeResources(r: LinuxContainerResources | undefined): string {
  return Buffer.from(LinuxContainerResources.encode(r ?? LinuxContainerResources.fromPartial({})).finish()).toString('base64');
}

export function decodeResources(text: string): LinuxContainerResources {
  return LinuxContainerResources.decode(Buffer.from(text, 'base64'));
}

/** Container records on disk, one directory per container (its bundle and overlay live there too). */
export class ContainerStore {
  readonly dir: string;
  /** Removed containers' directories until they are deleted (same filesystem as `dir`). */
  readonly removedDir: string;

  constructor(root: string) {
    this.dir = join(root, 'containers');
    this.removedDir = join(root, 'containers-removed');
    for (const d of [this.dir, this.removedDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
  }

  containerDir(id: string): string {
    return join(this.dir, id);
  }

  /**
   * Replaces the record atomically (a daemon crash keeps the page cache: the new record is what a
   * restart reads). `durable` also fsyncs it, for what must survive a power loss: the exit of a
   * container (its code drives kubelet's restart decisions after a reboot). Other phases skip it:
   * after a power loss nothing they describe (mounts, processes) exists, and whichever record the
   * disk kept, the older or the newer, recovery turns into the same outcome (torn down, or
   * reported exited).
   */
  async write(record: ContainerRecord, durable = true): Promise<void> {
    const file = join(this.containerDir(record.id), 'record.json');
    if (durable) {
      await writeFileAtomic(file, JSON.stringify(record));
      return;
    }
    replaceFileSync(file, JSON.stringify(record));
  }

  /**
   * Takes the container's directory (record, bundle, writable layer) out of the records with one
   * rename into `removedDir` (callers unmount the rootfs first); `purge` deletes it later, and a
   * restart purges whatever is left there. Not fsynced: should a power loss undo the rename, the
   * record comes back as `removing` (torn down again) or as an exited container kubelet already
   * removed once (it removes it again).
   */
  discard(id: string): void {
    const to = join(this.removedDir, id);
    try {
      renameSync(this.containerDir(id), to);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      // A leftover of an earlier discard of the same id that was not purged yet.
      rmSync(to, { recursive: true, force: true });
      renameSync(this.containerDir(id), to);
    }
  }

  /** Ids whose discarded directory is still there. */
  discarded(): string[] {
    return readdirSync(this.removedDir);
  }

  /** Deletes a discarded directory (off the event loop: a writable layer can be large). */
  async purge(id: string): Promise<void> {
    await fsp.rm(join(this.removedDir, id), { recursive: true, force: true });
  }

  /**
   * Every record on disk. A container directory without a record is what a CreateContainer cut
   * short leaves: it comes back as a bare `creating` record so that it is torn down. Unreadable
   * records are reported to `onBad` and left alone.
   */
  loadAll(onBad: (dir: string, err: unknown) => void): ContainerRecord[] {
    const out: ContainerRecord[] = [];
    for (const name of readdirSync(this.dir)) {
      const dir = join(this.dir, name);
      try {
        for (const f of readdirSync(dir)) if (isAtomicTempName(f)) rmSync(join(dir, f), { force: true });
        let text: string;
        try {
          text = readFileSync(join(dir, 'record.json'), 'utf8');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !/^[0-9a-f]{64}$/.test(name)) throw err;
          out.push(bareRecord(name));
          continue;
        }
        out.push(JSON.parse(text) as ContainerRecord);
      } catch (err) {
        onBad(dir, err);
      }
    }
    return out;
  }
}

/** A record for a container known only by its id: enough for teardown. */
function bareRecord(id: string): ContainerRecord {
  return {
    id,
    podId: '',
    phase: 'creating',
    config: '',
    imageName: '',
    imageId: '',
    createdAt: '0',
    startedAt: '0',
    logPath: '',
    user: { uid: 0, gid: 0, additionalGids: [] },
    stopSignal: 15,
    cgroupsPath: '',
    resources: '',
  };
}

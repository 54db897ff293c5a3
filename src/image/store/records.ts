import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { isAtomicTempName, syncDir, writeFileAtomic } from '../../store/atomic';
import type { ContainerConfig } from '../manifest';
import type { StoreLayout } from './layout';

/** One unpacked layer of an image, bottom first in ImageRecord.layers. */
export interface LayerRef {
  chainId: string;
  diffId: string;
  /** The compressed blob it came from (for size accounting and re-pulls). */
  digest: string;
  size: number;
  mediaType: string;
}

/** What the store keeps about an image; the JSON on disk is this object. */
export interface ImageRecord {
  /** The config digest, `sha256:…`: CRI's Image.id and PullImage's image_ref. */
  id: string;
  repoTags: string[];
  repoDigests: string[];
  /** The platform manifest this image was built from. */
  manifestDigest: string;
  configDigest: string;
  /** Every metadata blob it needs kept: indexes, manifest, config. */
  blobs: string[];
  layers: LayerRef[];
  /** Compressed size of config + layers, as registries report images. */
  size: number;
  uid?: number;
  username?: string;
  pinned: boolean;
  config: ContainerConfig;
  /** Unix time in ms the record was first written. */
  createdAt: number;
}

/**
 * Image records, one JSON file each, written atomically. The in-memory view is reloaded whenever
 * the records directory changed (its mtime), so records committed by `shoald image import` in
 * another process show up without a restart.
 */
export class RecordStore {
  private cache = new Map<string, ImageRecord>();
  private seenMtimeNs = -1n;

  constructor(private readonly layout: StoreLayout) {}

  async all(): Promise<ImageRecord[]> {
    await this.refresh();
    return [...this.cache.values()];
  }

  async get(id: string): Promise<ImageRecord | undefined> {
    await this.refresh();
    return this.cache.get(id);
  }

  async save(record: ImageRecord): Promise<void> {
    await writeFileAtomic(this.layout.record(record.id), JSON.stringify(record, null, 1));
    this.cache.set(record.id, record);
  }

  async delete(id: string): Promise<void> {
    await fsp.rm(this.layout.record(id), { force: true });
    await syncDir(this.layout.recordsDir);
    this.cache.delete(id);
  }

  /** Forces the next read to rescan (after another process may have changed records). */
  invalidate(): void {
    this.seenMtimeNs = -1n;
  }

  private async refresh(): Promise<void> {
    const st = await fsp.stat(this.layout.recordsDir, { bigint: true });
    if (st.mtimeNs === this.seenMtimeNs) return;
    const next = new Map<string, ImageRecord>();
    for (const name of await fsp.readdir(this.layout.recordsDir)) {
      if (!name.endsWith('.json') || isAtomicTempName(name)) continue;
      try {
        const record = JSON.parse(await fsp.readFile(join(this.layout.recordsDir, name), 'utf8')) as ImageRecord;
        next.set(record.id, record);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // removed while scanning
      }
    }
    this.cache = next;
    this.seenMtimeNs = st.mtimeNs;
  }
}

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema';
import { failedPrecondition, notFound } from '../errors';
import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import type { LayerCaps } from './layer_ingest';
import { type ContainerConfig, hostPlatformMatcher, type ImageConfig, type PlatformMatcher } from './manifest';
import { ImageMetrics } from './metrics';
import { pullImage, type PulledImage } from './pull';
import type { Credentials } from './registry/auth';
import { digestedName, isImageId, parseReference, taggedName } from './reference';
import { BlobStore } from './store/blobs';
import { HoldStore } from './store/holds';
import { StoreLayout } from './store/layout';
import { LayerStore } from './store/layers';
import { type ImageRecord, RecordStore } from './store/records';
import { StoreLock } from './store/store_lock';

export type { ImageRecord } from './store/records';

/**
 * Options of ImageManager.open:
 * - root: the daemon's state root (config.root); the store lives in `<root>/images`.
 * - config: the effective config; `registry.*` and `image.*` are used.
 * - log, metrics: the daemon's; metrics may be left out (the import command has none).
 */
export interface ImageManagerOptions {
  root: string;
  config: Config;
  log: Logger;
  metrics?: Metrics;
  /** Platform to pull for; the host's by default (tests pick others). */
  platform?: PlatformMatcher;
}

export interface FsUsage {
  mountpoint: string;
  usedBytes: number;
  inodesUsed: number;
  timestampNs: bigint;
}

/** Draft of a record from a pull or an import, before names are merged in. */
export interface ImageDraft {
  id: string;
  names: { tags: string[]; repoDigests: string[] };
  manifestDigest: string;
  configDigest: string;
  config: ImageConfig;
  documents: Array<{ digest: string; data: Buffer }>;
  layers: ImageRecord['layers'];
  size: number;
  pinned: boolean;
}

const PROGRESS_EVERY_MS = 5000;

/**
 * The image store: pulls, records, layers, holds and garbage collection.
 *
 * Removal policy: RemoveImage always removes the record (all tags). Layers stay while any
 * remaining image or any container hold (holdLayers) still lists them; releaseLayers then lets
 * garbage collection reclaim them. So an image in use can be removed without breaking the
 * container, and its layers go when the container does.
 *
 * Concurrency with `shoald image import`: mutations take the store lock (in-process queue +
 * flock on `images/lock`); the importer holds it for its whole run, and the record view reloads
 * whenever the records directory changes, so an imported image is visible to a running daemon.
 */
export class ImageManager {
  private readonly layout: StoreLayout;
  private readonly records: RecordStore;
  private readonly layerStore: LayerStore;
  private readonly blobs: BlobStore;
  private readonly holdStore: HoldStore;
  readonly lock: StoreLock;
  private readonly metrics?: ImageMetrics;
  private readonly platform: PlatformMatcher;
  /** Chain ids and digests a pull in flight uses but no record names yet: GC keeps them. */
  private readonly leases = new Map<string, number>();
  private readonly layerFlights = new Map<string, Promise<void>>();

  private constructor(private readonly options: ImageManagerOptions) {
    this.layout = new StoreLayout(join(options.root, 'images'));
    this.records = new RecordStore(this.layout);
    this.layerStore = new LayerStore(this.layout);
    this.blobs = new BlobStore(this.layout);
    this.holdStore = new HoldStore(this.layout);
    this.lock = new StoreLock(this.layout.lockFile);
    this.metrics = options.metrics ? new ImageMetrics(options.metrics.registry) : undefined;
    this.platform = options.platform ?? hostPlatformMatcher();
  }

  /**
   * Opens (creating if needed) the store, removes what interrupted pulls and imports left behind
   * and collects layers and blobs nothing references.
   */
  static async open(options: ImageManagerOptions, { collect = true } = {}): Promise<ImageManager> {
    const manager = new ImageManager(options);
    await manager.layout.create();
    if (collect) {
      await manager.lock.run(async () => {
        const removed = await manager.layout.removeAbandonedTemps();
        if (removed.length > 0) options.log.info({ removed }, 'removed leftovers of interrupted image pulls');
        await manager.collectLocked();
      });
    }
    return manager;
  }

  async close(): Promise<void> {
    // nothing held open between calls: records are files, the lock is taken per operation
  }

  get storeDir(): string {
    return this.layout.dir;
  }

  /** The daemon's state root the store was opened under (config.root). */
  get stateRoot(): string {
    return this.options.root;
  }

  // ---- queries ----

  async list(): Promise<ImageRecord[]> {
    return this.records.all();
  }

  /** The record for an id, id prefix, tag, digest reference or short name; undefined if none. */
  async find(text: string): Promise<ImageRecord | undefined> {
    const all = await this.records.all();
    if (isImageId(text)) {
      const id = text.startsWith('sha256:') ? text : `sha256:${text}`;
      return all.find((r) => r.id === id);
    }
    let ref;
    try {
      ref = parseReference(text);
    } catch (err) {
      const byPrefix = this.byIdPrefix(all, text);
      if (byPrefix) return byPrefix;
      throw err;
    }
    if (ref.digest) {
      const named = digestedName(ref, ref.digest);
      return all.find((r) => r.repoDigests.includes(named) || (r.id === ref.digest && r.repoDigests.some((d) => d.startsWith(`${ref.domain}/${ref.path}@`))));
    }
    const tagged = taggedName(ref);
    return all.find((r) => tagged !== undefined && r.repoTags.includes(tagged)) ?? this.byIdPrefix(all, text);
  }

  private byIdPrefix(all: ImageRecord[], text: string): ImageRecord | undefined {
    const hex = text.startsWith('sha256:') ? text.slice(7) : text;
    if (!/^[a-f0-9]{6,63}$/.test(hex)) return undefined;
    const hits = all.filter((r) => r.id.slice(7).startsWith(hex));
    return hits.length === 1 ? hits[0] : undefined;
  }

  /** Like find, but a missing image is a NotFound naming it. */
  async resolve(text: string): Promise<ImageRecord> {
    const record = await this.find(text);
    if (!record) throw notFound(`image "${text}" not found`);
    return record;
  }

  /** The full OCI image config JSON (ImageStatus verbose). */
  async imageConfig(record: ImageRecord): Promise<ImageConfig> {
    const data = await this.blobs.get(record.configDigest);
    if (!data) throw notFound(`config ${record.configDigest} of image ${record.id} is missing from the store`);
    return JSON.parse(data.toString('utf8')) as ImageConfig;
  }

  /** Entrypoint/Cmd/Env/WorkingDir/User/StopSignal… of the image. */
  containerConfig(record: ImageRecord): ContainerConfig {
    return record.config;
  }

  /** Overlay lowerdirs of the image, top layer first. */
  async layerDirs(imageId: string): Promise<string[]> {
    const record = await this.resolve(imageId);
    const dirs = record.layers.map((l) => this.layout.layerFs(l.chainId)).reverse();
    for (const l of record.layers) {
      if (!(await this.layerStore.has(l.chainId))) throw failedPrecondition(`layer ${l.chainId} of image ${record.id} is missing from the store`);
    }
    return dirs;
  }

  // ---- pulls ----

  /** Pulls and records an image; returns its record. Concurrent pulls share layer downloads. */
  async pull(text: string, creds: Credentials | undefined, signal?: AbortSignal): Promise<ImageRecord> {
    const ref = parseReference(text);
    const started = process.hrtime.bigint();
    const { config, log } = this.options;
    const progress = { done: 0, total: 0, startedAt: Date.now() };
    const leased: string[] = [];
    const ticker = setInterval(() => {
      log.info({ image: text, bytesDone: progress.done, bytesTotal: progress.total, elapsedMs: Date.now() - progress.startedAt }, 'pulling image');
    }, PROGRESS_EVERY_MS);
    let result = 'failure';
    try {
      const caps: LayerCaps = {
        maxLayerBytes: config.image.max_layer_bytes,
        maxCompressionRatio: config.image.max_compression_ratio,
        allowDeviceNodes: config.image.allow_device_nodes,
      };
      const pulled: PulledImage = await pullImage(
        {
          layers: this.layerStore,
          registry: config.registry,
          caps,
          maxConcurrentDownloads: config.registry.max_concurrent_downloads,
          platform: this.platform,
          log,
          lease: (keys) => {
            for (const k of keys) this.leases.set(k, (this.leases.get(k) ?? 0) + 1);
            leased.push(...keys);
          },
          onceForLayer: (chainId, work) => this.onceForLayer(chainId, work),
          onTotal: (bytes) => {
            progress.total = bytes;
          },
          onBytes: (delta) => {
            progress.done += delta;
            this.metrics?.pulledBytes.inc(delta);
          },
        },
        ref,
        creds,
        signal,
      );
      const record = await this.commit({
        id: pulled.id,
        names: { tags: pulled.tag ? [pulled.tag] : [], repoDigests: [pulled.repoDigest] },
        manifestDigest: pulled.manifestDigest,
        configDigest: pulled.configDigest,
        config: pulled.config,
        documents: pulled.documents,
        layers: pulled.layers,
        size: pulled.size,
        pinned: false,
      });
      result = 'success';
      log.info({ image: text, id: record.id, bytes: progress.done, ms: Date.now() - progress.startedAt }, 'pulled image');
      return record;
    } finally {
      clearInterval(ticker);
      for (const k of leased) {
        const n = (this.leases.get(k) ?? 1) - 1;
        if (n <= 0) this.leases.delete(k);
        else this.leases.set(k, n);
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics?.pulls.inc({ result });
      this.metrics?.pullDuration.observe({ result }, seconds);
    }
  }

  private onceForLayer(chainId: string, work: () => Promise<void>): Promise<void> {
    const running = this.layerFlights.get(chainId);
    if (running) return running;
    const flight = work().finally(() => this.layerFlights.delete(chainId));
    this.layerFlights.set(chainId, flight);
    return flight;
  }

  /**
   * Stores the documents and writes the record, moving its tags off any other image. Layers must
   * already be committed. With `locked`, the caller already holds the store lock (import).
   */
  async commit(draft: ImageDraft, { locked = false } = {}): Promise<ImageRecord> {
    const work = async () => {
      for (const d of draft.documents) await this.blobs.put(d.digest, d.data);
      for (const l of draft.layers) {
        if (!(await this.layerStore.has(l.chainId))) throw failedPrecondition(`layer ${l.chainId} of image ${draft.id} vanished before the record was written`);
      }
      this.records.invalidate();
      const all = await this.records.all();
      const existing = all.find((r) => r.id === draft.id);
      const user = draft.config.config?.User ?? '';
      const record: ImageRecord = {
        id: draft.id,
        repoTags: union(existing?.repoTags ?? [], draft.names.tags),
        repoDigests: union(existing?.repoDigests ?? [], draft.names.repoDigests),
        manifestDigest: draft.manifestDigest,
        configDigest: draft.configDigest,
        blobs: union(existing?.blobs ?? [], draft.documents.map((d) => d.digest)),
        layers: draft.layers,
        size: draft.size,
        ...userOf(user),
        pinned: (existing?.pinned ?? false) || draft.pinned,
        config: draft.config.config ?? {},
        createdAt: existing?.createdAt ?? Date.now(),
      };
      await this.records.save(record);
      // the tags move only after the new record is durable: a crash in between leaves a tag on
      // two records for a moment (the newer wins on the next pull), never on none
      for (const other of all) {
        if (other.id === draft.id) continue;
        const kept = other.repoTags.filter((t) => !draft.names.tags.includes(t));
        if (kept.length !== other.repoTags.length) await this.records.save({ ...other, repoTags: kept });
      }
      return record;
    };
    return locked ? work() : this.lock.run(work);
  }

  // ---- removal, holds, GC ----

  /** Removes the image named by id, tag or digest, with all its tags; a missing image is fine. */
  async remove(text: string): Promise<void> {
    await this.lock.run(async () => {
      this.records.invalidate();
      const record = await this.find(text);
      if (!record) return;
      await this.records.delete(record.id);
      await this.collectLocked();
    });
  }

  /** Durably marks the image's layers as used by holderId (a container id) until released. */
  async holdLayers(holderId: string, imageId: string): Promise<void> {
    await this.lock.run(async () => {
      const record = await this.resolve(imageId);
      const index = await this.holdIndexLocked();
      const hold = { holderId, imageId: record.id, chainIds: record.layers.map((l) => l.chainId) };
      await this.holdStore.put(hold);
      index.set(holderId, hold.chainIds);
    });
  }

  /**
   * Drops holderId's hold (idempotent) and deletes the layers it held that no other hold, no
   * record and no pull in flight uses. Only that hold's layers are looked at (RemoveContainer
   * calls this for every container): the full collection runs at start and on RemoveImage.
   */
  async releaseLayers(holderId: string): Promise<void> {
    await this.lock.run(async () => {
      const index = await this.holdIndexLocked();
      const held = index.get(holderId) ?? [];
      const removed = await this.holdStore.remove(holderId);
      index.delete(holderId);
      if (!removed) return;
      const stillHeld = new Set([...index.values()].flat());
      const candidates = [...new Set(held)].filter((c) => !stillHeld.has(c) && !this.leases.has(c) && !this.layerFlights.has(c));
      if (candidates.length === 0) return;
      // records may have been written by `shoald image import`: reread them before deleting
      this.records.invalidate();
      const inRecords = new Set((await this.records.all()).flatMap((r) => r.layers.map((l) => l.chainId)));
      let layers = 0;
      for (const chainId of candidates) {
        if (inRecords.has(chainId)) continue;
        await this.layerStore.remove(chainId);
        layers++;
      }
      if (layers > 0) this.options.log.info({ layers, holder: holderId }, 'removed layers only a removed container still used');
    });
  }

  /**
   * Holder id → chain ids, mirroring holds/ (only this daemon writes holds, always under the
   * store lock): read from disk once, then kept in step by holdLayers/releaseLayers.
   */
  private holdIndex?: Map<string, string[]>;

  private async holdIndexLocked(): Promise<Map<string, string[]>> {
    if (!this.holdIndex) {
      const index = new Map<string, string[]>();
      for (const hold of await this.holdStore.all()) index.set(hold.holderId, hold.chainIds);
      this.holdIndex = index;
    }
    return this.holdIndex;
  }

  /** Deletes layers and blobs no record, hold or pull in flight references. */
  async collectGarbage(): Promise<{ layers: number; blobs: number }> {
    return this.lock.run(() => this.collectLocked());
  }

  private async collectLocked(): Promise<{ layers: number; blobs: number }> {
    this.records.invalidate();
    const records = await this.records.all();
    const holds = await this.holdStore.all();
    const usedLayers = new Set<string>([...records.flatMap((r) => r.layers.map((l) => l.chainId)), ...holds.flatMap((h) => h.chainIds)]);
    const usedBlobs = new Set<string>(records.flatMap((r) => r.blobs));
    let layers = 0;
    let blobs = 0;
    for (const chainId of await this.layerStore.list()) {
      if (usedLayers.has(chainId) || this.leases.has(chainId) || this.layerFlights.has(chainId)) continue;
      await this.layerStore.remove(chainId);
      layers++;
    }
    for (const digest of await this.blobs.list()) {
      if (usedBlobs.has(digest) || this.leases.has(digest)) continue;
      await this.blobs.remove(digest);
      blobs++;
    }
    if (layers + blobs > 0) this.options.log.info({ layers, blobs }, 'image garbage collection removed unused content');
    return { layers, blobs };
  }

  // ---- usage ----

  /** Usage of the image store: every layer counted once however many images share it. */
  async fsUsage(): Promise<FsUsage> {
    let usedBytes = 0;
    let inodesUsed = 0;
    for (const chainId of await this.layerStore.list()) {
      const info = await this.layerStore.info(chainId);
      if (!info) continue;
      usedBytes += info.fileBytes;
      inodesUsed += info.entries + 2; // + the layer dir and its fs/ dir
    }
    const blobs = await this.blobs.sizes();
    usedBytes += blobs.bytes;
    inodesUsed += blobs.count;
    for (const name of await fsp.readdir(this.layout.recordsDir)) {
      const st = await fsp.stat(join(this.layout.recordsDir, name)).catch(() => undefined);
      if (st) {
        usedBytes += st.size;
        inodesUsed++;
      }
    }
    return { mountpoint: this.layout.dir, usedBytes, inodesUsed, timestampNs: BigInt(Date.now()) * 1_000_000n };
  }

  /** A staging path in the store's tmp dir (same filesystem: commits are renames). */
  tempPath(label: string): string {
    return this.layout.tempPath(label);
  }

  /** Stage/commit access for the importer. */
  get layerStoreForImport(): LayerStore {
    return this.layerStore;
  }
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])];
}

/** CRI: a numeric user (alone or before ":group") is uid; a name is username; empty is neither. */
export function userOf(user: string): { uid?: number; username?: string } {
  if (user === '') return {};
  const name = user.split(':')[0];
  if (/^\d+$/.test(name)) return { uid: Number(name) };
  return { username: name };
}

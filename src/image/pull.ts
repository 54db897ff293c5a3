import type { Logger } from '../log';
import { failedPrecondition, unavailable } from '../errors';
import { ingestLayer, type LayerCaps } from './layer_ingest';
import {
  chainIds,
  type ImageConfig,
  type ImageManifest,
  MANIFEST_ACCEPT,
  parseImageConfig,
  parseManifestDocument,
  type PlatformMatcher,
  selectManifest,
  sha256Digest,
} from './manifest';
import type { Credentials } from './registry/auth';
import { RegistryClient, type RegistrySettings } from './registry/client';
import { TransportError } from './registry/http';
import { digestedName, formatReference, type Reference, repositoryName, taggedName } from './reference';
import type { LayerRef } from './store/records';
import type { LayerStore } from './store/layers';

/** Everything a pull produced, verified and staged, for the manager to commit as a record. */
export interface PulledImage {
  id: string;
  tag?: string;
  repoDigest: string;
  manifestDigest: string;
  configDigest: string;
  config: ImageConfig;
  /** Verified metadata documents to keep: index (if any), manifest, config. */
  documents: Array<{ digest: string; data: Buffer }>;
  layers: LayerRef[];
  size: number;
}

export interface PullDeps {
  layers: LayerStore;
  registry: RegistrySettings;
  caps: LayerCaps;
  maxConcurrentDownloads: number;
  platform: PlatformMatcher;
  log: Logger;
  /** Holds chain ids and digests away from GC until the record is committed. */
  lease: (keys: string[]) => void;
  /** Single flight per chain id: two pulls needing one layer fetch it once. */
  onceForLayer: (chainId: string, work: () => Promise<void>) => Promise<void>;
  onBytes: (delta: number) => void;
  /** Compressed bytes of the layers still to fetch, once known (progress logs). */
  onTotal: (bytes: number) => void;
}

const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
const LAYER_ATTEMPTS = 3;

export async function pullImage(deps: PullDeps, ref: Reference, creds: Credentials | undefined, signal: AbortSignal | undefined): Promise<PulledImage> {
  const name = formatReference(ref);
  const repo = ref.path;
  const client = new RegistryClient(ref.domain, deps.registry, creds, deps.log);
  const documents: PulledImage['documents'] = [];

  const top = await client.getManifest(repo, ref.digest ?? ref.tag ?? 'latest', MANIFEST_ACCEPT, signal);
  const topDigest = sha256Digest(top.body);
  if (ref.digest && ref.digest !== topDigest) {
    throw failedPrecondition(`manifest of ${name} failed verification: its digest is ${topDigest}`);
  }
  documents.push({ digest: topDigest, data: top.body });
  let doc = parseManifestDocument(top.body, top.contentType, `manifest of ${name}`);
  let manifestDigest = topDigest;
  if (doc.kind === 'index') {
    const chosen = selectManifest(doc.index, deps.platform, `image index of ${name}`);
    const sub = await client.getManifest(repo, chosen.digest, MANIFEST_ACCEPT, signal);
    const subDigest = sha256Digest(sub.body);
    if (subDigest !== chosen.digest || sub.body.length !== chosen.size) {
      throw failedPrecondition(`platform manifest ${chosen.digest} of ${name} failed verification (got ${subDigest}, ${sub.body.length} bytes)`);
    }
    documents.push({ digest: subDigest, data: sub.body });
    doc = parseManifestDocument(sub.body, sub.contentType, `platform manifest ${chosen.digest} of ${name}`);
    if (doc.kind !== 'manifest') throw failedPrecondition(`platform manifest ${chosen.digest} of ${name} is itself an index`);
    manifestDigest = subDigest;
  }
  const manifest: ImageManifest = doc.manifest;

  const configBody = await client.getBlob(repo, manifest.config.digest, MAX_CONFIG_BYTES, signal);
  if (sha256Digest(configBody) !== manifest.config.digest) {
    throw failedPrecondition(`config ${manifest.config.digest} of ${name} failed verification: its digest is ${sha256Digest(configBody)}`);
  }
  documents.push({ digest: manifest.config.digest, data: configBody });
  const config = parseImageConfig(configBody, `config of ${name}`);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw failedPrecondition(`${name}: the manifest lists ${manifest.layers.length} layers but the config ${diffIds.length} diff ids`);
  }
  const chains = chainIds(diffIds);
  deps.lease([...chains, ...documents.map((d) => d.digest)]);

  const layers: LayerRef[] = manifest.layers.map((l, i) => ({ chainId: chains[i], diffId: diffIds[i], digest: l.digest, size: l.size, mediaType: l.mediaType }));
  let missing = 0;
  for (const l of layers) if (!(await deps.layers.has(l.chainId))) missing += l.size;
  deps.onTotal(missing);
  await forEachLimited(layers, deps.maxConcurrentDownloads, async (layer) => {
    await deps.onceForLayer(layer.chainId, async () => {
      if (await deps.layers.has(layer.chainId)) return;
      const what = `layer ${layer.digest} of ${repositoryName(ref)}`;
      for (let attempt = 1; ; attempt++) {
        // not tied to this caller's cancellation: another pull may be waiting on the same flight
        const { stream } = await client.openBlob(repo, layer.digest);
        try {
          await ingestLayer(deps.layers, deps.caps, { what, digest: layer.digest, size: layer.size, mediaType: layer.mediaType, diffId: layer.diffId, chainId: layer.chainId }, stream, deps.onBytes);
          return;
        } catch (err) {
          const transient = err instanceof TransportError && err.transient;
          if (!transient || attempt >= LAYER_ATTEMPTS) throw err instanceof TransportError ? unavailable(`${what}: ${err.message}`) : err;
          deps.log.warn({ image: name, layer: layer.digest, attempt, err: err.message }, 'layer download interrupted; starting it again');
        }
      }
    });
  });

  return {
    id: manifest.config.digest,
    tag: taggedName(ref),
    repoDigest: digestedName(ref, topDigest),
    manifestDigest,
    configDigest: manifest.config.digest,
    config,
    documents,
    layers,
    size: manifest.config.size + manifest.layers.reduce((sum, l) => sum + l.size, 0),
  };
}

/** Runs `work` over items with at most `limit` in flight; the first failure fails the whole. */
export async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (failed === undefined && next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (err) {
        if (failed === undefined) failed = err;
      }
    }
  });
  await Promise.all(runners);
  if (failed !== undefined) throw failed;
}

import { createReadStream, promises as fsp } from 'node:fs';
import { posix } from 'node:path';
import { join } from 'node:path';
import tar from 'tar-stream';
import { pipeline } from 'node:stream/promises';
import { failedPrecondition, invalidArgument } from '../errors';
import type { Config } from '../config/schema';
import { ingestLayer, type LayerCaps } from './layer_ingest';
import type { ImageDraft, ImageManager, ImageRecord } from './manager';
import {
  chainIds,
  type Descriptor,
  hostPlatformMatcher,
  parseImageConfig,
  parseManifestDocument,
  selectManifest,
  sha256Digest,
} from './manifest';
import { digestedName, parseReference, taggedName } from './reference';
import type { LayerRef } from './store/records';
import { LayerRefused, splitPath } from './unpack/unpack';

/**
 * Loads images from a tarball for air-gapped nodes: an OCI image layout (index.json + blobs/) or
 * a docker-archive (`docker save`: manifest.json + config + layer tars). The archive's regular
 * files are staged in the store's tmp dir (names sanitized like layer entries; symlinks resolved
 * by name inside the archive); then each image's layers are verified and unpacked like pulled
 * ones and the record committed. The whole import runs under the store lock, so a daemon on the
 * same root neither collects its layers half-way nor misses the record (it rescans on change).
 */
export interface ImportOptions {
  /** Name for images the archive leaves unnamed (OCI layouts often carry only a tag). */
  name?: string;
  pinned?: boolean;
}

export interface ImportedImage {
  id: string;
  names: string[];
}

const MAX_METADATA_BYTES = 16 * 1024 * 1024;

class ArchiveFiles {
  private readonly files = new Map<string, string>();
  private readonly links = new Map<string, string>();
  constructor(readonly dir: string) {}

  static async stage(archive: string, dir: string): Promise<ArchiveFiles> {
    const files = new ArchiveFiles(dir);
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const extract = tar.extract();
    const feeding = pipeline(createReadStream(archive), extract);
    feeding.catch(() => undefined);
    let n = 0;
    for await (const entry of extract) {
      const h = entry.header;
      let name: string;
      try {
        name = splitPath(h.name).join('/');
      } catch (err) {
        if (err instanceof LayerRefused) throw invalidArgument(`archive ${archive}: ${err.message}`);
        throw err;
      }
      if (h.type === 'file' || h.type === 'contiguous-file') {
        const path = join(dir, String(n++));
        const fh = await fsp.open(path, 'wx', 0o600);
        try {
          for await (const chunk of entry as AsyncIterable<Buffer>) await fh.write(chunk);
        } finally {
          await fh.close();
        }
        files.files.set(name, path);
      } else {
        if ((h.type === 'symlink' || h.type === 'link') && h.linkname) {
          const target = h.type === 'symlink' ? posix.normalize(posix.join(posix.dirname(name), h.linkname)) : posix.normalize(h.linkname);
          files.links.set(name, target.replace(/^\/+/, ''));
        }
        entry.resume();
      }
    }
    await feeding;
    return files;
  }

  path(name: string): string | undefined {
    let current = posix.normalize(name).replace(/^\.\//, '');
    for (let hops = 0; hops < 16; hops++) {
      const file = this.files.get(current);
      if (file) return file;
      const next = this.links.get(current);
      if (!next) return undefined;
      current = next;
    }
    return undefined;
  }

  async read(name: string, what: string): Promise<Buffer> {
    const path = this.path(name);
    if (!path) throw invalidArgument(`${what}: "${name}" is missing from the archive`);
    const st = await fsp.stat(path);
    if (st.size > MAX_METADATA_BYTES) throw invalidArgument(`${what}: "${name}" is too large for a metadata file`);
    return fsp.readFile(path);
  }

  has(name: string): boolean {
    return this.path(name) !== undefined;
  }
}

export async function importArchive(images: ImageManager, config: Config, archive: string, options: ImportOptions = {}): Promise<ImportedImage[]> {
  const caps: LayerCaps = {
    maxLayerBytes: config.image.max_layer_bytes,
    maxCompressionRatio: config.image.max_compression_ratio,
    allowDeviceNodes: config.image.allow_device_nodes,
  };
  await fsp.access(archive).catch(() => {
    throw invalidArgument(`image archive "${archive}" cannot be read`);
  });
  return images.lock.run(async () => {
    const staging = images.tempPath('import');
    try {
      const files = await ArchiveFiles.stage(archive, staging);
      const drafts = files.has('index.json') ? await ociLayout(files, options) : files.has('manifest.json') ? await dockerArchive(files, options) : undefined;
      if (!drafts) throw invalidArgument(`"${archive}" is neither an OCI image layout (index.json) nor a docker-archive (manifest.json)`);
      const out: ImportedImage[] = [];
      for (const d of drafts) {
        for (const layer of d.layerFiles) {
          if (await images.layerStoreForImport.has(layer.ref.chainId)) continue;
          const stream = createReadStream(layer.path);
          await ingestLayer(
            images.layerStoreForImport,
            caps,
            { what: `layer ${layer.ref.digest || layer.ref.diffId} of ${archive}`, digest: layer.ref.digest || undefined, size: layer.ref.digest ? layer.ref.size : undefined, mediaType: layer.ref.mediaType || undefined, diffId: layer.ref.diffId, chainId: layer.ref.chainId },
            stream,
            () => undefined,
          );
        }
        const record: ImageRecord = await images.commit({ ...d.draft, pinned: options.pinned ?? false }, { locked: true });
        out.push({ id: record.id, names: [...d.draft.names.tags, ...d.draft.names.repoDigests] });
      }
      return out;
    } finally {
      await fsp.rm(staging, { recursive: true, force: true });
    }
  });
}

interface DraftWithFiles {
  draft: ImageDraft;
  layerFiles: Array<{ ref: LayerRef; path: string }>;
}

function blobName(digest: string): string {
  const [algo, hex] = digest.split(':');
  return `blobs/${algo}/${hex}`;
}

async function ociLayout(files: ArchiveFiles, options: ImportOptions): Promise<DraftWithFiles[]> {
  const indexBody = await files.read('index.json', 'OCI layout');
  const top = parseManifestDocument(indexBody, undefined, 'OCI layout index.json');
  if (top.kind !== 'index') throw invalidArgument('OCI layout index.json is not an image index');
  const out: DraftWithFiles[] = [];
  for (const [i, desc] of top.index.manifests.entries()) {
    const annotations = desc.annotations ?? {};
    const refName = annotations['io.containerd.image.name'] ?? annotations['org.opencontainers.image.ref.name'];
    let reference: string | undefined = refName;
    if (refName && !refName.includes('/') && !refName.includes(':') && options.name) reference = `${parseReferenceName(options.name)}:${refName}`;
    if (!reference || !isFullReference(reference)) reference = options.name;
    const documents: ImageDraft['documents'] = [];
    const what = `OCI layout manifests[${i}]`;
    let body = await verifiedBlob(files, desc, what);
    documents.push({ digest: desc.digest, data: body });
    let doc = parseManifestDocument(body, desc.mediaType, what);
    let manifestDigest = desc.digest;
    if (doc.kind === 'index') {
      const chosen = selectManifest(doc.index, hostPlatformMatcher(), what);
      body = await verifiedBlob(files, chosen, `${what} platform manifest`);
      documents.push({ digest: chosen.digest, data: body });
      doc = parseManifestDocument(body, chosen.mediaType, `${what} platform manifest`);
      if (doc.kind !== 'manifest') throw invalidArgument(`${what}: nested indexes are not supported`);
      manifestDigest = chosen.digest;
    }
    const manifest = doc.manifest;
    const configBody = await verifiedBlob(files, manifest.config, `${what} config`);
    documents.push({ digest: manifest.config.digest, data: configBody });
    const config = parseImageConfig(configBody, `${what} config`);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== manifest.layers.length) throw failedPrecondition(`${what}: ${manifest.layers.length} layers but ${diffIds.length} diff ids`);
    const chains = chainIds(diffIds);
    const layerFiles = manifest.layers.map((l, j) => {
      const path = files.path(blobName(l.digest));
      if (!path) throw invalidArgument(`${what}: layer ${l.digest} is missing from the archive`);
      return { ref: { chainId: chains[j], diffId: diffIds[j], digest: l.digest, size: l.size, mediaType: l.mediaType }, path };
    });
    const names = namesFor(reference, desc.digest);
    out.push({
      draft: {
        id: manifest.config.digest,
        names,
        manifestDigest,
        configDigest: manifest.config.digest,
        config,
        documents,
        layers: layerFiles.map((f) => f.ref),
        size: manifest.config.size + manifest.layers.reduce((s, l) => s + l.size, 0),
        pinned: false,
      },
      layerFiles,
    });
  }
  return out;
}

async function dockerArchive(files: ArchiveFiles, options: ImportOptions): Promise<DraftWithFiles[]> {
  const entries = JSON.parse((await files.read('manifest.json', 'docker-archive')).toString('utf8')) as Array<{ Config: string; RepoTags?: string[] | null; Layers: string[] }>;
  if (!Array.isArray(entries)) throw invalidArgument('docker-archive manifest.json is not a list');
  const out: DraftWithFiles[] = [];
  for (const [i, entry] of entries.entries()) {
    const what = `docker-archive manifest.json[${i}]`;
    const configBody = await files.read(entry.Config, what);
    const configDigest = sha256Digest(configBody);
    const config = parseImageConfig(configBody, `${what} config`);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== entry.Layers.length) throw failedPrecondition(`${what}: ${entry.Layers.length} layers but ${diffIds.length} diff ids`);
    const chains = chainIds(diffIds);
    let size = configBody.length;
    const layerFiles: DraftWithFiles['layerFiles'] = [];
    for (const [j, name] of entry.Layers.entries()) {
      const path = files.path(name);
      if (!path) throw invalidArgument(`${what}: layer "${name}" is missing from the archive`);
      const st = await fsp.stat(path);
      size += st.size;
      // layer tars carry no compressed digest: the diff id check is the verification
      layerFiles.push({ ref: { chainId: chains[j], diffId: diffIds[j], digest: '', size: st.size, mediaType: '' }, path });
    }
    const tags = (entry.RepoTags ?? []).map((t) => taggedName(parseReference(t))).filter((t): t is string => t !== undefined);
    if (tags.length === 0 && options.name) tags.push(...namesFor(options.name, undefined).tags);
    out.push({
      draft: {
        id: configDigest,
        names: { tags, repoDigests: [] },
        // a docker-archive has no registry manifest; the config digest stands in for it
        manifestDigest: configDigest,
        configDigest,
        config,
        documents: [{ digest: configDigest, data: configBody }],
        layers: layerFiles.map((f) => f.ref),
        size,
        pinned: false,
      },
      layerFiles,
    });
  }
  return out;
}

async function verifiedBlob(files: ArchiveFiles, desc: Descriptor, what: string): Promise<Buffer> {
  const body = await files.read(blobName(desc.digest), what);
  if (sha256Digest(body) !== desc.digest || body.length !== desc.size) throw failedPrecondition(`${what}: blob ${desc.digest} failed verification`);
  return body;
}

function isFullReference(text: string): boolean {
  try {
    parseReference(text);
    return true;
  } catch {
    return false;
  }
}

function parseReferenceName(text: string): string {
  const ref = parseReference(text);
  return `${ref.domain}/${ref.path}`;
}

function namesFor(reference: string | undefined, digest: string | undefined): ImageDraft['names'] {
  if (!reference) return { tags: [], repoDigests: [] };
  const ref = parseReference(reference);
  const tag = ref.digest ? undefined : taggedName(ref);
  return { tags: tag ? [tag] : [], repoDigests: digest ? [digestedName(ref, digest)] : [] };
}



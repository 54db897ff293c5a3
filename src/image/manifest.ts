import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { failedPrecondition, invalidArgument, notFound } from '../errors';
import { isDigest } from './reference';

/** Media types of the documents a pull walks through. */
export const MediaType = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
} as const;

/** What a pull accepts, best first; schema1 is asked for only to refuse it with a clear message. */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.dockerManifestList,
  MediaType.ociManifest,
  MediaType.dockerManifest,
  MediaType.dockerSchema1Signed,
  MediaType.dockerSchema1,
].join(', ');

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  mediaType: string;
  manifests: Descriptor[];
}

export type ManifestDocument = { kind: 'index'; index: ImageIndex } | { kind: 'manifest'; manifest: ImageManifest };

/** The part of the OCI image config that running a container needs. */
export interface ContainerConfig {
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  StopSignal?: string;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
}

export interface ImageConfig {
  architecture?: string;
  os?: string;
  created?: string;
  config?: ContainerConfig;
  rootfs: { type: string; diff_ids: string[] };
}

export function sha256Digest(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function parseJson(body: Buffer, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw invalidArgument(`${what} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidArgument(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function descriptor(value: unknown, what: string): Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (!d || typeof d !== 'object') throw invalidArgument(`${what} is not a descriptor`);
  if (typeof d.digest !== 'string' || !isDigest(d.digest)) throw invalidArgument(`${what} has an invalid digest "${String(d.digest)}"`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw invalidArgument(`${what} has an invalid size`);
  if (typeof d.mediaType !== 'string') throw invalidArgument(`${what} has no mediaType`);
  const result: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.platform && typeof d.platform === 'object') result.platform = d.platform;
  if (d.annotations && typeof d.annotations === 'object') result.annotations = d.annotations;
  return result;
}

/**
 * Parses a manifest or index. The kind comes from the document's own mediaType, else the HTTP
 * Content-Type, else its shape (OCI allows leaving mediaType out).
 */
export function parseManifestDocument(body: Buffer, contentType: string | undefined, what: string): ManifestDocument {
  const doc = parseJson(body, what);
  const mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : (contentType?.split(';')[0].trim() ?? '');
  if (doc.schemaVersion === 1 || mediaType === MediaType.dockerSchema1 || mediaType === MediaType.dockerSchema1Signed) {
    throw failedPrecondition(`${what} is a Docker schema 1 manifest, which is deprecated and not supported; push the image again with a current client`);
  }
  const isIndex = mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList || (!('config' in doc) && Array.isArray(doc.manifests));
  if (isIndex) {
    if (!Array.isArray(doc.manifests)) throw invalidArgument(`${what} is an index without manifests`);
    return {
      kind: 'index',
      index: { mediaType: mediaType || MediaType.ociIndex, manifests: doc.manifests.map((m, i) => descriptor(m, `${what} manifests[${i}]`)) },
    };
  }
  if (mediaType !== '' && mediaType !== MediaType.ociManifest && mediaType !== MediaType.dockerManifest) {
    throw failedPrecondition(`${what} has unsupported media type "${mediaType}"`);
  }
  if (!Array.isArray(doc.layers)) throw invalidArgument(`${what} has no layers list`);
  return {
    kind: 'manifest',
    manifest: {
      mediaType: mediaType || MediaType.ociManifest,
      config: descriptor(doc.config, `${what} config`),
      layers: doc.layers.map((l, i) => descriptor(l, `${what} layers[${i}]`)),
    },
  };
}

export function parseImageConfig(body: Buffer, what: string): ImageConfig {
  const doc = parseJson(body, what) as Partial<ImageConfig>;
  const rootfs = doc.rootfs;
  if (!rootfs || !Array.isArray(rootfs.diff_ids) || !rootfs.diff_ids.every((d) => typeof d === 'string' && isDigest(d))) {
    throw invalidArgument(`${what} has no valid rootfs.diff_ids`);
  }
  return doc as ImageConfig;
}

/** ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    out.push(out.length === 0 ? diffId : sha256Digest(Buffer.from(`${out[out.length - 1]} ${diffId}`)));
  }
  return out;
}

const NODE_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** x86-64 micro-architecture level from the CPU flags (v1…v4), as image indexes name it. */
function amd64Level(): number {
  let flags: Set<string>;
  try {
    const line = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    flags = new Set((line?.[1] ?? '').trim().split(/\s+/));
  } catch {
    return 1;
  }
  const has = (...names: string[]) => names.every((n) => flags.has(n));
  if (!has('cx16', 'lahf_lm', 'popcnt', 'sse4_1', 'sse4_2', 'ssse3')) return 1;
  if (!has('avx', 'avx2', 'bmi1', 'bmi2', 'f16c', 'fma', 'abm', 'movbe', 'xsave')) return 2;
  if (!has('avx512f', 'avx512bw', 'avx512cd', 'avx512dq', 'avx512vl')) return 3;
  return 4;
}

export interface PlatformMatcher {
  readonly description: string;
  /** Lower is better; undefined when the platform cannot run here. */
  rank(platform: Platform | undefined): number | undefined;
}

export function hostPlatformMatcher(): PlatformMatcher {
  const architecture = NODE_ARCH[process.arch] ?? process.arch;
  if (architecture === 'amd64') {
    const level = amd64Level();
    return {
      description: `linux/amd64 (up to v${level})`,
      rank(p) {
        if (!p || p.os !== 'linux' || p.architecture !== 'amd64') return undefined;
        const v = p.variant ? Number(/^v(\d)$/.exec(p.variant)?.[1] ?? NaN) : 1;
        if (!(v >= 1 && v <= level)) return undefined;
        return level - v; // the highest level the CPU supports is best
      },
    };
  }
  const variant = architecture === 'arm64' ? 'v8' : architecture === 'arm' ? 'v7' : undefined;
  return {
    description: `linux/${architecture}${variant ? `/${variant}` : ''}`,
    rank(p) {
      if (!p || p.os !== 'linux' || p.architecture !== architecture) return undefined;
      if (!p.variant || p.variant === variant) return p.variant === variant ? 0 : 1;
      return undefined;
    },
  };
}

export function selectManifest(index: ImageIndex, matcher: PlatformMatcher, what: string): Descriptor {
  let best: { d: Descriptor; rank: number } | undefined;
  for (const d of index.manifests) {
    if (d.mediaType !== MediaType.ociManifest && d.mediaType !== MediaType.dockerManifest) continue;
    const rank = matcher.rank(d.platform);
    if (rank !== undefined && (!best || rank < best.rank)) best = { d, rank };
  }
  if (!best) {
    const offered = index.manifests.map((d) => (d.platform ? [d.platform.os, d.platform.architecture, d.platform.variant].filter(Boolean).join('/') : 'unknown')).join(', ');
    throw notFound(`${what} has no manifest for ${matcher.description} (it offers: ${offered || 'nothing'})`);
  }
  return best.d;
}

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

/**
 * Test images built in TypeScript: tar layers from entry lists (busybox-static as the userland),
 * compressed with gzip (zlib) or zstd (Debian's zstd CLI), wrapped in Docker or OCI manifests and
 * indexes, and pushed with the registry HTTP API.
 */
export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  content?: Buffer | string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

export async function tarOf(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const e of entries) {
    const body = e.content === undefined ? undefined : Buffer.from(e.content);
    const type = e.type ?? 'file';
    await new Promise<void>((resolve, reject) => {
      const header = {
        name: e.name,
        type,
        mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        mtime: e.mtime ?? new Date(1_600_000_000_000),
        linkname: e.linkname,
        devmajor: e.devmajor,
        devminor: e.devminor,
        pax: e.pax,
        size: type === 'file' ? (body?.length ?? 0) : 0,
      };
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === 'file') pack.entry(header, body ?? Buffer.alloc(0), done);
      else pack.entry(header, done);
    });
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

export const busyboxBinary = (): Buffer => readFileSync('/bin/busybox');

/** A minimal userland: /bin/busybox with sh/ls/cat as symlinks, /etc/passwd. */
export function busyboxEntries(): TarEntry[] {
  return [
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', content: busyboxBinary(), mode: 0o755 },
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
    { name: 'bin/ls', type: 'symlink', linkname: 'busybox' },
    { name: 'bin/cat', type: 'symlink', linkname: '/bin/busybox' },
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n' },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
  ];
}

export type Compression = 'gzip' | 'zstd' | 'none';
export type Style = 'docker' | 'oci';

export const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export interface Blob {
  data: Buffer;
  digest: string;
  mediaType: string;
}

export interface BuiltImage {
  config: Blob;
  manifest: Blob;
  layers: Array<Blob & { diffId: string }>;
  /** The config digest: the image id the runtime must report. */
  id: string;
}

export function compress(tarData: Buffer, compression: Compression): Buffer {
  if (compression === 'gzip') return gzipSync(tarData);
  if (compression === 'zstd') return execFileSync('zstd', ['-q', '-c', '-3'], { input: tarData, maxBuffer: 1 << 30 });
  return tarData;
}

function layerMediaType(style: Style, compression: Compression): string {
  if (style === 'docker') {
    if (compression === 'gzip') return 'application/vnd.docker.image.rootfs.diff.tar.gzip';
    if (compression === 'none') return 'application/vnd.docker.image.rootfs.diff.tar';
    return 'application/vnd.oci.image.layer.v1.tar+zstd';
  }
  return `application/vnd.oci.image.layer.v1.tar${compression === 'none' ? '' : `+${compression}`}`;
}

export interface ImageOptions {
  style?: Style;
  architecture?: string;
  user?: string;
  env?: string[];
  cmd?: string[];
  entrypoint?: string[];
  workingDir?: string;
  stopSignal?: string;
  /** Override the diff ids written into the config (for negative tests). */
  diffIds?: string[];
}

export function buildImage(layers: Array<{ tar: Buffer; compression: Compression }>, options: ImageOptions = {}): BuiltImage {
  const style = options.style ?? 'docker';
  const built = layers.map(({ tar: t, compression }) => {
    const data = compress(t, compression);
    return { data, digest: sha256(data), mediaType: layerMediaType(style, compression), diffId: sha256(t) };
  });
  const configJson = {
    architecture: options.architecture ?? 'amd64',
    os: 'linux',
    created: '2026-01-01T00:00:00Z',
    config: {
      User: options.user ?? '',
      Env: options.env ?? ['PATH=/bin'],
      Cmd: options.cmd ?? ['/bin/sh'],
      Entrypoint: options.entrypoint ?? null,
      WorkingDir: options.workingDir ?? '/',
      StopSignal: options.stopSignal,
    },
    rootfs: { type: 'layers', diff_ids: options.diffIds ?? built.map((l) => l.diffId) },
  };
  const configData = Buffer.from(JSON.stringify(configJson));
  const config: Blob = {
    data: configData,
    digest: sha256(configData),
    mediaType: style === 'docker' ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json',
  };
  const manifestMediaType = style === 'docker' ? 'application/vnd.docker.distribution.manifest.v2+json' : 'application/vnd.oci.image.manifest.v1+json';
  const manifestData = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestMediaType,
      config: { mediaType: config.mediaType, digest: config.digest, size: config.data.length },
      layers: built.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.data.length })),
    }),
  );
  return { config, layers: built, manifest: { data: manifestData, digest: sha256(manifestData), mediaType: manifestMediaType }, id: config.digest };
}

export function buildIndex(entries: Array<{ image: BuiltImage; architecture: string; variant?: string }>, style: Style = 'docker'): Blob {
  const mediaType = style === 'docker' ? 'application/vnd.docker.distribution.manifest.list.v2+json' : 'application/vnd.oci.image.index.v1+json';
  const data = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: entries.map((e) => ({
        mediaType: e.image.manifest.mediaType,
        digest: e.image.manifest.digest,
        size: e.image.manifest.data.length,
        platform: { os: 'linux', architecture: e.architecture, ...(e.variant ? { variant: e.variant } : {}) },
      })),
    }),
  );
  return { data, digest: sha256(data), mediaType };
}

/** Something that can push: the registry harness hands one out per instance. */
export interface Pusher {
  /** e.g. http://127.0.0.1:5000 */
  readonly url: string;
  authorization(repo: string): Promise<string | undefined>;
}

async function call(pusher: Pusher, repo: string, method: string, path: string, body?: Buffer, contentType?: string): Promise<Response> {
  const auth = await pusher.authorization(repo);
  const headers: Record<string, string> = {};
  if (auth) headers.Authorization = auth;
  if (contentType) headers['Content-Type'] = contentType;
  const url = path.startsWith('http') ? path : `${pusher.url}${path}`;
  const res = await fetch(url, { method, headers, body: body ? new Uint8Array(body) : undefined });
  if (res.status >= 300) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return res;
}

export async function pushBlob(pusher: Pusher, repo: string, blob: { data: Buffer; digest: string }): Promise<void> {
  const head = await fetch(`${pusher.url}/v2/${repo}/blobs/${blob.digest}`, { method: 'HEAD', headers: await authHeaders(pusher, repo) });
  if (head.status === 200) return;
  const start = await call(pusher, repo, 'POST', `/v2/${repo}/blobs/uploads/`);
  const location = new URL(start.headers.get('location') ?? '', pusher.url);
  location.searchParams.set('digest', blob.digest);
  await call(pusher, repo, 'PUT', location.toString(), blob.data, 'application/octet-stream');
}

async function authHeaders(pusher: Pusher, repo: string): Promise<Record<string, string>> {
  const auth = await pusher.authorization(repo);
  return auth ? { Authorization: auth } : {};
}

export async function pushManifest(pusher: Pusher, repo: string, reference: string, manifest: Blob): Promise<void> {
  await call(pusher, repo, 'PUT', `/v2/${repo}/manifests/${reference}`, manifest.data, manifest.mediaType);
}

export async function pushImage(pusher: Pusher, repo: string, tag: string, image: BuiltImage): Promise<void> {
  for (const l of image.layers) await pushBlob(pusher, repo, l);
  await pushBlob(pusher, repo, image.config);
  await pushManifest(pusher, repo, tag, image.manifest);
}

export async function pushIndex(pusher: Pusher, repo: string, tag: string, index: Blob, images: BuiltImage[]): Promise<void> {
  for (const image of images) {
    for (const l of image.layers) await pushBlob(pusher, repo, l);
    await pushBlob(pusher, repo, image.config);
    await pushManifest(pusher, repo, image.manifest.digest, image.manifest);
  }
  await pushManifest(pusher, repo, tag, index);
}

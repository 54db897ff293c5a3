import { spawn } from 'node:child_process';
import { Duplex, PassThrough, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { createHash, type Hash } from 'node:crypto';

/**
 * Layer decompression. gzip uses Node's zlib (runs on the libuv pool). zstd runs Debian's `zstd -dc`
 * as a child process: Node 20 has no zstd, and measured on a 160 MB layer the CLI decoded in
 * 245 ms against 433 ms for the pure-JS fzstd, which would also block the event loop while the
 * other layers of the pull are downloading.
 */
export type Compression = 'gzip' | 'zstd' | 'none';

export function compressionFromMediaType(mediaType: string): Compression | undefined {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.tar.gzip') || mediaType === 'application/vnd.docker.image.rootfs.diff.tar.gzip') {
    return 'gzip';
  }
  if (mediaType.endsWith('+zstd')) return 'zstd';
  if (mediaType.endsWith('.tar') || mediaType === 'application/vnd.docker.image.rootfs.diff.tar') return 'none';
  return undefined;
}

/** For archives without media types (docker-archive, OCI layouts with odd types): the magic bytes. */
export function compressionFromMagic(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

export function decompressor(compression: Compression): Duplex {
  switch (compression) {
    case 'gzip':
      return createGunzip({ chunkSize: 256 * 1024 });
    case 'zstd':
      return zstdProcess();
    case 'none':
      return new PassThrough();
  }
}

function zstdProcess(): Duplex {
  const child = spawn('zstd', ['-dc', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => (stderr = (stderr + text).slice(-2000)));
  const duplex = Duplex.from({ writable: child.stdin, readable: child.stdout });
  child.on('error', (err) => duplex.destroy(new Error(`zstd decompressor: ${err.message}`)));
  child.on('exit', (code, signal) => {
    if (code !== 0 && !duplex.destroyed) {
      duplex.destroy(new Error(`zstd decompressor failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
    }
  });
  duplex.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return duplex;
}

/**
 * Counts (and optionally sha256-hashes) the bytes flowing through, and lets a check refuse the
 * stream as soon as a cap is passed (layer size, decompression ratio).
 */
export class Meter extends Transform {
  bytes = 0;
  private readonly hash?: Hash;
  constructor(options: { hash?: boolean; check?: (bytes: number) => Error | undefined } = {}) {
    super();
    if (options.hash) this.hash = createHash('sha256');
    this.check = options.check;
  }
  private readonly check?: (bytes: number) => Error | undefined;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash?.update(chunk);
    const refusal = this.check?.(this.bytes);
    if (refusal) done(refusal);
    else done(null, chunk);
  }
  /** `sha256:<hex>` of everything that passed; call once, after the stream ended. */
  digest(): string {
    if (!this.hash) throw new Error('Meter was created without hashing');
    return `sha256:${this.hash.digest('hex')}`;
  }
}

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CriError, failedPrecondition } from '../errors';
import type { LayerStore } from './store/layers';
import { compressionFromMagic, compressionFromMediaType, type Compression, decompressor, Meter } from './unpack/decompress';
import { LayerRefused, unpackLayer } from './unpack/unpack';

export interface LayerCaps {
  maxLayerBytes: number;
  maxCompressionRatio: number;
  allowDeviceNodes: boolean;
}

export interface LayerSource {
  /** What the layer is called in messages: `docker.io/library/busybox layer sha256:…`. */
  what: string;
  /** Compressed blob digest and size when known (registry pulls, OCI layouts). */
  digest?: string;
  size?: number;
  mediaType?: string;
  diffId: string;
  chainId: string;
}

/** Below this many output bytes the ratio cap is not applied: tiny tars compress absurdly well. */
const RATIO_FLOOR_BYTES = 1024 * 1024;

/**
 * Streams one layer blob through digest check, decompression (with size and ratio caps), diff id
 * check and the unpacker, into a staging dir; commits it into the layer store only when every
 * check passed. On any failure the staging dir is removed and nothing becomes visible.
 */
export async function ingestLayer(
  layers: LayerStore,
  caps: LayerCaps,
  source: LayerSource,
  stream: Readable,
  onBytes: (delta: number) => void,
): Promise<void> {
  if (source.size !== undefined && source.size > caps.maxLayerBytes) {
    stream.destroy();
    throw failedPrecondition(`${source.what} is ${source.size} bytes, over image.max_layer_bytes (${caps.maxLayerBytes})`);
  }
  const stage = await layers.stage(source.chainId);
  try {
    let reported = 0;
    const raw = new Meter({
      hash: true,
      check: (bytes) => {
        onBytes(bytes - reported);
        reported = bytes;
        if (source.size !== undefined && bytes > source.size) return new ContentError(`${source.what} is longer than its descriptor's ${source.size} bytes`);
        return undefined;
      },
    });
    const compression = await detectCompression(stream, source.mediaType);
    const unpacked = new Meter({
      hash: true,
      check: (bytes) => {
        if (bytes > caps.maxLayerBytes) return new ContentError(`${source.what} unpacks to more than image.max_layer_bytes (${caps.maxLayerBytes})`);
        if (compression !== 'none' && bytes > RATIO_FLOOR_BYTES && bytes > raw.bytes * caps.maxCompressionRatio) {
          return new ContentError(`${source.what} expands more than image.max_compression_ratio (${caps.maxCompressionRatio}:1): refusing a likely decompression bomb`);
        }
        return undefined;
      },
    });
    const feeding = pipeline(stream, raw, decompressor(compression), unpacked);
    const unpacking = unpackLayer(unpacked, join(stage, 'fs'), { allowDeviceNodes: caps.allowDeviceNodes });
    const [fed, result] = await Promise.allSettled([feeding, unpacking]);
    // the first cause wins: a refused entry or a refused stream, not the premature close it
    // caused on the other side
    if (result.status === 'rejected' && result.reason instanceof LayerRefused) throw result.reason;
    if (fed.status === 'rejected') throw fed.reason;
    if (result.status === 'rejected') throw result.reason;
    if (source.size !== undefined && raw.bytes !== source.size) {
      throw new ContentError(`${source.what} is ${raw.bytes} bytes, its descriptor says ${source.size}`);
    }
    const digest = raw.digest();
    if (source.digest !== undefined && digest !== source.digest) {
      throw new ContentError(`${source.what} failed verification: content digest is ${digest}`);
    }
    const diffId = unpacked.digest();
    if (diffId !== source.diffId) {
      throw new ContentError(`${source.what} failed verification: uncompressed digest is ${diffId}, the image config says ${source.diffId}`);
    }
    await layers.commit(stage, { chainId: source.chainId, diffId, fileBytes: result.value.fileBytes, entries: result.value.entries });
  } catch (err) {
    stream.destroy();
    await fsp.rm(stage, { recursive: true, force: true });
    if (err instanceof ContentError) throw failedPrecondition(err.message);
    if (err instanceof LayerRefused) throw failedPrecondition(`${source.what}: ${err.message}`);
    if (err instanceof CriError) throw err;
    throw err;
  }
}

/** A refusal of the content itself (not worth a retry). */
export class ContentError extends Error {}

async function detectCompression(stream: Readable, mediaType: string | undefined): Promise<Compression> {
  const fromType = mediaType ? compressionFromMediaType(mediaType) : undefined;
  if (fromType) return fromType;
  const head = await new Promise<Buffer>((resolve, reject) => {
    const onReadable = () => {
      const chunk = stream.read() as Buffer | null;
      if (chunk === null) return;
      cleanup();
      stream.unshift(chunk);
      resolve(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.alloc(0));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    stream.on('readable', onReadable);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
  return compressionFromMagic(head);
}

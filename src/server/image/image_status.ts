import type { ImageStatusRequest, ImageStatusResponse } from '../../gen/runtime/v1/api';
import type { ImageManager } from '../../image/manager';
import type { UnaryHandler } from '../handler';
import { imageName, toCriImage } from './convert';

/** An absent image is an empty answer, not an error; `verbose` adds the OCI config as JSON. */
export const imageStatus =
  (images: ImageManager): UnaryHandler<ImageStatusRequest, ImageStatusResponse> =>
  async (req) => {
    const record = await images.find(imageName(req.image, 'ImageStatus'));
    if (!record) return { image: undefined, info: {} };
    const info: Record<string, string> = {};
    if (req.verbose) {
      info.info = JSON.stringify({
        imageSpec: await images.imageConfig(record),
        manifestDigest: record.manifestDigest,
        chainIds: record.layers.map((l) => l.chainId),
      });
    }
    return { image: toCriImage(record), info };
  };

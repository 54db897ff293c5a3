import type { ImageFilter, ListImagesRequest, ListImagesResponse } from '../../gen/runtime/v1/api';
import type { ImageManager, ImageRecord } from '../../image/manager';
import type { UnaryHandler } from '../handler';
import { toCriImage } from './convert';

/** The filter's image (id, tag, digest or short name) narrows the list to that one image. */
export async function filteredImages(images: ImageManager, filter: ImageFilter | undefined): Promise<ImageRecord[]> {
  const name = filter?.image?.image ?? '';
  if (name === '') return images.list();
  const record = await images.find(name);
  return record ? [record] : [];
}

export const listImages =
  (images: ImageManager): UnaryHandler<ListImagesRequest, ListImagesResponse> =>
  async (req) => ({ images: (await filteredImages(images, req.filter)).map(toCriImage) });

import type { StreamImagesRequest, StreamImagesResponse } from '../../gen/runtime/v1/api';
import type { ImageManager } from '../../image/manager';
import type { StreamHandler } from '../handler';
import { toCriImage } from './convert';
import { filteredImages } from './list_images';

const IMAGES_PER_MESSAGE = 100;

export const streamImages =
  (images: ImageManager): StreamHandler<StreamImagesRequest, StreamImagesResponse> =>
  async (req, send) => {
    const all = (await filteredImages(images, req.filter)).map(toCriImage);
    for (let i = 0; i < all.length; i += IMAGES_PER_MESSAGE) send({ images: all.slice(i, i + IMAGES_PER_MESSAGE) });
  };

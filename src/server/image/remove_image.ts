import type { RemoveImageRequest, RemoveImageResponse } from '../../gen/runtime/v1/api';
import type { ImageManager } from '../../image/manager';
import type { UnaryHandler } from '../handler';
import { imageName } from './convert';

/** By id, tag or digest; removes every tag of the image; a missing image is success. */
export const removeImage =
  (images: ImageManager): UnaryHandler<RemoveImageRequest, RemoveImageResponse> =>
  async (req) => {
    await images.remove(imageName(req.image, 'RemoveImage'));
    return {};
  };

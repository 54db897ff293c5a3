import type { PullImageRequest, PullImageResponse } from '../../gen/runtime/v1/api';
import type { ImageManager } from '../../image/manager';
import { credentialsFromAuthConfig } from '../../image/registry/auth';
import type { UnaryHandler } from '../handler';
import { imageName } from './convert';

export const pullImage =
  (images: ImageManager): UnaryHandler<PullImageRequest, PullImageResponse> =>
  async (req, ctx) => {
    const record = await images.pull(imageName(req.image, 'PullImage'), credentialsFromAuthConfig(req.auth), ctx.signal);
    return { imageRef: record.id };
  };

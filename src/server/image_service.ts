import { join } from 'node:path';
import type { ImageServiceServer } from '../gen/runtime/v1/api';
import { diskUsage } from '../image/disk_usage';
import type { FsUsage, ImageManager } from '../image/manager';
import type { Handlers } from './handler';
import { imageFsInfo } from './image/image_fs_info';
import { imageStatus } from './image/image_status';
import { listImages } from './image/list_images';
import { pullImage } from './image/pull_image';
import { removeImage } from './image/remove_image';
import { streamImages } from './image/stream_images';

export interface ImageServiceOptions {
  /**
   * Usage of the containers' writable layers for ImageFsInfo.container_filesystems; by default
   * a walk of `<root>/containers` (where the container part keeps upper/work dirs).
   */
  containerFilesystems?: () => Promise<FsUsage>;
}

/** The CRI ImageService: one adapter per RPC under ./image/. */
export function imageHandlers(images: ImageManager, options: ImageServiceOptions = {}): Handlers<ImageServiceServer> {
  const containerFilesystems =
    options.containerFilesystems ??
    (async () => {
      const dir = join(images.stateRoot, 'containers');
      const { bytes, inodes } = await diskUsage(dir);
      return { mountpoint: dir, usedBytes: bytes, inodesUsed: inodes, timestampNs: BigInt(Date.now()) * 1_000_000n };
    });
  return {
    pullImage: pullImage(images),
    imageStatus: imageStatus(images),
    listImages: listImages(images),
    streamImages: streamImages(images),
    removeImage: removeImage(images),
    imageFsInfo: imageFsInfo(images, containerFilesystems),
  };
}

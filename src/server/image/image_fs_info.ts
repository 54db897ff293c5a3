import type { FilesystemUsage, ImageFsInfoRequest, ImageFsInfoResponse } from '../../gen/runtime/v1/api';
import type { FsUsage, ImageManager } from '../../image/manager';
import type { UnaryHandler } from '../handler';

export function toCriUsage(u: FsUsage): FilesystemUsage {
  return {
    timestamp: u.timestampNs,
    fsId: { mountpoint: u.mountpoint },
    usedBytes: { value: BigInt(u.usedBytes) },
    inodesUsed: { value: BigInt(u.inodesUsed) },
  };
}

export const imageFsInfo =
  (images: ImageManager, containerFilesystems: () => Promise<FsUsage>): UnaryHandler<ImageFsInfoRequest, ImageFsInfoResponse> =>
  async () => ({
    imageFilesystems: [toCriUsage(await images.fsUsage())],
    containerFilesystems: [toCriUsage(await containerFilesystems())],
  });

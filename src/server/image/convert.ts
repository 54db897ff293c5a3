import { invalidArgument } from '../../errors';
import type { Image } from '../../gen/runtime/v1/api';
import type { ImageRecord } from '../../image/manager';

export function toCriImage(r: ImageRecord): Image {
  return {
    id: r.id,
    repoTags: r.repoTags,
    repoDigests: r.repoDigests,
    size: BigInt(r.size),
    uid: r.uid !== undefined ? { value: BigInt(r.uid) } : undefined,
    username: r.username ?? '',
    spec: { image: r.id, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: r.id },
    pinned: r.pinned,
  };
}

/** The image named by a request's ImageSpec; an empty name is InvalidArgument naming the RPC. */
export function imageName(spec: { image: string } | undefined, rpc: string): string {
  const name = spec?.image ?? '';
  if (name === '') throw invalidArgument(`${rpc}: image.image is empty`);
  return name;
}

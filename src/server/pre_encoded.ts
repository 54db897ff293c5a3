/**
 * A response already in its wire form. List answers are what kubelet asks for every second; most
 * of their items do not change between calls, so their encodings are kept and only concatenated
 * (ts-proto's writer costs microseconds per nested message, which at 100 items outweighs the
 * whole rest of the call). grpc.ts sends these bytes as they are.
 */
export class PreEncoded<T> {
  /** Never set: ties the bytes to the message type they encode, for the handler's signature. */
  declare private readonly message?: T;
  constructor(readonly bytes: Uint8Array) {}
}

/** Encodes unsigned `n` as a protobuf varint into `out` at `at`; returns the next offset. */
function putVarint(out: Uint8Array, at: number, n: number): number {
  while (n > 0x7f) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

function varintLength(n: number): number {
  let len = 1;
  while (n > 0x7f) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/**
 * The wire form of a message whose only set field is the repeated message field `fieldNumber`,
 * holding `items` (each an encoded message): tag, length and bytes per item.
 */
export function repeatedMessageField<T>(fieldNumber: number, items: readonly Uint8Array[]): PreEncoded<T> {
  const tag = (fieldNumber << 3) | 2;
  let size = 0;
  for (const item of items) size += varintLength(tag) + varintLength(item.length) + item.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const item of items) {
    at = putVarint(out, at, tag);
    at = putVarint(out, at, item.length);
    out.set(item, at);
    at += item.length;
  }
  return new PreEncoded<T>(out);
}

/**
 * Per-object encodings, reused while the object's `version` (whatever part of it can change)
 * stays the same. Keyed weakly: an object dropped by its owner drops its encoding.
 */
export class EncodingCache<K extends object, V> {
  private readonly cache = new WeakMap<K, { version: V; bytes: Uint8Array }>();

  constructor(
    private readonly version: (key: K) => V,
    private readonly encode: (key: K) => Uint8Array,
  ) {}

  get(key: K): Uint8Array {
    const version = this.version(key);
    const hit = this.cache.get(key);
    if (hit && hit.version === version) return hit.bytes;
    const bytes = this.encode(key);
    this.cache.set(key, { version, bytes });
    return bytes;
  }
}

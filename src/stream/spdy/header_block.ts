import { createInflate, constants as zc, type Inflate } from 'node:zlib';
import { HEADER_DICTIONARY, adler32 } from './dictionary';
import { SpdyProtocolError } from './frames';

/**
 * SPDY/3 header blocks: a 32-bit pair count, then for each pair a 32-bit length and the name, a
 * 32-bit length and the value (several values of one name are joined by NUL). Names are lower
 * case. On the wire each block is a piece of one zlib stream per direction per connection, primed
 * with the SPDY dictionary and cut with a sync flush.
 */
export type SpdyHeaders = Map<string, string[]>;

export function packHeaders(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  parts.push(u32(headers.size));
  for (const [name, values] of headers) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(values.join('\0'), 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function unpackHeaders(block: Buffer): SpdyHeaders {
  const headers: SpdyHeaders = new Map();
  let off = 0;
  const u32 = (): number => {
    if (off + 4 > block.length) throw new SpdyProtocolError('truncated header block');
    const n = block.readUInt32BE(off);
    off += 4;
    return n;
  };
  const bytes = (n: number): string => {
    if (off + n > block.length) throw new SpdyProtocolError('truncated header block');
    const s = block.toString('utf8', off, off + n);
    off += n;
    return s;
  };
  const count = u32();
  for (let i = 0; i < count; i++) {
    const name = bytes(u32());
    if (name === '' || name !== name.toLowerCase()) throw new SpdyProtocolError(`invalid header name "${name}"`);
    const values = bytes(u32()).split('\0');
    if (headers.has(name)) throw new SpdyProtocolError(`duplicate header "${name}"`);
    headers.set(name, values);
  }
  return headers;
}

/**
 * The sending half of header compression. Header blocks are emitted as stored (uncompressed)
 * deflate blocks inside a zlib stream that names the SPDY dictionary: every inflater accepts
 * them, each header block ends with the same empty stored block a sync flush writes, and encoding stays
 * synchronous so frames keep their order without a queue. The blocks here are a few dozen bytes;
 * compressing them would save nothing worth the asynchrony.
 */
export class HeaderDeflater {
  private started = false;

  deflate(raw: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.started) {
      this.started = true;
      // CMF 0x78: deflate, 32 KiB window. FLG 0xBB: FDICT set, check bits making the pair % 31 == 0.
      const head = Buffer.alloc(6);
      head[0] = 0x78;
      head[1] = 0xbb;
      head.writeUInt32BE(adler32(HEADER_DICTIONARY), 2);
      parts.push(head);
    }
    for (let off = 0; off < raw.length; off += 0xffff) parts.push(storedBlock(raw.subarray(off, off + 0xffff)));
    // An empty stored block ends every header block, as a zlib sync flush does: inflaters (Go's
    // among them) hand out the data before it only when they reach that marker.
    parts.push(storedBlock(Buffer.alloc(0)));
    return Buffer.concat(parts);
  }
}

/** A non-final stored deflate block: header byte (BFINAL 0, BTYPE 00, padding), LEN, NLEN, data. */
function storedBlock(data: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h.writeUInt16LE(data.length, 1);
  h.writeUInt16LE(~data.length & 0xffff, 3);
  return Buffer.concat([h, data]);
}

/**
 * The receiving half: one zlib inflater for the connection's whole life, fed one header block at
 * a time with a sync flush. Node's zlib is asynchronous, so callers must await each block before
 * handling later frames (the connection keeps frames in order). The inflater runs in flowing mode
 * so that a large block can never stall it on backpressure; output past the limit breaks it.
 */
export class HeaderInflater {
  private readonly inflater: Inflate;
  private broken: Error | undefined;
  private current: Buffer[] = [];
  private currentBytes = 0;

  constructor(private readonly maxBlockBytes = 256 * 1024) {
    this.inflater = createInflate({ dictionary: HEADER_DICTIONARY });
    this.inflater.on('error', (err: Error) => {
      this.broken ??= err;
    });
    this.inflater.on('data', (chunk: Buffer) => {
      this.currentBytes += chunk.length;
      if (this.currentBytes > this.maxBlockBytes) {
        this.broken ??= new Error(`header block larger than ${this.maxBlockBytes} bytes`);
        return;
      }
      this.current.push(chunk);
    });
  }

  inflate(block: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const fail = (): void => reject(new SpdyProtocolError(`header decompression: ${this.broken?.message ?? 'failed'}`));
      if (this.broken) return fail();
      this.current = [];
      this.currentBytes = 0;
      this.inflater.write(block);
      this.inflater.flush(zc.Z_SYNC_FLUSH, () => {
        // Output that was buffered rather than emitted goes out on the next ticks: collect it too.
        setImmediate(() => {
          if (this.broken) return fail();
          resolve(Buffer.concat(this.current, this.currentBytes));
        });
      });
    });
  }

  close(): void {
    this.inflater.destroy();
  }
}

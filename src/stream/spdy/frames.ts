/**
 * SPDY/3 frames (the framing layer of SPDY/3.1, which Kubernetes' streaming protocols ride on):
 * encoding to bytes and an incremental parser. Header blocks stay compressed here; header_block.ts
 * packs and unpacks them.
 *
 * Every frame starts with 8 bytes. Control frames: a set top bit, 15-bit version (3), 16-bit type,
 * 8-bit flags, 24-bit length. Data frames: a clear top bit, 31-bit stream id, 8-bit flags, 24-bit
 * length.
 */
export const SPDY_VERSION = 3;

export enum ControlType {
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
}

/** FIN on data, SYN_STREAM, SYN_REPLY and HEADERS frames: the sender's half of the stream ends. */
export const FLAG_FIN = 0x01;
/** On SYN_STREAM: the receiver must not send on this stream. */
export const FLAG_UNIDIRECTIONAL = 0x02;

export enum RstStatus {
  ProtocolError = 1,
  InvalidStream = 2,
  RefusedStream = 3,
  UnsupportedVersion = 4,
  Cancel = 5,
  InternalError = 6,
  FlowControlError = 7,
  StreamInUse = 8,
  StreamAlreadyClosed = 9,
  FrameTooLarge = 11,
}

export enum GoAwayStatus {
  Ok = 0,
  ProtocolError = 1,
  InternalError = 2,
}

/** The largest length the 24-bit field can carry. */
export const MAX_FRAME_LENGTH = 0xffffff;
const HEADER = 8;
const STREAM_ID_MASK = 0x7fffffff;

export type Frame =
  | { kind: 'data'; streamId: number; flags: number; data: Buffer }
  | { kind: 'synStream'; streamId: number; associatedId: number; priority: number; flags: number; headerBlock: Buffer }
  | { kind: 'synReply'; streamId: number; flags: number; headerBlock: Buffer }
  | { kind: 'headers'; streamId: number; flags: number; headerBlock: Buffer }
  | { kind: 'rstStream'; streamId: number; status: number }
  | { kind: 'settings'; flags: number; entries: Array<{ flags: number; id: number; value: number }> }
  | { kind: 'ping'; id: number }
  | { kind: 'goAway'; lastGoodStreamId: number; status: number }
  | { kind: 'windowUpdate'; streamId: number; delta: number }
  /** A control frame of a type this implementation does not know: the spec says ignore it. */
  | { kind: 'unknown'; type: number };

export class SpdyProtocolError extends Error {
  constructor(message: string) {
    super(`SPDY protocol error: ${message}`);
  }
}

function controlFrame(type: ControlType, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_LENGTH) throw new SpdyProtocolError(`control frame of ${payload.length} bytes is too large`);
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  out.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  out.writeUInt16BE(type, 2);
  out.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  payload.copy(out, HEADER);
  return out;
}

export function encodeData(streamId: number, flags: number, data: Buffer): Buffer {
  if (data.length > MAX_FRAME_LENGTH) throw new SpdyProtocolError(`data frame of ${data.length} bytes is too large`);
  const out = Buffer.allocUnsafe(HEADER + data.length);
  out.writeUInt32BE(streamId & STREAM_ID_MASK, 0);
  out.writeUInt32BE(((flags & 0xff) << 24) | data.length, 4);
  data.copy(out, HEADER);
  return out;
}

export function encodeSynStream(streamId: number, flags: number, priority: number, headerBlock: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt32BE(streamId & STREAM_ID_MASK, 0);
  fixed.writeUInt32BE(0, 4); // no associated stream
  fixed.writeUInt8((priority & 0x7) << 5, 8);
  return controlFrame(ControlType.SynStream, flags, Buffer.concat([fixed, headerBlock]));
}

export function encodeSynReply(streamId: number, flags: number, headerBlock: Buffer): Buffer {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(streamId & STREAM_ID_MASK);
  return controlFrame(ControlType.SynReply, flags, Buffer.concat([id, headerBlock]));
}

export function encodeRstStream(streamId: number, status: RstStatus): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(streamId & STREAM_ID_MASK, 0);
  p.writeUInt32BE(status, 4);
  return controlFrame(ControlType.RstStream, 0, p);
}

export function encodePing(id: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(id >>> 0);
  return controlFrame(ControlType.Ping, 0, p);
}

export function encodeGoAway(lastGoodStreamId: number, status: GoAwayStatus): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(lastGoodStreamId & STREAM_ID_MASK, 0);
  p.writeUInt32BE(status, 4);
  return controlFrame(ControlType.GoAway, 0, p);
}

export function encodeWindowUpdate(streamId: number, delta: number): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(streamId & STREAM_ID_MASK, 0);
  p.writeUInt32BE(delta & STREAM_ID_MASK, 4);
  return controlFrame(ControlType.WindowUpdate, 0, p);
}

function need(payload: Buffer, n: number, what: string): void {
  if (payload.length < n) throw new SpdyProtocolError(`${what} frame of ${payload.length} bytes, at least ${n} expected`);
}

function decodeControl(type: number, flags: number, p: Buffer): Frame {
  switch (type) {
    case ControlType.SynStream:
      need(p, 10, 'SYN_STREAM');
      return {
        kind: 'synStream',
        streamId: p.readUInt32BE(0) & STREAM_ID_MASK,
        associatedId: p.readUInt32BE(4) & STREAM_ID_MASK,
        priority: p.readUInt8(8) >> 5,
        flags,
        headerBlock: p.subarray(10),
      };
    case ControlType.SynReply:
      need(p, 4, 'SYN_REPLY');
      return { kind: 'synReply', streamId: p.readUInt32BE(0) & STREAM_ID_MASK, flags, headerBlock: p.subarray(4) };
    case ControlType.Headers:
      need(p, 4, 'HEADERS');
      return { kind: 'headers', streamId: p.readUInt32BE(0) & STREAM_ID_MASK, flags, headerBlock: p.subarray(4) };
    case ControlType.RstStream:
      need(p, 8, 'RST_STREAM');
      return { kind: 'rstStream', streamId: p.readUInt32BE(0) & STREAM_ID_MASK, status: p.readUInt32BE(4) };
    case ControlType.Settings: {
      need(p, 4, 'SETTINGS');
      const count = p.readUInt32BE(0);
      need(p, 4 + count * 8, 'SETTINGS');
      const entries: Array<{ flags: number; id: number; value: number }> = [];
      for (let i = 0; i < count; i++) {
        const head = p.readUInt32BE(4 + i * 8);
        entries.push({ flags: head >>> 24, id: head & 0xffffff, value: p.readUInt32BE(8 + i * 8) });
      }
      return { kind: 'settings', flags, entries };
    }
    case ControlType.Ping:
      need(p, 4, 'PING');
      return { kind: 'ping', id: p.readUInt32BE(0) };
    case ControlType.GoAway:
      need(p, 4, 'GOAWAY');
      return { kind: 'goAway', lastGoodStreamId: p.readUInt32BE(0) & STREAM_ID_MASK, status: p.length >= 8 ? p.readUInt32BE(4) : 0 };
    case ControlType.WindowUpdate:
      need(p, 8, 'WINDOW_UPDATE');
      return { kind: 'windowUpdate', streamId: p.readUInt32BE(0) & STREAM_ID_MASK, delta: p.readUInt32BE(4) & STREAM_ID_MASK };
    default:
      return { kind: 'unknown', type };
  }
}

/**
 * Turns a byte stream into frames. Bytes are appended with push(); complete frames come out of
 * the returned array in order. Frames longer than `maxFrameLength` are a protocol error (the
 * whole frame would otherwise be buffered).
 */
export class FrameParser {
  private buffered: Buffer[] = [];
  private bufferedLength = 0;

  constructor(private readonly maxFrameLength = MAX_FRAME_LENGTH) {}

  push(chunk: Buffer): Frame[] {
    this.buffered.push(chunk);
    this.bufferedLength += chunk.length;
    const frames: Frame[] = [];
    let buf = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered, this.bufferedLength);
    let off = 0;
    while (buf.length - off >= HEADER) {
      const word0 = buf.readUInt32BE(off);
      const word1 = buf.readUInt32BE(off + 4);
      const flags = word1 >>> 24;
      const length = word1 & 0xffffff;
      if (length > this.maxFrameLength) throw new SpdyProtocolError(`frame of ${length} bytes exceeds the limit of ${this.maxFrameLength}`);
      if (buf.length - off < HEADER + length) break;
      // Copy the payload out so that a frame never pins the whole read buffer.
      const payload = Buffer.from(buf.subarray(off + HEADER, off + HEADER + length));
      off += HEADER + length;
      if ((word0 & 0x80000000) === 0) {
        frames.push({ kind: 'data', streamId: word0 & STREAM_ID_MASK, flags, data: payload });
        continue;
      }
      const version = (word0 >>> 16) & 0x7fff;
      if (version !== SPDY_VERSION) throw new SpdyProtocolError(`control frame of version ${version}, only ${SPDY_VERSION} is spoken`);
      frames.push(decodeControl(word0 & 0xffff, flags, payload));
    }
    buf = buf.subarray(off);
    this.buffered = buf.length > 0 ? [buf] : [];
    this.bufferedLength = buf.length;
    return frames;
  }
}

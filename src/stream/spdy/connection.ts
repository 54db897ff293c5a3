import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import {
  FLAG_FIN,
  FLAG_UNIDIRECTIONAL,
  FrameParser,
  GoAwayStatus,
  RstStatus,
  SpdyProtocolError,
  encodeData,
  encodeGoAway,
  encodePing,
  encodeRstStream,
  encodeSynReply,
  encodeSynStream,
  encodeWindowUpdate,
  type Frame,
} from './frames';
import { HeaderDeflater, HeaderInflater, packHeaders, unpackHeaders, type SpdyHeaders } from './header_block';

/** Data frames are cut to this size so one large write cannot hold the socket for long. */
const MAX_DATA_FRAME = 64 * 1024;
/** SPDY/3's default initial window; a receiver returns credit as it consumes data. */
const DEFAULT_WINDOW = 64 * 1024;

export interface SpdyConnectionOptions {
  /** Servers accept streams (even ids are theirs), clients open them (odd ids). The idle
   *  timeout is the transport's business (the server times out the socket). */
  isServer: boolean;
}

/**
 * One SPDY/3.1 session over an upgraded HTTP connection (or any duplex byte stream): streams,
 * their half-closes and resets, pings and the goaway. Incoming frames are handled strictly in
 * order; header blocks are inflated asynchronously, so later frames wait for them.
 *
 * Flow control: received data is credited back with WINDOW_UPDATE as the reader consumes it, so
 * peers that honour windows never stall. Windows are not enforced on what this side sends: the
 * Kubernetes peers (Go's spdystream) neither send WINDOW_UPDATE nor expect it to matter, and
 * enforcing a window would stall them after 64 KiB. Backpressure comes from the socket instead.
 *
 * Events: 'stream' (server: a new SpdyStream; call accept() or refuse()), 'goaway',
 * 'protocolError', 'close'.
 */
export class SpdyConnection extends EventEmitter {
  private readonly streams = new Map<number, SpdyStream>();
  private readonly parser = new FrameParser();
  private readonly deflater = new HeaderDeflater();
  private readonly inflater = new HeaderInflater();
  private readonly pendingReplies = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private readonly pendingPings = new Map<number, () => void>();
  private readonly pausedBy = new Set<SpdyStream>();
  private queue: Promise<void> = Promise.resolve();
  private nextStreamId: number;
  private nextPingId: number;
  private lastPeerStreamId = 0;
  private goneAway = false;
  private peerGoneAway = false;
  private closed = false;

  constructor(
    private readonly socket: Duplex,
    private readonly opts: SpdyConnectionOptions,
  ) {
    super();
    this.nextStreamId = opts.isServer ? 2 : 1;
    this.nextPingId = opts.isServer ? 2 : 1;
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    // Frames already read are handled before the end of the socket is.
    const afterQueued = (): void => {
      this.queue = this.queue.then(() => this.destroy());
    };
    socket.on('end', afterQueued);
    socket.on('close', afterQueued);
    socket.on('error', () => this.destroy());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Feeds bytes that arrived before the connection was built (the upgrade's leftover head). */
  feed(head: Buffer): void {
    if (head.length > 0) this.onBytes(head);
  }

  /** Client side: opens a stream with these headers; resolves once the peer's SYN_REPLY arrives. */
  async openStream(headers: Record<string, string | string[]>, opts: { fin?: boolean } = {}): Promise<SpdyStream> {
    if (this.closed || this.goneAway || this.peerGoneAway) throw new Error('SPDY connection is closing: no new streams');
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const map: SpdyHeaders = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v : [v]]));
    const stream = new SpdyStream(this, id, map, { localClosed: opts.fin === true, remoteClosed: false, needsReply: false });
    this.streams.set(id, stream);
    const replied = new Promise<void>((resolve, reject) => this.pendingReplies.set(id, { resolve, reject }));
    this.write(encodeSynStream(id, opts.fin ? FLAG_FIN : 0, 0, this.deflater.deflate(packHeaders(map))));
    await replied;
    return stream;
  }

  /** Round trip of a PING frame. */
  ping(): Promise<void> {
    const id = this.nextPingId;
    this.nextPingId += 2;
    return new Promise((resolve) => {
      this.pendingPings.set(id, resolve);
      this.write(encodePing(id));
    });
  }

  /** Says goodbye (GOAWAY), lets queued bytes drain and ends the socket; open streams end with it. */
  close(): void {
    if (this.closed) return;
    if (!this.goneAway) {
      this.goneAway = true;
      this.write(encodeGoAway(this.lastPeerStreamId, GoAwayStatus.Ok));
    }
    this.socket.end();
    this.teardown();
  }

  /** Cuts the connection at once. */
  destroy(): void {
    if (this.closed) return;
    this.socket.destroy();
    this.teardown();
  }

  private teardown(): void {
    this.closed = true;
    this.inflater.close();
    for (const p of this.pendingReplies.values()) p.reject(new Error('SPDY connection closed before the stream was answered'));
    this.pendingReplies.clear();
    for (const s of [...this.streams.values()]) s.onConnectionClosed();
    this.streams.clear();
    this.emit('close');
  }

  // --- used by SpdyStream

  /** Queues bytes on the socket; returns false when the socket asks the writer to wait for 'drain'. */
  write(frame: Buffer): boolean {
    if (this.closed) return true;
    return this.socket.write(frame);
  }

  sendData(id: number, data: Buffer, fin: boolean, done: (err?: Error | null) => void): void {
    if (this.closed) return done(new Error(`SPDY stream ${id}: connection closed`));
    let ok = true;
    for (let off = 0; off < data.length; off += MAX_DATA_FRAME) {
      const piece = data.subarray(off, off + MAX_DATA_FRAME);
      const last = off + MAX_DATA_FRAME >= data.length;
      ok = this.write(encodeData(id, fin && last ? FLAG_FIN : 0, piece));
    }
    if (data.length === 0) ok = this.write(encodeData(id, fin ? FLAG_FIN : 0, data));
    if (ok) return done();
    const onDrain = (): void => {
      this.socket.off('close', onDrain);
      done();
    };
    this.socket.once('drain', onDrain);
    this.socket.once('close', onDrain);
  }

  sendReply(id: number, fin: boolean): void {
    this.write(encodeSynReply(id, fin ? FLAG_FIN : 0, this.deflater.deflate(packHeaders(new Map()))));
  }

  sendReset(id: number, status: RstStatus): void {
    this.write(encodeRstStream(id, status));
  }

  credit(id: number, bytes: number): void {
    if (bytes > 0) this.write(encodeWindowUpdate(id, bytes));
  }

  forget(stream: SpdyStream): void {
    if (this.streams.get(stream.id) === stream) this.streams.delete(stream.id);
    this.unpause(stream);
  }

  pause(stream: SpdyStream): void {
    this.pausedBy.add(stream);
    this.socket.pause();
  }

  unpause(stream: SpdyStream): void {
    if (!this.pausedBy.delete(stream)) return;
    if (this.pausedBy.size === 0 && !this.closed) this.socket.resume();
  }

  // --- reading

  private onBytes(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Frame[];
    try {
      frames = this.parser.push(chunk);
    } catch (err) {
      this.protocolError(err);
      return;
    }
    for (const frame of frames) {
      this.queue = this.queue.then(() => (this.closed ? undefined : this.handle(frame))).catch((err: unknown) => this.protocolError(err));
    }
  }

  private protocolError(err: unknown): void {
    if (this.closed) return;
    this.emit('protocolError', err);
    if (!this.goneAway) {
      this.goneAway = true;
      this.write(encodeGoAway(this.lastPeerStreamId, err instanceof SpdyProtocolError ? GoAwayStatus.ProtocolError : GoAwayStatus.InternalError));
    }
    this.socket.end();
    this.teardown();
  }

  private async handle(frame: Frame): Promise<void> {
    switch (frame.kind) {
      case 'data': {
        const stream = this.streams.get(frame.streamId);
        if (!stream) {
          this.sendReset(frame.streamId, RstStatus.InvalidStream);
          return;
        }
        stream.onData(frame.data, (frame.flags & FLAG_FIN) !== 0);
        return;
      }
      case 'synStream': {
        const headers = unpackHeaders(await this.inflater.inflate(frame.headerBlock));
        const peerParity = this.opts.isServer ? 1 : 0;
        if (frame.streamId === 0 || frame.streamId % 2 !== peerParity || frame.streamId <= this.lastPeerStreamId) {
          throw new SpdyProtocolError(`SYN_STREAM with invalid stream id ${frame.streamId}`);
        }
        this.lastPeerStreamId = frame.streamId;
        if (!this.opts.isServer || this.goneAway || this.listenerCount('stream') === 0) {
          this.sendReset(frame.streamId, RstStatus.RefusedStream);
          return;
        }
        const stream = new SpdyStream(this, frame.streamId, headers, {
          localClosed: (frame.flags & FLAG_UNIDIRECTIONAL) !== 0,
          remoteClosed: (frame.flags & FLAG_FIN) !== 0,
          needsReply: true,
        });
        this.streams.set(frame.streamId, stream);
        this.emit('stream', stream);
        return;
      }
      case 'synReply': {
        await this.inflater.inflate(frame.headerBlock);
        const pending = this.pendingReplies.get(frame.streamId);
        this.pendingReplies.delete(frame.streamId);
        pending?.resolve();
        if ((frame.flags & FLAG_FIN) !== 0) this.streams.get(frame.streamId)?.onData(Buffer.alloc(0), true);
        return;
      }
      case 'headers': {
        await this.inflater.inflate(frame.headerBlock);
        if ((frame.flags & FLAG_FIN) !== 0) this.streams.get(frame.streamId)?.onData(Buffer.alloc(0), true);
        return;
      }
      case 'rstStream': {
        const pending = this.pendingReplies.get(frame.streamId);
        this.pendingReplies.delete(frame.streamId);
        pending?.reject(new Error(`SPDY stream ${frame.streamId} refused by the peer (status ${frame.status})`));
        this.streams.get(frame.streamId)?.onReset(frame.status);
        return;
      }
      case 'ping': {
        const mine = frame.id % 2 === (this.opts.isServer ? 0 : 1);
        if (!mine) {
          this.write(encodePing(frame.id));
          return;
        }
        const done = this.pendingPings.get(frame.id);
        this.pendingPings.delete(frame.id);
        done?.();
        return;
      }
      case 'goAway':
        this.peerGoneAway = true;
        this.emit('goaway', frame.status);
        return;
      case 'settings':
      case 'windowUpdate':
      case 'unknown':
        return;
    }
  }
}

/**
 * One SPDY stream as a Node duplex: what the peer sends is readable (ending at its FIN), what is
 * written goes out as data frames (end() sends FIN). A reset from either side destroys it; a
 * stream destroyed before both halves closed resets the peer's side with CANCEL.
 */
export class SpdyStream extends Duplex {
  private localClosed: boolean;
  private remoteClosed: boolean;
  private wasReset = false;
  private replied = false;
  private unacked = 0;

  constructor(
    private readonly conn: SpdyConnection,
    readonly id: number,
    readonly headers: SpdyHeaders,
    state: { localClosed: boolean; remoteClosed: boolean; needsReply: boolean },
  ) {
    super({ allowHalfOpen: true });
    this.localClosed = state.localClosed;
    this.remoteClosed = state.remoteClosed;
    this.replied = !state.needsReply;
    if (this.remoteClosed) this.push(null);
    if (this.localClosed) this.end();
  }

  /** The first value of a header, as the peer sent it (names are lower case). */
  header(name: string): string | undefined {
    return this.headers.get(name.toLowerCase())?.[0];
  }

  /** Server side: answers the peer's SYN_STREAM; data may flow afterwards. */
  accept(): void {
    if (this.replied) return;
    this.replied = true;
    this.conn.sendReply(this.id, false);
  }

  /** Server side: refuses the stream with RST_STREAM. */
  refuse(status: RstStatus = RstStatus.RefusedStream): void {
    this.wasReset = true;
    this.conn.sendReset(this.id, status);
    this.destroy();
  }

  /** Abandons both directions (RST_STREAM CANCEL). */
  reset(): void {
    if (this.wasReset || this.destroyed) return;
    this.wasReset = true;
    if (!(this.localClosed && this.remoteClosed)) this.conn.sendReset(this.id, RstStatus.Cancel);
    this.destroy();
  }

  get isReset(): boolean {
    return this.wasReset;
  }

  // --- called by the connection

  onData(data: Buffer, fin: boolean): void {
    if (this.remoteClosed) {
      if (data.length > 0) this.conn.sendReset(this.id, RstStatus.StreamAlreadyClosed);
      return;
    }
    if (data.length > 0) {
      this.unacked += data.length;
      if (!this.push(data)) this.conn.pause(this);
    }
    if (fin) {
      this.remoteClosed = true;
      this.push(null);
      this.maybeDone();
    }
  }

  onReset(_status: number): void {
    this.wasReset = true;
    this.remoteClosed = true;
    this.localClosed = true;
    this.emit('reset');
    this.destroy();
  }

  /** The connection is gone: data already received stays readable, then the stream ends. */
  onConnectionClosed(): void {
    if (!this.remoteClosed) this.push(null);
    this.remoteClosed = true;
    this.localClosed = true;
    if (!this.writableEnded) this.end();
    this.conn.unpause(this);
  }

  // --- Duplex

  override _read(): void {
    if (this.unacked >= DEFAULT_WINDOW / 2) {
      this.conn.credit(this.id, this.unacked);
      this.unacked = 0;
    }
    this.conn.unpause(this);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.localClosed) return cb(new Error(`SPDY stream ${this.id}: write after the stream was closed`));
    this.accept();
    this.conn.sendData(this.id, chunk, false, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.localClosed) return cb();
    this.accept();
    this.localClosed = true;
    this.conn.sendData(this.id, Buffer.alloc(0), true, (err) => {
      this.maybeDone();
      cb(err);
    });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.wasReset && !(this.localClosed && this.remoteClosed) && !this.conn.isClosed) {
      this.wasReset = true;
      this.conn.sendReset(this.id, RstStatus.Cancel);
    }
    this.conn.forget(this);
    cb(err);
  }

  private maybeDone(): void {
    if (this.localClosed && this.remoteClosed) this.conn.forget(this);
  }
}

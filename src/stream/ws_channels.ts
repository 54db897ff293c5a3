import { Writable } from 'node:stream';
import type { WebSocket } from 'ws';

/**
 * Kubernetes' channel framing on WebSocket messages: binary messages carry the channel number in
 * their first byte; the base64 dialects send text messages of an ASCII digit ('0' + channel)
 * followed by the base64 of the data.
 */
export class ChannelCodec {
  constructor(readonly base64: boolean) {}

  encode(channel: number, data: Buffer): Buffer | string {
    if (this.base64) return String.fromCharCode(48 + channel) + data.toString('base64');
    const out = Buffer.allocUnsafe(data.length + 1);
    out[0] = channel;
    data.copy(out, 1);
    return out;
  }

  decode(message: Buffer): { channel: number; data: Buffer } | undefined {
    if (message.length === 0) return undefined;
    if (!this.base64) return { channel: message[0]!, data: message.subarray(1) };
    const channel = message[0]! - 48;
    if (channel < 0 || channel > 9) return undefined;
    return { channel, data: Buffer.from(message.subarray(1).toString('latin1'), 'base64') };
  }
}

/** A Writable whose chunks go out as messages on one channel; callbacks wait for the socket. */
export class ChannelWriter extends Writable {
  constructor(
    private readonly ws: WebSocket,
    private readonly codec: ChannelCodec,
    private readonly channel: number,
  ) {
    super();
    this.on('error', () => undefined);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) return cb(new Error('WebSocket closed'));
    this.ws.send(this.codec.encode(this.channel, chunk), (err) => cb(err ?? null));
  }

  /** Ends the channel (the protocol has no per-channel close from the server) once data is out. */
  endAndWait(): Promise<void> {
    if (this.destroyed || this.writableFinished) return Promise.resolve();
    return new Promise((resolve) => {
      this.once('finish', resolve);
      this.once('close', resolve);
      this.end();
    });
  }
}

/** Closes the WebSocket normally and waits for the closing handshake (cut short after 5 s). */
export function closeSocket(ws: WebSocket, code = 1000): Promise<void> {
  if (ws.readyState === ws.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, 5000);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code);
  });
}

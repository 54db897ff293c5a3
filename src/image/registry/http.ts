import http, { type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * One HTTP exchange with a registry: response headers within `stallMs`, and a body guard that
 * fails the transfer when no byte arrives for `stallMs` while the consumer is waiting for data.
 * A consumer that is slow (backpressure) never trips it: the timer only fires when the guard's
 * own buffers are empty, i.e. when the wait is on the network.
 */
export class TransportError extends Error {
  constructor(
    message: string,
    /** Worth another attempt: resets, stalls, 5xx, 429. */
    readonly transient: boolean,
  ) {
    super(message);
  }
}

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST';
  url: URL;
  headers: OutgoingHttpHeaders;
  body?: string;
  agent: http.Agent | https.Agent;
  stallMs: number;
  signal?: AbortSignal;
}

export function send(req: HttpRequest): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const lib = req.url.protocol === 'https:' ? https : http;
    const outgoing = lib.request(req.url, { method: req.method, headers: req.headers, agent: req.agent, signal: req.signal });
    const timer = setTimeout(() => {
      outgoing.destroy(new TransportError(`no response from ${req.url.host} within ${req.stallMs} ms`, true));
    }, req.stallMs);
    outgoing.on('response', (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    outgoing.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err instanceof TransportError) return reject(err);
      if (err.name === 'AbortError') return reject(err);
      const transient = ['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH'].includes(err.code ?? '');
      reject(new TransportError(`${req.method} ${req.url.origin}${req.url.pathname}: ${err.code ?? err.message}`, transient));
    });
    outgoing.end(req.body);
  });
}

export async function readBody(res: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      res.destroy();
      throw new Error(`${what} is larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export class StallGuard extends Transform {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly stallMs: number,
    private readonly what: string,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.arm();
  }

  private arm(): void {
    // refreshed rather than replaced: this runs for every chunk of every layer
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => this.fire(), this.stallMs);
  }

  private fire(): void {
    if (this.readableLength > 0 || this.writableLength > 0) {
      this.arm(); // waiting on our consumer, not on the network
      return;
    }
    this.destroy(new TransportError(`${this.what}: no data for ${this.stallMs} ms`, true));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.arm();
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    clearTimeout(this.timer);
    done();
  }

  override _destroy(err: Error | null, done: (error?: Error | null) => void): void {
    clearTimeout(this.timer);
    done(err);
  }
}

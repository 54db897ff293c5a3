import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';

/**
 * A client of a shoal-monitor attach socket (native/monitor/README.md): frames of a type byte, a
 * 32-bit big-endian length and the payload. Requests that get a reply (ATTACH, CLOSE_STDIN,
 * RESIZE) are answered in order; output frames come in between.
 *
 * Events: 'stdout' (Buffer), 'stderr' (Buffer), 'exit' (the exit file's JSON), 'close'.
 */
const REQ_ATTACH = 0x01;
const REQ_STDIN = 0x02;
const REQ_CLOSE_STDIN = 0x03;
const REQ_RESIZE = 0x04;
const EV_STDOUT = 0x01;
const EV_STDERR = 0x02;
const EV_EXIT = 0x03;
const EV_OK = 0x10;
const EV_ERROR = 0x11;
const HEADER = 5;
/** The monitor accepts at most this much payload per frame. */
const MAX_STDIN_FRAME = 32 * 1024;

export interface MonitorExit {
  exit_code: number;
  signal: number;
  oom_killed?: boolean;
}

export class MonitorSession extends EventEmitter {
  private buf: Buffer = Buffer.alloc(0);
  private readonly replies: Array<{ resolve: (payload: Buffer) => void; reject: (err: Error) => void }> = [];
  private closed = false;

  private constructor(
    private readonly sock: Socket,
    readonly path: string,
  ) {
    super();
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      this.closed = true;
      for (const r of this.replies.splice(0)) r.reject(new Error(`monitor at ${path} closed the connection`));
      this.emit('close');
    });
  }

  static connect(path: string): Promise<MonitorSession> {
    return new Promise((resolve, reject) => {
      const sock = connect(path);
      sock.once('connect', () => {
        sock.off('error', reject);
        resolve(new MonitorSession(sock, path));
      });
      sock.once('error', (err) => reject(new Error(`connecting to the monitor at ${path}: ${err.message}`)));
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Subscribes to the output; resolves once the monitor said OK. */
  async attach(): Promise<void> {
    await this.request(REQ_ATTACH, Buffer.alloc(0));
  }

  /** Queues bytes for the container's stdin; returns false when the socket wants a 'drain'. */
  writeStdin(data: Buffer): boolean {
    let ok = true;
    for (let off = 0; off < data.length; off += MAX_STDIN_FRAME) ok = this.send(REQ_STDIN, data.subarray(off, off + MAX_STDIN_FRAME));
    return ok;
  }

  waitDrain(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.sock.off('drain', done);
        this.sock.off('close', done);
        resolve();
      };
      this.sock.once('drain', done);
      this.sock.once('close', done);
    });
  }

  async closeStdin(): Promise<void> {
    await this.request(REQ_CLOSE_STDIN, Buffer.alloc(0));
  }

  async resize(rows: number, cols: number): Promise<void> {
    const p = Buffer.alloc(4);
    p.writeUInt16BE(Math.min(rows, 0xffff), 0);
    p.writeUInt16BE(Math.min(cols, 0xffff), 2);
    await this.request(REQ_RESIZE, p);
  }

  /** Stops reading output: the monitor then holds it (exec) or drops it for this client (attach). */
  pauseOutput(): void {
    this.sock.pause();
  }

  resumeOutput(): void {
    this.sock.resume();
  }

  close(): void {
    this.sock.destroy();
  }

  private request(type: number, payload: Buffer): Promise<Buffer> {
    if (this.closed) return Promise.reject(new Error(`monitor at ${this.path}: connection closed`));
    return new Promise((resolve, reject) => {
      this.replies.push({ resolve, reject });
      this.send(type, payload);
    });
  }

  private send(type: number, payload: Buffer): boolean {
    if (this.closed) return true;
    const h = Buffer.alloc(HEADER);
    h[0] = type;
    h.writeUInt32BE(payload.length, 1);
    return this.sock.write(Buffer.concat([h, payload]));
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= HEADER) {
      const len = this.buf.readUInt32BE(1);
      if (this.buf.length < HEADER + len) return;
      const type = this.buf[0];
      const payload = this.buf.subarray(HEADER, HEADER + len);
      this.buf = this.buf.subarray(HEADER + len);
      switch (type) {
        case EV_STDOUT:
          this.emit('stdout', payload);
          break;
        case EV_STDERR:
          this.emit('stderr', payload);
          break;
        case EV_EXIT: {
          let exit: MonitorExit;
          try {
            exit = JSON.parse(payload.toString('utf8')) as MonitorExit;
          } catch {
            exit = { exit_code: -1, signal: 0 };
          }
          this.emit('exit', exit);
          break;
        }
        case EV_OK:
          this.replies.shift()?.resolve(payload);
          break;
        case EV_ERROR:
          this.replies.shift()?.reject(new Error(payload.toString('utf8') || 'the monitor refused the request'));
          break;
        default:
          break;
      }
    }
  }
}

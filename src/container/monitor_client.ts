import { connect } from 'node:net';

/** Frame types of the monitor's attach/control socket (native/monitor/protocol.h). */
export const REQ_REOPEN_LOG = 0x05;
export const REQ_STATUS = 0x06;
const EV_OK = 0x10;
const EV_ERROR = 0x11;
const HEADER = 5;

/**
 * Sends one control request to a container's monitor and returns the reply's payload; an ERROR
 * reply or a closed socket rejects with what the monitor said.
 */
export function monitorRequest(socketPath: string, type: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = Buffer.alloc(0);
    const done = (err: Error | undefined, payload?: string): void => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(payload ?? '');
    };
    const timer = setTimeout(() => done(new Error(`monitor at ${socketPath}: no reply within ${timeoutMs} ms`)), timeoutMs);
    sock.once('error', (err) => done(new Error(`monitor at ${socketPath}: ${err.message}`)));
    sock.once('connect', () => {
      const frame = Buffer.alloc(HEADER);
      frame.writeUInt8(type, 0);
      frame.writeUInt32BE(0, 1);
      sock.write(frame);
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= HEADER) {
        const t = buf.readUInt8(0);
        const len = buf.readUInt32BE(1);
        if (buf.length < HEADER + len) return;
        const payload = buf.subarray(HEADER, HEADER + len).toString('utf8');
        buf = buf.subarray(HEADER + len);
        if (t === EV_OK) return done(undefined, payload);
        if (t === EV_ERROR) return done(new Error(payload || 'the monitor refused the request'));
        // Output frames and the like are not replies: skip them.
      }
    });
    sock.once('end', () => done(new Error(`monitor at ${socketPath} closed the connection without a reply`)));
  });
}

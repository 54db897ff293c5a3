import type { SpdyConnection, SpdyStream } from '../spdy/connection';
import type { RemoteSession } from '../session';
import {
  ResizeDecoder,
  ResizeEvents,
  STREAM_TYPE_HEADER,
  V1,
  errorStreamPayload,
  supportsResize,
  type Outcome,
  type StreamOptions,
  type TerminalSize,
} from './protocol';

export interface OpenSession {
  session: RemoteSession;
  /** Reports the outcome on the error stream and closes the connection. */
  finish(outcome: Outcome): Promise<void>;
}

/**
 * Remote command over SPDY: the client opens one stream per stdio channel it wants, an error
 * stream, and (v3+, tty) a resize stream, each tagged with a "streamtype" header. The session
 * starts once all expected streams arrived; if they do not within `creationTimeoutMs` the
 * connection is dropped.
 */
export function openSpdySession(
  conn: SpdyConnection,
  protocol: string,
  options: StreamOptions,
  creationTimeoutMs: number,
): Promise<OpenSession> {
  const expected = new Set<string>(['error']);
  if (options.stdin) expected.add('stdin');
  if (options.stdout) expected.add('stdout');
  if (options.stderr && !options.tty) expected.add('stderr');
  if (options.tty && supportsResize(protocol)) expected.add('resize');

  return new Promise((resolve, reject) => {
    const got = new Map<string, SpdyStream>();
    const timer = setTimeout(() => fail(new Error(`timed out after ${creationTimeoutMs} ms waiting for the client to create streams`)), creationTimeoutMs);
    const onClose = (): void => fail(new Error('the client closed the connection before creating its streams'));
    conn.once('close', onClose);

    function fail(err: Error): void {
      cleanup();
      conn.destroy();
      reject(err);
    }
    function cleanup(): void {
      clearTimeout(timer);
      conn.off('stream', onStream);
      conn.off('close', onClose);
    }
    function onStream(stream: SpdyStream): void {
      const type = stream.header(STREAM_TYPE_HEADER) ?? '';
      if (!expected.has(type) || got.has(type)) {
        // Not a stream this request asked for: answer it, then drop it, as kubelet does.
        stream.accept();
        stream.reset();
        return;
      }
      stream.accept();
      got.set(type, stream);
      if (got.size === expected.size) {
        cleanup();
        resolve(build(conn, protocol, options, got));
      }
    }
    conn.on('stream', onStream);
  });
}

function build(conn: SpdyConnection, protocol: string, options: StreamOptions, streams: Map<string, SpdyStream>): OpenSession {
  const abort = new AbortController();
  conn.once('close', () => abort.abort(new Error('the client went away')));
  const resizes = new ResizeEvents();
  const resize = streams.get('resize');
  if (resize) {
    const decoder = new ResizeDecoder();
    resize.on('data', (chunk: Buffer) => {
      for (const size of decoder.push(chunk)) resizes.emit(size);
    });
    resize.on('error', () => undefined);
  }
  for (const s of streams.values()) s.on('error', () => undefined); // a reset surfaces as close
  const errorStream = streams.get('error')!;
  const stdin = streams.get('stdin') ?? null;
  if (protocol === V1) {
    // v1 servers half-close stdin at once and drop the error stream: clients of v1 expect that.
    stdin?.end();
    errorStream.reset();
  }
  const session: RemoteSession = {
    options,
    stdin,
    stdout: streams.get('stdout') ?? null,
    stderr: streams.get('stderr') ?? null,
    onResize: (listener: (size: TerminalSize) => void) => resizes.listen(listener),
    signal: abort.signal,
  };
  return {
    session,
    async finish(outcome: Outcome) {
      if (conn.isClosed) return;
      const payload = errorStreamPayload(protocol, outcome);
      // Output still queued in the stream objects must reach the socket before the goaway.
      await Promise.all([streams.get('stdout'), streams.get('stderr')].map((s) => endAndWait(s)));
      if (!errorStream.destroyed && payload.length > 0) errorStream.write(payload);
      await endAndWait(errorStream);
      conn.close();
    },
  };
}

function endAndWait(stream: SpdyStream | undefined): Promise<void> {
  if (!stream || stream.destroyed || stream.writableFinished) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('finish', resolve);
    stream.once('close', resolve);
    stream.end();
  });
}

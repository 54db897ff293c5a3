import type { PortForwardRequest } from '../../gen/runtime/v1/api';
import type { SpdyConnection, SpdyStream } from '../spdy/connection';
import { RstStatus } from '../spdy/frames';
import type { StreamBackends } from '../session';
import { forwardError, splice, writeAndEnd } from './forward';

/** The subprotocol name negotiated for port-forward over SPDY. */
export const PORTFORWARD_PROTOCOL = 'portforward.k8s.io';

interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

/**
 * Port forwarding over one SPDY connection: for every forwarded TCP connection the client opens a
 * "data" and an "error" stream carrying the same "port" and "requestid" headers. Once both are
 * there, the daemon connects to the port in the pod and splices it to the data stream; a failure
 * is written on the error stream and the connection stays usable for further requests.
 */
export function servePortForwardSpdy(
  conn: SpdyConnection,
  request: PortForwardRequest,
  backends: StreamBackends,
  creationTimeoutMs: number,
): void {
  const pairs = new Map<string, Pair>();

  conn.on('stream', (stream: SpdyStream) => {
    const port = Number(stream.header('port'));
    const type = stream.header('streamtype');
    if (!Number.isInteger(port) || port < 1 || port > 65535 || (type !== 'data' && type !== 'error')) {
      stream.refuse(RstStatus.RefusedStream);
      return;
    }
    stream.accept();
    stream.on('error', () => undefined);
    // Old clients send no request id; their streams come in (error, data) order with ids two apart.
    const requestId = stream.header('requestid') ?? String(type === 'error' ? stream.id : stream.id - 2);
    let pair = pairs.get(requestId);
    if (!pair) {
      const created: Pair = {
        timer: setTimeout(() => {
          pairs.delete(requestId);
          if (created.error) writeAndEnd(created.error, `timed out waiting for the data and error streams of request ${requestId}`);
          created.data?.reset();
        }, creationTimeoutMs),
      };
      pair = created;
      pairs.set(requestId, pair);
    }
    if (pair[type]) {
      writeAndEnd(stream, undefined);
      stream.reset();
      return;
    }
    pair[type] = stream;
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pairs.delete(requestId);
      void forward(pair.data, pair.error, port, request, backends);
    }
  });
  conn.once('close', () => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
  });
}

async function forward(data: SpdyStream, error: SpdyStream, port: number, request: PortForwardRequest, backends: StreamBackends): Promise<void> {
  let target;
  try {
    target = await backends.dialPod(request, port);
  } catch (err) {
    writeAndEnd(error, forwardError(port, request.podSandboxId, err));
    writeAndEnd(data, undefined);
    return;
  }
  if (data.destroyed) {
    target.destroy();
    writeAndEnd(error, undefined);
    return;
  }
  await splice(data, target);
  writeAndEnd(error, undefined);
  writeAndEnd(data, undefined);
}

import { PassThrough, Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { PortForwardRequest } from '../../gen/runtime/v1/api';
import type { StreamBackends } from '../session';
import { ChannelCodec, ChannelWriter, closeSocket } from '../ws_channels';
import { forwardError, splice } from './forward';

/** WebSocket subprotocols of kubelet-style port forwarding (one TCP connection per listed port). */
export const PORTFORWARD_WS_PROTOCOLS: Record<string, { base64: boolean }> = {
  '': { base64: false },
  'v4.channel.k8s.io': { base64: false },
  'v4.base64.channel.k8s.io': { base64: true },
};

/**
 * Port forwarding over a WebSocket: the ports come in the URL query (?port=80&port=8080); port i
 * gets channel 2i for data (both ways) and 2i+1 for errors. Each channel first carries the port
 * number (16-bit little endian). The socket closes when every forwarded connection has ended.
 */
export async function servePortForwardWs(ws: WebSocket, protocol: string, ports: number[], request: PortForwardRequest, backends: StreamBackends): Promise<void> {
  const codec = new ChannelCodec(PORTFORWARD_WS_PROTOCOLS[protocol]?.base64 ?? false);
  const inbound = ports.map(() => new PassThrough());
  ws.on('message', (message: Buffer) => {
    const msg = codec.decode(message);
    if (!msg || msg.channel % 2 !== 0) return;
    const sink = inbound[msg.channel / 2];
    if (sink && !sink.writableEnded) sink.write(msg.data);
  });
  ws.on('close', () => inbound.forEach((s) => s.end()));
  ws.on('error', () => undefined);

  await Promise.all(
    ports.map(async (port, i) => {
      const dataOut = new ChannelWriter(ws, codec, 2 * i);
      const errorOut = new ChannelWriter(ws, codec, 2 * i + 1);
      const portBytes = Buffer.alloc(2);
      portBytes.writeUInt16LE(port);
      dataOut.write(portBytes);
      errorOut.write(portBytes);
      const data = Duplex.from({ readable: inbound[i]!, writable: dataOut });
      try {
        const target = await backends.dialPod(request, port);
        await splice(data, target);
      } catch (err) {
        if (ws.readyState === ws.OPEN) errorOut.write(Buffer.from(forwardError(port, request.podSandboxId, err)));
      }
      await errorOut.endAndWait();
    }),
  );
  await closeSocket(ws);
}

import { PassThrough } from 'node:stream';
import type { WebSocket } from 'ws';
import type { RemoteSession } from '../session';
import { ChannelCodec, ChannelWriter, closeSocket } from '../ws_channels';
import { CHANNEL, CLOSE_SIGNAL, ResizeDecoder, ResizeEvents, V4, V5, errorStreamPayload, type Outcome, type StreamOptions, type TerminalSize } from './protocol';
import type { OpenSession } from './spdy_session';

/** WebSocket subprotocols for exec/attach and the error-stream dialect each speaks. */
const WS_PROTOCOLS: Record<string, { base64: boolean; statusProtocol: string; closeSignal: boolean }> = {
  '': { base64: false, statusProtocol: 'channel.k8s.io', closeSignal: false },
  'channel.k8s.io': { base64: false, statusProtocol: 'channel.k8s.io', closeSignal: false },
  'base64.channel.k8s.io': { base64: true, statusProtocol: 'channel.k8s.io', closeSignal: false },
  'v4.channel.k8s.io': { base64: false, statusProtocol: V4, closeSignal: false },
  'v4.base64.channel.k8s.io': { base64: true, statusProtocol: V4, closeSignal: false },
  'v5.channel.k8s.io': { base64: false, statusProtocol: V5, closeSignal: true },
};

export const REMOTECOMMAND_WS_PROTOCOLS = Object.keys(WS_PROTOCOLS).filter((p) => p !== '');

/**
 * Remote command over WebSocket: every message starts with its channel (0 stdin, 1 stdout, 2 stderr,
 * 3 error, 4 resize), as a byte, or as an ASCII digit followed by base64 in the base64 dialects.
 * v5 clients half-close a channel with the message [255, channel].
 */
export function openWsSession(ws: WebSocket, protocol: string, options: StreamOptions): OpenSession {
  const dialect = WS_PROTOCOLS[protocol] ?? WS_PROTOCOLS['']!;
  const codec = new ChannelCodec(dialect.base64);
  const abort = new AbortController();
  const resizes = new ResizeEvents();
  const decoder = new ResizeDecoder();
  const stdin = options.stdin ? new PassThrough() : null;
  stdin?.on('error', () => undefined);

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (data.length === 0) return;
    if (dialect.closeSignal && isBinary && data[0] === CLOSE_SIGNAL) {
      if (data.length === 2 && data[1] === CHANNEL.stdin) stdin?.end();
      return;
    }
    const msg = codec.decode(data);
    if (!msg) return;
    if (msg.channel === CHANNEL.stdin && stdin && !stdin.writableEnded) stdin.write(msg.data);
    else if (msg.channel === CHANNEL.resize && options.tty) for (const size of decoder.push(msg.data)) resizes.emit(size);
  });
  ws.on('close', () => {
    stdin?.end();
    abort.abort(new Error('the client went away'));
  });
  ws.on('error', () => undefined);

  const stdout = options.stdout ? new ChannelWriter(ws, codec, CHANNEL.stdout) : null;
  const stderr = options.stderr && !options.tty ? new ChannelWriter(ws, codec, CHANNEL.stderr) : null;
  // Tell the client the session is up: an empty message on the lowest channel it reads.
  ws.send(codec.encode(stdout ? CHANNEL.stdout : stderr ? CHANNEL.stderr : CHANNEL.error, Buffer.alloc(0)));

  const session: RemoteSession = {
    options,
    stdin,
    stdout,
    stderr,
    onResize: (listener: (size: TerminalSize) => void) => resizes.listen(listener),
    signal: abort.signal,
  };
  return {
    session,
    async finish(outcome: Outcome) {
      await Promise.all([stdout, stderr].map((w) => w?.endAndWait()));
      const payload = errorStreamPayload(dialect.statusProtocol, outcome);
      if (payload.length > 0 && ws.readyState === ws.OPEN) ws.send(codec.encode(CHANNEL.error, payload));
      await closeSocket(ws);
    },
  };
}

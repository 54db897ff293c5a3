import * as http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import WebSocket, { createWebSocketStream } from 'ws';
import { SpdyConnection } from '../../src/stream/spdy/connection';
import { exitCodeOf, waitForText, type RemoteCommand, type RemoteCommandOptions, type RemoteResult } from './spdy_client';

/**
 * A WebSocket client of shoal's streaming server, speaking Kubernetes' channel protocols as
 * client-go's WebSocket executor (v5.channel.k8s.io) and older clients (v4, base64) do.
 */

/** Opens a WebSocket; `onMessage` is attached before the handshake so no early message is missed. */
export function wsOpen(url: string, protocols: string[], onMessage?: (data: Buffer) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), protocols, { rejectUnauthorized: false, perMessageDeflate: false });
    if (onMessage) ws.on('message', onMessage);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => reject(new Error(`upgrade refused: HTTP ${res.statusCode}: ${body.trim()}`)));
    });
    ws.once('error', reject);
  });
}

export async function wsRemoteCommand(url: string, opts: RemoteCommandOptions, protocol = 'v5.channel.k8s.io'): Promise<RemoteCommand> {
  const base64 = protocol.includes('base64');
  const collected = { stdout: '', stderr: '', error: '' };
  const ws = await wsOpen(url, [protocol], (raw) => {
    if (raw.length === 0) return;
    const channel = base64 ? raw[0]! - 48 : raw[0]!;
    const data = base64 ? Buffer.from(raw.subarray(1).toString('latin1'), 'base64') : raw.subarray(1);
    const key = channel === 1 ? 'stdout' : channel === 2 ? 'stderr' : channel === 3 ? 'error' : undefined;
    if (key) collected[key] += data.toString('utf8');
  });
  const send = (channel: number, data: Buffer): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (base64) ws.send(String.fromCharCode(48 + channel) + data.toString('base64'));
    else ws.send(Buffer.concat([Buffer.from([channel]), data]));
  };
  const done = new Promise<RemoteResult>((resolve) => {
    ws.once('close', () => resolve({ protocol: ws.protocol, ...collected, exitCode: exitCodeOf(ws.protocol === '' ? 'channel.k8s.io' : ws.protocol.replace('.base64', ''), collected.error) }));
  });
  ws.on('error', () => undefined);
  return {
    protocol: ws.protocol,
    write: (data) => send(0, Buffer.from(data)),
    closeStdin: () => {
      // Only v5 has a way to say "stdin ended" without closing the connection.
      if (protocol === 'v5.channel.k8s.io' && ws.readyState === ws.OPEN) ws.send(Buffer.from([255, 0]));
    },
    resize: (size) => send(4, Buffer.from(JSON.stringify({ Width: size.width, Height: size.height }))),
    stdout: () => collected.stdout,
    stderr: () => collected.stderr,
    waitForOutput: (pattern, timeoutMs = 20_000) => waitForText(() => collected.stdout + collected.stderr, pattern, timeoutMs),
    done,
    disconnect: () => ws.terminate(),
  };
}

/**
 * Port forwarding as crictl --transport websocket does it: SPDY/3.1 tunnelled in a WebSocket with
 * the subprotocol "SPDY/3.1+portforward.k8s.io". ws's client refuses that name (not an RFC 6455
 * token), so the upgrade is made by hand and the socket handed to a ws client afterwards.
 */
export function spdyTunnelDial(url: string): Promise<{ conn: SpdyConnection; protocol: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        'Sec-WebSocket-Protocol': 'SPDY/3.1+portforward.k8s.io',
      },
    });
    req.on('upgrade', (res: http.IncomingMessage, socket: Socket, head: Buffer) => {
      const ws = new WebSocket(null as unknown as string, undefined, {});
      // A WebSocket built without an address is a server-side one; as a client it must mask.
      (ws as unknown as { _isServer: boolean })._isServer = false;
      (ws as unknown as { setSocket(s: Socket, h: Buffer, o: { maxPayload: number; skipUTF8Validation: boolean }): void }).setSocket(socket, head, {
        maxPayload: 0,
        skipUTF8Validation: false,
      });
      const conn = new SpdyConnection(createWebSocketStream(ws), { isServer: false });
      resolve({ conn, protocol: String(res.headers['sec-websocket-protocol'] ?? '') });
    });
    req.on('response', (res: http.IncomingMessage) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

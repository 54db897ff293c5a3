import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../log';
import { errorText } from '../errors';
import type { AttachRequest, ExecRequest, PortForwardRequest } from '../gen/runtime/v1/api';
import { SpdyConnection } from './spdy/connection';
import { TokenStore } from './tokens';
import type { PendingRequest, RemoteSession, StreamBackends } from './session';
import { ACCEPTED_PROTOCOLS_HEADER, PROTOCOL_HEADER, SPDY_PROTOCOLS, V1, type Outcome, type StreamOptions } from './remotecommand/protocol';
import { openSpdySession, type OpenSession } from './remotecommand/spdy_session';
import { REMOTECOMMAND_WS_PROTOCOLS, openWsSession } from './remotecommand/ws_session';
import { PORTFORWARD_PROTOCOL, servePortForwardSpdy } from './portforward/spdy_session';
import { PORTFORWARD_WS_PROTOCOLS, servePortForwardWs } from './portforward/ws_session';

/** The WebSocket subprotocol of SPDY tunnelled through a WebSocket (kubectl/crictl port-forward). */
const SPDY_TUNNEL_PORTFORWARD = `SPDY/3.1+${PORTFORWARD_PROTOCOL}`;

export interface StreamServerOptions {
  /** host:port to listen on; port 0 picks a free one. */
  address: string;
  /** Both set: serve HTTPS with this certificate and key (PEM files). */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** A connection with no traffic for this long is closed (0: never). */
  idleTimeoutMs: number;
  backends: StreamBackends;
  log: Logger;
  tokenTtlMs?: number;
  maxTokens?: number;
  /** How long a client may take to open the streams of a session. */
  streamCreationTimeoutMs?: number;
  registry?: Registry;
}

const ROUTE = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]{1,64})\/?$/;

/**
 * shoal's streaming server: the URLs Exec, Attach and PortForward hand out lead here. A request
 * presents its single-use token, then upgrades to SPDY/3.1 or to a WebSocket and speaks
 * Kubernetes' remote command or port-forward protocol; the work is done by the backends.
 */
export class StreamServer {
  private readonly tokens: TokenStore<PendingRequest>;
  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<Socket>();
  private readonly chosenWsProtocol = new WeakMap<http.IncomingMessage, string>();
  private baseUrl = '';
  private readonly opened: Counter<'kind' | 'transport'> | undefined;
  private readonly active: Gauge<'kind'> | undefined;

  private constructor(private readonly opts: StreamServerOptions) {
    if (opts.registry) {
      this.opened = new Counter({
        name: 'shoal_stream_connections_total',
        help: 'Streaming connections that presented a valid token, by kind and transport.',
        labelNames: ['kind', 'transport'],
        registers: [opts.registry],
      });
      this.active = new Gauge({
        name: 'shoal_stream_connections',
        help: 'Streaming connections open now, by kind.',
        labelNames: ['kind'],
        registers: [opts.registry],
      });
    }
    this.tokens = new TokenStore({ ttlMs: opts.tokenTtlMs ?? 60_000, maxOutstanding: opts.maxTokens ?? 1000 });
    const tls = Boolean(opts.tlsCertFile && opts.tlsKeyFile);
    this.server = tls
      ? https.createServer({ cert: readFileSync(opts.tlsCertFile!), key: readFileSync(opts.tlsKeyFile!) })
      : http.createServer();
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: 16 * 1024 * 1024,
    });
    // The subprotocol is chosen here, not by ws: ws refuses names with "/" or "+" as RFC 6455
    // tokens, yet clients send "SPDY/3.1+portforward.k8s.io". So the request header is taken
    // out before ws sees it and the answer is added to ws's response.
    this.wss.on('headers', (headers: string[], req: http.IncomingMessage) => {
      const chosen = this.chosenWsProtocol.get(req);
      if (chosen) headers.push(`Sec-WebSocket-Protocol: ${chosen}`);
    });
    this.server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => this.track(socket));
    this.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.onPlainRequest(req, res));
    this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket as Socket, head));
    this.server.on('clientError', (_err, socket: Duplex) => socket.destroy());
  }

  static async start(opts: StreamServerOptions): Promise<StreamServer> {
    const s = new StreamServer(opts);
    const { host, port } = splitHostPort(opts.address);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(port, host, () => {
        s.server.off('error', reject);
        resolve();
      });
    });
    const bound = s.server.address();
    const boundPort = bound && typeof bound === 'object' ? bound.port : port;
    const scheme = opts.tlsCertFile && opts.tlsKeyFile ? 'https' : 'http';
    s.baseUrl = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
    opts.log.info({ url: s.baseUrl }, 'streaming server listening');
    return s;
  }

  /** http(s)://host:port of the server. */
  get url(): string {
    return this.baseUrl;
  }

  get outstandingTokens(): number {
    return this.tokens.size;
  }

  execUrl(request: ExecRequest): string {
    return this.urlFor({ kind: 'exec', request });
  }

  attachUrl(request: AttachRequest): string {
    return this.urlFor({ kind: 'attach', request });
  }

  portForwardUrl(request: PortForwardRequest): string {
    return this.urlFor({ kind: 'portforward', request });
  }

  /** Stops listening and cuts every open stream connection. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
    await closed;
  }

  private urlFor(pending: PendingRequest): string {
    return `${this.baseUrl}/${pending.kind}/${this.tokens.issue(pending)}`;
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.opts.idleTimeoutMs > 0) {
      // Socket inactivity in both directions: an abandoned stream is closed, a live one never.
      socket.setTimeout(this.opts.idleTimeoutMs, () => {
        this.opts.log.info({ idleTimeoutMs: this.opts.idleTimeoutMs }, 'streaming connection idle for too long: closed');
        socket.destroy();
      });
    }
  }

  /** Consumes the token the URL carries; undefined when the route or token is not valid. */
  private claim(url: string | undefined): PendingRequest | undefined {
    const path = new URL(url ?? '/', 'http://x').pathname;
    const m = ROUTE.exec(path);
    if (!m) return undefined;
    const pending = this.tokens.consume(m[2]!);
    return pending && pending.kind === m[1] ? pending : undefined;
  }

  private onPlainRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const pending = this.claim(req.url);
    const [status, text] = pending
      ? [400, 'streaming: this URL must be opened with an upgrade to SPDY/3.1 or WebSocket\n']
      : [404, 'streaming: unknown, used or expired token\n'];
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private onUpgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => undefined);
    const pending = this.claim(req.url);
    if (!pending) return rejectUpgrade(socket, 404, 'streaming: unknown, used or expired token');
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    this.opts.log.debug({ kind: pending.kind, upgrade }, 'streaming connection');
    const transport = upgrade === 'websocket' ? 'websocket' : upgrade.startsWith('spdy/3') ? 'spdy' : undefined;
    if (transport) {
      this.opened?.inc({ kind: pending.kind, transport });
      this.active?.inc({ kind: pending.kind });
      socket.once('close', () => this.active?.dec({ kind: pending.kind }));
    }
    if (transport === 'websocket') return this.upgradeWebSocket(req, socket, head, pending);
    if (transport === 'spdy') return this.upgradeSpdy(req, socket, head, pending);
    rejectUpgrade(socket, 400, `streaming: cannot upgrade to "${req.headers.upgrade ?? ''}"; SPDY/3.1 and websocket are spoken`);
  }

  private upgradeSpdy(req: http.IncomingMessage, socket: Socket, head: Buffer, pending: PendingRequest): void {
    const offered = headerList(req, PROTOCOL_HEADER);
    const supported = pending.kind === 'portforward' ? [PORTFORWARD_PROTOCOL] : SPDY_PROTOCOLS;
    const chosen = offered.length === 0 ? (pending.kind === 'portforward' ? PORTFORWARD_PROTOCOL : V1) : offered.find((p) => supported.includes(p));
    if (!chosen) {
      const text = `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${supported.join(' ')}]`;
      return rejectUpgrade(socket, 403, text, supported.map((p) => `${ACCEPTED_PROTOCOLS_HEADER}: ${p}`));
    }
    socket.setNoDelay(true);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n${PROTOCOL_HEADER}: ${chosen}\r\n\r\n`);
    const conn = new SpdyConnection(socket, { isServer: true });
    conn.on('protocolError', (err: unknown) => this.opts.log.info({ err: errorText(err) }, 'streaming: SPDY protocol error; connection closed'));
    if (pending.kind === 'portforward') {
      servePortForwardSpdy(conn, pending.request, this.opts.backends, this.creationTimeout());
      conn.feed(head);
      return;
    }
    const opening = openSpdySession(conn, chosen, optionsOf(pending), this.creationTimeout());
    conn.feed(head);
    opening.then(
      (open) => this.runSession(pending, open),
      (err: unknown) => this.opts.log.info({ kind: pending.kind, err: errorText(err) }, 'streaming session not started'),
    );
  }

  private upgradeWebSocket(req: http.IncomingMessage, socket: Socket, head: Buffer, pending: PendingRequest): void {
    const offered = headerList(req, 'sec-websocket-protocol');
    const supported = pending.kind === 'portforward' ? [SPDY_TUNNEL_PORTFORWARD, ...Object.keys(PORTFORWARD_WS_PROTOCOLS)] : REMOTECOMMAND_WS_PROTOCOLS;
    const chosen = offered.length === 0 ? '' : offered.find((p) => supported.includes(p));
    if (chosen === undefined) {
      return rejectUpgrade(socket, 400, `streaming: none of the WebSocket subprotocols [${offered.join(' ')}] is supported; supported: [${supported.join(' ')}]`);
    }
    let ports: number[] = [];
    if (pending.kind === 'portforward' && chosen !== SPDY_TUNNEL_PORTFORWARD) {
      ports = portsOf(req.url, pending.request);
      if (ports.length === 0) return rejectUpgrade(socket, 400, 'streaming: port forwarding over WebSocket needs ?port=N in the URL');
    }
    this.chosenWsProtocol.set(req, chosen);
    delete req.headers['sec-websocket-protocol'];
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      ws.on('error', () => undefined);
      if (pending.kind === 'portforward') {
        if (chosen === SPDY_TUNNEL_PORTFORWARD) {
          const tunnel = createWebSocketStream(ws);
          tunnel.on('error', () => undefined);
          const conn = new SpdyConnection(tunnel, { isServer: true });
          servePortForwardSpdy(conn, pending.request, this.opts.backends, this.creationTimeout());
          return;
        }
        void servePortForwardWs(ws, chosen, ports, pending.request, this.opts.backends);
        return;
      }
      void this.runSession(pending, openWsSession(ws, chosen, optionsOf(pending)));
    });
  }

  private async runSession(pending: PendingRequest, open: OpenSession): Promise<void> {
    if (pending.kind === 'portforward') return;
    const containerId = pending.request.containerId;
    let outcome: Outcome;
    try {
      if (pending.kind === 'exec') {
        outcome = { kind: 'exit', code: await this.opts.backends.exec(pending.request, open.session) };
      } else {
        await this.opts.backends.attach(pending.request, open.session);
        outcome = { kind: 'success' };
      }
    } catch (err) {
      const what = pending.kind === 'exec' ? 'error executing command in container' : 'error attaching to container';
      outcome = { kind: 'error', message: `${what}: ${errorText(err)}` };
      this.opts.log.info({ containerId, err: errorText(err) }, `streaming ${pending.kind} failed`);
    }
    this.opts.log.debug({ kind: pending.kind, containerId, outcome }, 'streaming session ended');
    closeUnused(open.session);
    await open.finish(outcome);
  }

  private creationTimeout(): number {
    return this.opts.streamCreationTimeoutMs ?? 30_000;
  }
}

function closeUnused(session: RemoteSession): void {
  session.stdin?.resume(); // drain what the client still sends; nothing reads it any more
}

function optionsOf(pending: PendingRequest): StreamOptions {
  if (pending.kind === 'portforward') throw new Error('port-forward requests carry no stdio options');
  const r = pending.request;
  return { stdin: r.stdin, stdout: r.stdout, stderr: r.stderr && !r.tty, tty: r.tty };
}

/** The comma-separated values of a header that may also be repeated. */
function headerList(req: http.IncomingMessage, name: string): string[] {
  const raw = req.headersDistinct[name.toLowerCase()] ?? [];
  return raw.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

function portsOf(url: string | undefined, request: PortForwardRequest): number[] {
  const query = new URL(url ?? '/', 'http://x').searchParams.getAll('port');
  const listed = query.flatMap((q) => q.split(',')).map((p) => Number(p.trim()));
  const ports = listed.length > 0 ? listed : request.port;
  return ports.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535) ? ports : [];
}

function rejectUpgrade(socket: Socket, status: number, text: string, extraHeaders: string[] = []): void {
  const body = `${text}\n`;
  const reason = http.STATUS_CODES[status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `${extraHeaders.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n${body}`,
  );
}

function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[(.+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (!m) throw new Error(`stream.address "${address}": expected host:port`);
  return { host: m[1]!, port: Number(m[2]) };
}

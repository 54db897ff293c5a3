import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import { SpdyConnection, type SpdyStream } from '../../src/stream/spdy/connection';

/**
 * A client of shoal's streaming server speaking what client-go (kubectl, crictl) speaks over
 * SPDY/3.1: the HTTP upgrade with protocol negotiation, then remote command streams (error, stdin,
 * stdout, stderr, resize, created in that order) or port-forward stream pairs.
 */

export interface SpdyDial {
  conn: SpdyConnection;
  protocol: string;
  socket: Socket;
}

export class UpgradeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly headers: http.IncomingHttpHeaders,
  ) {
    super(`upgrade refused: HTTP ${status}: ${body.trim()}`);
  }
}

export function spdyDial(url: string, protocols: string[]): Promise<SpdyDial> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(url, {
      method: 'POST',
      headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': protocols },
      rejectUnauthorized: false,
    });
    req.on('upgrade', (res: http.IncomingMessage, socket: Socket, head: Buffer) => {
      const conn = new SpdyConnection(socket, { isServer: false });
      conn.feed(head);
      resolve({ conn, protocol: String(res.headers['x-stream-protocol-version'] ?? ''), socket });
    });
    req.on('response', (res: http.IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => reject(new UpgradeRefused(res.statusCode ?? 0, body, res.headers)));
    });
    req.on('error', reject);
    req.end();
  });
}

export interface TerminalSize {
  width: number;
  height: number;
}

/** What a finished remote command session produced. */
export interface RemoteResult {
  protocol: string;
  stdout: string;
  stderr: string;
  /** Raw bytes of the error stream (a Status JSON from v4 on, text before). */
  error: string;
  /** The exit code as client-go derives it (0 when the status says Success). */
  exitCode: number | undefined;
}

export interface RemoteCommandOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  tty?: boolean;
}

/** A live remote command session, as a test drives it. */
export interface RemoteCommand {
  readonly protocol: string;
  write(data: string | Buffer): void;
  closeStdin(): void;
  resize(size: TerminalSize): void;
  /** Output so far (stdout and stderr). */
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout (plus stderr) contains text matching the pattern. */
  waitForOutput(pattern: RegExp | string, timeoutMs?: number): Promise<void>;
  /** Resolves when the server ends the session. */
  readonly done: Promise<RemoteResult>;
  /** Drops the connection (a client that goes away). */
  disconnect(): void;
}

export function exitCodeOf(protocol: string, error: string): number | undefined {
  if (protocol !== 'v4.channel.k8s.io' && protocol !== 'v5.channel.k8s.io') return error === '' ? 0 : undefined;
  if (error === '') return undefined;
  const status = JSON.parse(error) as { status: string; reason?: string; details?: { causes?: Array<{ reason?: string; message?: string }> } };
  if (status.status === 'Success') return 0;
  if (status.reason !== 'NonZeroExitCode') return undefined;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  return cause ? Number(cause.message) : undefined;
}

export async function spdyRemoteCommand(
  url: string,
  opts: RemoteCommandOptions,
  protocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'],
): Promise<RemoteCommand> {
  const { conn, protocol } = await spdyDial(url, protocols);
  const open = (type: string): Promise<SpdyStream> => conn.openStream({ streamtype: type });
  const error = await open('error');
  error.end(); // the client never writes on it
  const stdin = opts.stdin ? await open('stdin') : undefined;
  const stdout = opts.stdout !== false ? await open('stdout') : undefined;
  const stderr = opts.stderr && !opts.tty ? await open('stderr') : undefined;
  const resize = opts.tty && protocol !== 'channel.k8s.io' && protocol !== 'v2.channel.k8s.io' ? await open('resize') : undefined;
  const collected = { stdout: '', stderr: '', error: '' };
  const ended = (s: SpdyStream | undefined, key: keyof typeof collected): Promise<void> =>
    new Promise((resolve) => {
      if (!s) return resolve();
      s.on('data', (d: Buffer) => (collected[key] += d.toString('utf8')));
      s.on('end', resolve);
      s.on('close', resolve);
      s.on('error', () => resolve());
    });
  stdin?.resume(); // the server half-closes it (v1) or never writes
  stdin?.on('error', () => undefined);
  const done = Promise.all([ended(stdout, 'stdout'), ended(stderr, 'stderr'), ended(error, 'error')]).then(
    (): RemoteResult => ({ protocol, ...collected, exitCode: exitCodeOf(protocol, collected.error) }),
  );
  return {
    protocol,
    write: (data) => void stdin?.write(data),
    closeStdin: () => void stdin?.end(),
    resize: (size) => void resize?.write(JSON.stringify({ Width: size.width, Height: size.height }) + '\n'),
    stdout: () => collected.stdout,
    stderr: () => collected.stderr,
    waitForOutput: (pattern, timeoutMs = 20_000) => waitForText(() => collected.stdout + collected.stderr, pattern, timeoutMs),
    done,
    disconnect: () => conn.destroy(),
  };
}

export async function waitForText(text: () => string, pattern: RegExp | string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const matches = (): boolean => (typeof pattern === 'string' ? text().includes(pattern) : pattern.test(text()));
  while (!matches()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pattern)} in output ${JSON.stringify(text())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One forwarded connection over a port-forward SPDY connection: sends `request`, returns the reply. */
export async function spdyForwardOnce(conn: SpdyConnection, port: number, requestId: number, request: Buffer | string): Promise<{ data: string; error: string }> {
  const headers = { streamtype: 'error', port: String(port), requestid: String(requestId) };
  const error = await conn.openStream(headers);
  error.end();
  const data = await conn.openStream({ ...headers, streamtype: 'data' });
  const out = { data: '', error: '' };
  const collect = (s: SpdyStream, key: 'data' | 'error'): Promise<void> =>
    new Promise((resolve) => {
      s.on('data', (d: Buffer) => (out[key] += d.toString('latin1')));
      s.on('end', resolve);
      s.on('close', resolve);
      s.on('error', () => resolve());
    });
  const dataDone = collect(data, 'data');
  const errorDone = collect(error, 'error');
  data.end(request);
  await dataDone;
  data.reset();
  await errorDone;
  return out;
}

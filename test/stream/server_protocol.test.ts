import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import pino from 'pino';
import { StreamServer } from '../../src/stream/server';
import type { RemoteSession, StreamBackends } from '../../src/stream/session';
import type { AttachRequest, ExecRequest, PortForwardRequest } from '../../src/gen/runtime/v1/api';
import { CriError } from '../../src/errors';
import { UpgradeRefused, spdyDial, spdyForwardOnce, spdyRemoteCommand } from '../helpers/spdy_client';
import { spdyTunnelDial, wsOpen, wsRemoteCommand } from '../helpers/ws_client';

/**
 * The streaming server's protocols against the test clients, with backends that run real host
 * processes and real TCP servers (the container backends have e2e tests of their own).
 */

const exec = (cmd: string[], o: Partial<ExecRequest> = {}): ExecRequest => ({
  containerId: 'c1',
  cmd,
  tty: false,
  stdin: false,
  stdout: true,
  stderr: false,
  ...o,
});

interface Seen {
  aborted: string[];
  resizes: Array<{ width: number; height: number }>;
}

function hostBackends(seen: Seen): StreamBackends {
  return {
    exec(req: ExecRequest, s: RemoteSession): Promise<number> {
      return new Promise((resolve, reject) => {
        const child = spawn(req.cmd[0]!, req.cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
        s.onResize((size) => seen.resizes.push(size));
        s.signal.addEventListener('abort', () => {
          seen.aborted.push(req.cmd.join(' '));
          child.kill('SIGKILL');
        });
        if (s.stdin) s.stdin.pipe(child.stdin!);
        else child.stdin!.end();
        child.stdin!.on('error', () => undefined);
        if (s.stdout) child.stdout!.pipe(s.stdout, { end: false });
        else child.stdout!.resume();
        if (s.stderr) child.stderr!.pipe(s.stderr, { end: false });
        else child.stderr!.resume();
        child.on('error', reject);
        child.on('close', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
      });
    },
    async attach(req: AttachRequest, s: RemoteSession): Promise<void> {
      if (req.containerId === 'gone') throw new Error('container gone is not running');
      s.stdout?.write('attached\n');
      if (!s.stdin) return;
      for await (const chunk of s.stdin) s.stdout?.write(`echo:${String(chunk)}`);
    },
    dialPod(_req: PortForwardRequest, port: number): Promise<Duplex> {
      return new Promise((resolve, reject) => {
        const sock = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
        sock.once('connect', () => resolve(sock));
        sock.once('error', reject);
      });
    },
  };
}

let server: StreamServer;
let echoServer: net.Server;
let echoPort: number;
let closedPort: number;
const seen: Seen = { aborted: [], resizes: [] };

beforeAll(async () => {
  server = await StreamServer.start({
    address: '127.0.0.1:0',
    idleTimeoutMs: 0,
    backends: hostBackends(seen),
    log: pino({ level: 'silent' }),
    tokenTtlMs: 2000,
    maxTokens: 50,
  });
  echoServer = net.createServer({ allowHalfOpen: true }, (sock) => {
    sock.on('data', (d) => sock.write(`pong:${String(d)}`));
    sock.on('end', () => sock.end());
  });
  await new Promise<void>((r) => echoServer.listen(0, '127.0.0.1', r));
  echoPort = (echoServer.address() as net.AddressInfo).port;
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  closedPort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
});

afterAll(async () => {
  await server?.close();
  await new Promise<void>((r) => (echoServer ? echoServer.close(() => r()) : r()));
});

describe('remote command over SPDY', () => {
  test('v4 exec echo: stdout and a Success status', async () => {
    const rc = await spdyRemoteCommand(server.execUrl(exec(['echo', 'hello'], { stderr: true })), { stdout: true, stderr: true });
    const res = await rc.done;
    expect(res.protocol).toBe('v5.channel.k8s.io');
    expect(res.stdout).toBe('hello\n');
    expect(JSON.parse(res.error)).toEqual({ metadata: {}, status: 'Success' });
    expect(res.exitCode).toBe(0);
  });

  test('an exit code travels as a NonZeroExitCode status with an ExitCode cause', async () => {
    const rc = await spdyRemoteCommand(server.execUrl(exec(['sh', '-c', 'echo out; echo err >&2; exit 3'], { stderr: true })), { stdout: true, stderr: true }, ['v4.channel.k8s.io']);
    const res = await rc.done;
    expect(res.protocol).toBe('v4.channel.k8s.io');
    expect(res.stdout).toBe('out\n');
    expect(res.stderr).toBe('err\n');
    expect(JSON.parse(res.error)).toEqual({
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: exit status 3',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
    expect(res.exitCode).toBe(3);
  });

  test('v2 reports a failure as text and success as silence', async () => {
    const fail = await (await spdyRemoteCommand(server.execUrl(exec(['sh', '-c', 'exit 3'])), { stdout: true }, ['v2.channel.k8s.io'])).done;
    expect(fail.protocol).toBe('v2.channel.k8s.io');
    expect(fail.error).toBe('command terminated with non-zero exit code: exit status 3');
    const ok = await (await spdyRemoteCommand(server.execUrl(exec(['true'])), { stdout: true }, ['v2.channel.k8s.io'])).done;
    expect(ok.error).toBe('');
  });

  test('v1 (channel.k8s.io) runs the command and writes no status', async () => {
    const res = await (await spdyRemoteCommand(server.execUrl(exec(['sh', '-c', 'echo v1; exit 3'])), { stdout: true }, ['channel.k8s.io'])).done;
    expect(res.protocol).toBe('channel.k8s.io');
    expect(res.stdout).toBe('v1\n');
    expect(res.error).toBe('');
  });

  test('stdin round trip; closing stdin ends the command', async () => {
    const rc = await spdyRemoteCommand(server.execUrl(exec(['cat'], { stdin: true })), { stdin: true, stdout: true });
    rc.write('line one\n');
    await rc.waitForOutput('line one\n');
    rc.write('line two\n');
    rc.closeStdin();
    const res = await rc.done;
    expect(res.stdout).toBe('line one\nline two\n');
    expect(res.exitCode).toBe(0);
  });

  test('resizes reach the backend in order', async () => {
    const before = seen.resizes.length;
    const rc = await spdyRemoteCommand(server.execUrl(exec(['sh', '-c', 'read x; echo $x'], { stdin: true, tty: true, stderr: false })), { stdin: true, tty: true });
    rc.resize({ width: 100, height: 30 });
    rc.resize({ width: 120, height: 40 });
    await waitUntil(() => seen.resizes.length >= before + 2);
    rc.write('go\n');
    await rc.done;
    expect(seen.resizes.slice(before)).toEqual([
      { width: 100, height: 30 },
      { width: 120, height: 40 },
    ]);
  });

  test('a client that disconnects ends only its own exec', async () => {
    const other = await spdyRemoteCommand(server.execUrl(exec(['sh', '-c', 'read x; echo other $x'], { stdin: true })), { stdin: true, stdout: true });
    const rc = await spdyRemoteCommand(server.execUrl(exec(['sleep', '100'])), { stdout: true });
    rc.disconnect();
    await waitUntil(() => seen.aborted.includes('sleep 100'));
    other.write('alive\n');
    expect((await other.done).stdout).toBe('other alive\n');
  });

  test('attach failures are reported as an InternalError status', async () => {
    const attach: AttachRequest = { containerId: 'gone', stdin: false, tty: false, stdout: true, stderr: false };
    const res = await (await spdyRemoteCommand(server.attachUrl(attach), { stdout: true }, ['v4.channel.k8s.io'])).done;
    const status = JSON.parse(res.error) as { status: string; reason: string; message: string; code: number };
    expect(status).toMatchObject({ status: 'Failure', reason: 'InternalError', code: 500 });
    expect(status.message).toContain('error attaching to container: container gone is not running');
  });

  test('20 concurrent sessions', async () => {
    const runs = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => (await spdyRemoteCommand(server.execUrl(exec(['sh', '-c', `echo run-${i}; exit ${i % 4}`])), { stdout: true })).done),
    );
    runs.forEach((r, i) => {
      expect(r.stdout).toBe(`run-${i}\n`);
      expect(r.exitCode).toBe(i % 4);
    });
  });
});

describe('tokens and negotiation', () => {
  test('a used token is refused', async () => {
    const url = server.execUrl(exec(['true']));
    await (await spdyRemoteCommand(url, { stdout: true })).done;
    await expect(spdyDial(url, ['v4.channel.k8s.io'])).rejects.toMatchObject({ status: 404 });
  });

  test('an expired token is refused', async () => {
    const url = server.execUrl(exec(['true']));
    await new Promise((r) => setTimeout(r, 2100));
    const err = (await spdyDial(url, ['v4.channel.k8s.io']).catch((e: unknown) => e)) as UpgradeRefused;
    expect(err).toBeInstanceOf(UpgradeRefused);
    expect(err.status).toBe(404);
    expect(err.body).toContain('unknown, used or expired token');
  });

  test('a token only opens the kind of session it was issued for', async () => {
    const url = server.execUrl(exec(['true'])).replace('/exec/', '/attach/');
    await expect(spdyDial(url, ['v4.channel.k8s.io'])).rejects.toMatchObject({ status: 404 });
  });

  test('no common protocol: 403 naming what the server accepts', async () => {
    const err = (await spdyDial(server.execUrl(exec(['true'])), ['v9.channel.k8s.io']).catch((e: unknown) => e)) as UpgradeRefused;
    expect(err.status).toBe(403);
    expect(err.body).toContain('unable to negotiate protocol');
    expect(String(err.headers['x-accepted-stream-protocol-versions'])).toContain('v4.channel.k8s.io');
  });

  test('at most the configured number of tokens are outstanding', async () => {
    const small = await StreamServer.start({ address: '127.0.0.1:0', idleTimeoutMs: 0, backends: hostBackends(seen), log: pino({ level: 'silent' }), maxTokens: 3 });
    try {
      for (let i = 0; i < 3; i++) small.execUrl(exec(['true']));
      let thrown: unknown;
      try {
        small.execUrl(exec(['true']));
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(CriError);
      expect((thrown as CriError).kind).toBe('ResourceExhausted');
    } finally {
      await small.close();
    }
  });

  test('an idle connection is closed after the idle timeout', async () => {
    const idle = await StreamServer.start({ address: '127.0.0.1:0', idleTimeoutMs: 300, backends: hostBackends(seen), log: pino({ level: 'silent' }) });
    try {
      const rc = await spdyRemoteCommand(idle.execUrl(exec(['sleep', '30'])), { stdout: true });
      await rc.done; // ends when the server drops the silent connection
      await waitUntil(() => seen.aborted.includes('sleep 30'));
    } finally {
      await idle.close();
    }
  });
});

describe('TLS', () => {
  test('with a certificate and key the server speaks HTTPS and hands out https URLs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shoal-stream-tls-'));
    let tlsServer: StreamServer | undefined;
    try {
      const cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
      tlsServer = await StreamServer.start({ address: '127.0.0.1:0', idleTimeoutMs: 0, tlsCertFile: cert, tlsKeyFile: key, backends: hostBackends(seen), log: pino({ level: 'silent' }) });
      const url = tlsServer.execUrl(exec(['sh', '-c', 'echo over tls; exit 2']));
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/exec\//);
      const res = await (await spdyRemoteCommand(url, { stdout: true })).done;
      expect(res.stdout).toBe('over tls\n');
      expect(res.exitCode).toBe(2);
      const ws = await (await wsRemoteCommand(tlsServer.execUrl(exec(['sh', '-c', 'echo wss'])), { stdout: true })).done;
      expect(ws.stdout).toBe('wss\n');
    } finally {
      await tlsServer?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('remote command over WebSocket', () => {
  test('v5: stdin, the CLOSE signal and the exit status', async () => {
    const rc = await wsRemoteCommand(server.execUrl(exec(['sh', '-c', 'cat; exit 5'], { stdin: true })), { stdin: true, stdout: true });
    expect(rc.protocol).toBe('v5.channel.k8s.io');
    rc.write('via websocket\n');
    rc.closeStdin();
    const res = await rc.done;
    expect(res.stdout).toBe('via websocket\n');
    expect(res.exitCode).toBe(5);
  });

  test('v4 base64 dialect', async () => {
    const rc = await wsRemoteCommand(server.execUrl(exec(['sh', '-c', 'echo b64; echo e >&2'], { stderr: true })), { stdout: true, stderr: true }, 'v4.base64.channel.k8s.io');
    expect(rc.protocol).toBe('v4.base64.channel.k8s.io');
    const res = await rc.done;
    expect(res.stdout).toBe('b64\n');
    expect(res.stderr).toBe('e\n');
    expect(JSON.parse(res.error)).toEqual({ metadata: {}, status: 'Success' });
  });

  test('attach: output and stdin', async () => {
    const rc = await wsRemoteCommand(server.attachUrl({ containerId: 'c', stdin: true, tty: false, stdout: true, stderr: false }), { stdin: true, stdout: true });
    await rc.waitForOutput('attached\n');
    rc.write('hi\n');
    await rc.waitForOutput('echo:hi\n');
    rc.closeStdin();
    const res = await rc.done;
    expect(res.exitCode).toBe(0);
  });
});

describe('port forward', () => {
  test('SPDY: concurrent connections, a refused port reported on its error stream, the connection still usable', async () => {
    const { conn, protocol } = await spdyDial(server.portForwardUrl({ podSandboxId: 'p1', port: [] }), ['portforward.k8s.io']);
    expect(protocol).toBe('portforward.k8s.io');
    const [a, b] = await Promise.all([spdyForwardOnce(conn, echoPort, 0, 'a'), spdyForwardOnce(conn, echoPort, 1, 'b')]);
    expect(a).toEqual({ data: 'pong:a', error: '' });
    expect(b).toEqual({ data: 'pong:b', error: '' });
    const refused = await spdyForwardOnce(conn, closedPort, 2, 'x');
    expect(refused.data).toBe('');
    expect(refused.error).toContain(`error forwarding port ${closedPort} to pod p1`);
    expect(refused.error).toContain('ECONNREFUSED');
    expect(await spdyForwardOnce(conn, echoPort, 3, 'c')).toEqual({ data: 'pong:c', error: '' });
    conn.destroy();
  });

  test('WebSocket channels: port header on each channel, data both ways', async () => {
    const got: Record<number, Buffer[]> = { 0: [], 1: [] };
    const ws = await wsOpen(`${server.portForwardUrl({ podSandboxId: 'p1', port: [] })}?port=${echoPort}`, ['v4.channel.k8s.io'], (m) => got[m[0]!]?.push(m.subarray(1)));
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    await waitUntil(() => got[0]!.length >= 1 && got[1]!.length >= 1);
    expect(got[0]![0]!.readUInt16LE()).toBe(echoPort);
    expect(got[1]![0]!.readUInt16LE()).toBe(echoPort);
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('ws')]));
    await waitUntil(() => Buffer.concat(got[0]!.slice(1)).toString() === 'pong:ws');
    ws.close();
    await closed;
  });

  test('SPDY tunnelled in a WebSocket (SPDY/3.1+portforward.k8s.io)', async () => {
    const { conn, protocol } = await spdyTunnelDial(server.portForwardUrl({ podSandboxId: 'p1', port: [] }));
    expect(protocol).toBe('SPDY/3.1+portforward.k8s.io');
    expect(await spdyForwardOnce(conn, echoPort, 0, 'tunnel')).toEqual({ data: 'pong:tunnel', error: '' });
    conn.destroy();
  });
});

async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a condition');
    await new Promise((r) => setTimeout(r, 10));
  }
}

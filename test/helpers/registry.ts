import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSign, randomBytes, X509Certificate } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pusher } from './test_images';

/**
 * Debian's docker-registry (distribution 2.8) on 127.0.0.1 with a random free port, storage in a
 * temp dir, and one of three auth modes: none, htpasswd (basic), or token with a small token
 * issuer (RS256 JWTs, the signing certificate in the `x5c` header) served by this process.
 */
export type RegistryAuth =
  | { mode: 'none' }
  | { mode: 'htpasswd'; user: string; password: string }
  /** With `user`, the issuer grants tokens only for those credentials or for `refreshToken`. */
  | { mode: 'token'; user?: string; password?: string; refreshToken?: string };

export interface TestRegistry extends Pusher {
  /** host:port, the reference domain */
  readonly host: string;
  readonly dir: string;
  /** Where blob `digest` lives in the registry's filesystem storage (to corrupt it). */
  blobDataPath(digest: string): string;
  /** The self-signed certificate of a TLS instance. */
  readonly caFile?: string;
  /** Token issuer requests seen (token mode): "GET ?query" or "POST ". */
  readonly tokenRequests: string[];
  /** A registry token for `scope` signed by the issuer (token mode). */
  mintToken(scope: string): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

interface TokenIssuer {
  url: string;
  mint(scope: string, user?: string): string;
  requests: string[];
  close(): Promise<void>;
}

async function startTokenIssuer(dir: string, service: string, issuer: string, creds?: { user?: string; password?: string; refreshToken?: string }): Promise<TokenIssuer> {
  const keyPath = join(dir, 'token.key');
  const certPath = join(dir, 'token.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=shoal-test-token-issuer'], { stdio: 'ignore' });
  const key = readFileSync(keyPath, 'utf8');
  const certDer = new X509Certificate(readFileSync(certPath)).raw;
  const requests: string[] = [];
  const mint = (scope: string, user = '') => {
    const access = scope
      .split(' ')
      .filter(Boolean)
      .map((s) => {
        const [type, name, actions] = s.split(':');
        return { type, name, actions: actions.split(',') };
      });
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', x5c: [certDer.toString('base64')] };
    const claims = { iss: issuer, sub: user, aud: service, exp: now + 600, nbf: now - 60, iat: now, jti: randomBytes(8).toString('hex'), access };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = createSign('RSA-SHA256').update(signingInput).sign(key);
    return `${signingInput}.${base64url(signature)}`;
  };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${url.search}`);
    if (req.method === 'POST') {
      // OAuth2 refresh-token grant (what an identity token is exchanged with)
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        if (form.get('grant_type') !== 'refresh_token' || !creds?.refreshToken || form.get('refresh_token') !== creds.refreshToken) {
          res.writeHead(401).end();
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ access_token: mint(form.get('scope') ?? '', 'refreshed'), expires_in: 300 }));
      });
      return;
    }
    let user: string | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [u, p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (creds?.user && (u !== creds.user || p !== creds.password)) {
        res.writeHead(401).end();
        return;
      }
      user = u;
    } else if (creds?.user) {
      res.writeHead(401).end();
      return;
    }
    const scope = url.searchParams.getAll('scope').join(' ');
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token: mint(scope, user), expires_in: 300 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/token`,
    mint,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.on('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`docker-registry did not listen on ${port}: ${log()}`);
}

export interface RegistryOptions {
  /** Serve https with a fresh self-signed certificate for 127.0.0.1 (its PEM in `caFile`). */
  tls?: boolean;
  /** Serve the storage of another (plain) instance: push there, pull here. */
  storageOf?: TestRegistry;
}

export async function startRegistry(auth: RegistryAuth = { mode: 'none' }, options: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = await fsp.mkdtemp(join(tmpdir(), `shoal-registry-${process.pid}-`));
  let issuer: TokenIssuer | undefined;
  let child: ChildProcess | undefined;
  try {
    const port = await freePort();
    let authYaml = '';
    const service = 'shoal-test-registry';
    if (auth.mode === 'htpasswd') {
      const line = execFileSync('htpasswd', ['-Bbn', auth.user, auth.password], { encoding: 'utf8' });
      await fsp.writeFile(join(dir, 'htpasswd'), line.trim() + '\n');
      authYaml = `auth:\n  htpasswd:\n    realm: shoal-test\n    path: ${join(dir, 'htpasswd')}\n`;
    } else if (auth.mode === 'token') {
      issuer = await startTokenIssuer(dir, service, 'shoal-test-issuer', auth);
      authYaml = `auth:\n  token:\n    realm: ${issuer.url}\n    service: ${service}\n    issuer: shoal-test-issuer\n    rootcertbundle: ${join(dir, 'token.crt')}\n`;
    }
    let tlsYaml = '';
    if (options.tls) {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
        { stdio: 'ignore' },
      );
      tlsYaml = `  tls:\n    certificate: ${join(dir, 'tls.crt')}\n    key: ${join(dir, 'tls.key')}\n`;
    }
    const storageRoot = options.storageOf ? join(options.storageOf.dir, 'data') : join(dir, 'data');
    const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${storageRoot}
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: 127.0.0.1:${port}
  secret: ${randomBytes(16).toString('hex')}
${tlsYaml}${authYaml}`;
    await fsp.writeFile(join(dir, 'config.yml'), config);
    let output = '';
    child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    await waitForPort(port, child, () => output);
    const running = child;
    const tokenIssuer = issuer;
    const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    return {
      host: `127.0.0.1:${port}`,
      url,
      dir,
      tokenRequests: tokenIssuer?.requests ?? [],
      caFile: options.tls ? join(dir, 'tls.crt') : undefined,
      async authorization(repo: string) {
        if (auth.mode === 'htpasswd') return `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
        if (tokenIssuer) return `Bearer ${tokenIssuer.mint(`repository:${repo}:pull,push`, 'pusher')}`;
        return undefined;
      },
      mintToken(scope: string) {
        if (!tokenIssuer) throw new Error('not a token-mode registry');
        return tokenIssuer.mint(scope, 'minted');
      },
      blobDataPath(digest: string) {
        const hex = digest.slice(7);
        return join(storageRoot, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
      },
      async stop() {
        await stopChild(running);
        await tokenIssuer?.close();
        await fsp.rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    if (child) await stopChild(child);
    await issuer?.close();
    await fsp.rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CriError } from '../../src/errors';
import { closeRegistryConnections } from '../../src/image/registry/client';
import { openTestStore, type TestStore } from '../helpers/image_store';
import { startRegistry, type TestRegistry } from '../helpers/registry';
import { buildImage, pushImage, tarOf } from '../helpers/test_images';

/**
 * The registry client's transport against a real registry behind a scriptable proxy (used as a
 * mirror): blob redirects to another host, retries of transient failures, the stall timeout, and
 * https with a per-registry CA file.
 */
type Mode = (req: http.IncomingMessage, res: http.ServerResponse, forward: () => void) => void;

interface Proxy {
  url: string;
  blobGets: string[];
  mode: Mode | undefined;
  close(): Promise<void>;
}

let registry: TestRegistry;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  registry = await startRegistry();
});
afterAll(async () => {
  closeRegistryConnections();
  await registry?.stop();
});
afterEach(async () => {
  closeRegistryConnections();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startProxy(): Promise<Proxy> {
  const target = new URL(registry.url);
  const proxy: Proxy = {
    url: '',
    blobGets: [],
    mode: undefined,
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const forward = () => {
      const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '')) proxy.blobGets.push(req.url ?? '');
    if (proxy.mode) proxy.mode(req, res, forward);
    else forward();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  cleanups.push(() => proxy.close());
  return proxy;
}

async function storeVia(proxy: Proxy, extra: object = {}): Promise<TestStore> {
  const store = await openTestStore({ registry: { mirrors: { 'proxied.invalid': [proxy.url] }, ...extra } });
  cleanups.push(() => store.cleanup());
  return store;
}

async function pushed(repo: string, size = 64 * 1024) {
  const image = buildImage([{ tar: await tarOf([{ name: 'data', content: randomBytes(size) }]), compression: 'gzip' }]);
  await pushImage(registry, repo, 'v1', image);
  return image;
}

const isLayerGet = (req: http.IncomingMessage, digest: string) => req.method === 'GET' && (req.url ?? '').endsWith(`/blobs/${digest}`);

test('blob redirects to another host are followed', async () => {
  const image = await pushed('t/redirect');
  const proxy = await startProxy();
  proxy.mode = (req, res, forward) => {
    if (isLayerGet(req, image.layers[0].digest)) {
      res.writeHead(307, { Location: `${registry.url}${req.url}` }).end();
    } else forward();
  };
  const store = await storeVia(proxy);
  expect((await store.images.pull('proxied.invalid/t/redirect:v1', undefined)).id).toBe(image.id);
});

test('transient 503s are retried with backoff', async () => {
  const image = await pushed('t/flaky');
  const proxy = await startProxy();
  let failures = 2;
  proxy.mode = (req, res, forward) => {
    if (isLayerGet(req, image.layers[0].digest) && failures-- > 0) res.writeHead(503).end('try later');
    else forward();
  };
  const store = await storeVia(proxy);
  expect((await store.images.pull('proxied.invalid/t/flaky:v1', undefined)).id).toBe(image.id);
  expect(proxy.blobGets.filter((u) => u.endsWith(image.layers[0].digest))).toHaveLength(3);
});

test('a transfer that stops moving trips the stall timeout and the layer is fetched again', async () => {
  const image = await pushed('t/stall', 512 * 1024);
  const proxy = await startProxy();
  let stalled = false;
  proxy.mode = (req, res, forward) => {
    if (isLayerGet(req, image.layers[0].digest) && !stalled) {
      stalled = true;
      res.writeHead(200, { 'Content-Length': String(image.layers[0].data.length), 'Content-Type': 'application/octet-stream' });
      res.write(image.layers[0].data.subarray(0, 1024)); // then nothing: the connection stays open
    } else forward();
  };
  const store = await storeVia(proxy, { stall_timeout: '1s' });
  expect((await store.images.pull('proxied.invalid/t/stall:v1', undefined)).id).toBe(image.id);
  expect(proxy.blobGets.filter((u) => u.endsWith(image.layers[0].digest))).toHaveLength(2);
});

test('a slow but moving transfer is never cut by the stall timeout', async () => {
  const image = await pushed('t/slow', 256 * 1024);
  const proxy = await startProxy();
  proxy.mode = (req, res, forward) => {
    if (!isLayerGet(req, image.layers[0].digest)) return forward();
    const data = image.layers[0].data;
    res.writeHead(200, { 'Content-Length': String(data.length), 'Content-Type': 'application/octet-stream' });
    const pieces = 6;
    const step = Math.ceil(data.length / pieces);
    let i = 0;
    const tick = () => {
      res.write(data.subarray(i * step, (i + 1) * step));
      if (++i < pieces) setTimeout(tick, 400);
      else res.end();
    };
    tick();
  };
  // 6 pieces 400 ms apart: 2 s in all, well over the 1 s stall timeout, never 1 s without bytes
  const store = await storeVia(proxy, { stall_timeout: '1s' });
  expect((await store.images.pull('proxied.invalid/t/slow:v1', undefined)).id).toBe(image.id);
  expect(proxy.blobGets.filter((u) => u.endsWith(image.layers[0].digest))).toHaveLength(1);
});

test('https registries are verified: a self-signed one fails without its CA file and works with it', async () => {
  const image = await pushed('t/tls');
  const tls = await startRegistry({ mode: 'none' }, { tls: true, storageOf: registry });
  cleanups.push(() => tls.stop());
  const ref = `${tls.host}/t/tls:v1`;
  const without = await openTestStore({});
  cleanups.push(() => without.cleanup());
  const err = await without.images.pull(ref, undefined).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CriError);
  expect((err as Error).message).toMatch(/SELF_SIGNED|self.signed|certificate/i);
  closeRegistryConnections();
  const withCa = await openTestStore({ registry: { ca_files: { [tls.host]: tls.caFile! } } });
  cleanups.push(() => withCa.cleanup());
  expect((await withCa.images.pull(ref, undefined)).id).toBe(image.id);
});

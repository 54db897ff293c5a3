import { spawnSync } from 'node:child_process';
import { promises as fsp, readdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { SHOALD, startDaemon, type TestDaemon } from '../helpers/daemon';
import { startRegistry, type TestRegistry } from '../helpers/registry';
import { buildImage, busyboxEntries, pushImage, tarOf } from '../helpers/test_images';

/** The ImageService of a real shoald: restarts, a crash mid-pull, and `shoald image import` beside it. */
let registry: TestRegistry;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  registry = await startRegistry();
});
afterAll(async () => {
  await registry?.stop();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function daemon(extraToml = '', reuse?: TestDaemon): Promise<TestDaemon> {
  const d = await startDaemon({ reuse, configToml: `[registry]\ninsecure = ["${registry.host}"]\n${extraToml}` });
  if (!reuse) cleanups.push(() => d.cleanup());
  return d;
}

test('images pulled through shoald survive a restart; shoald image import loads a docker-archive the running daemon then lists', async () => {
  const image = buildImage([{ tar: await tarOf(busyboxEntries()), compression: 'gzip' }]);
  await pushImage(registry, 'd/app', 'v1', image);
  const first = await daemon();
  const name = `${registry.host}/d/app:v1`;
  expect((await first.client.image('PullImage', { image: { image: name } })).image_ref).toBe(image.id);
  expect(await first.stop()).toBe(0);

  const second = await daemon('', first);
  const status = await second.client.image('ImageStatus', { image: { image: name } });
  expect(status.image.id).toBe(image.id);

  const other = buildImage([{ tar: await tarOf([{ name: 'imported', content: 'yes' }]), compression: 'gzip' }]);
  const archive = join(second.dir, 'archive.tar');
  await fsp.writeFile(
    archive,
    await tarOf([
      { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', RepoTags: ['airgap/app:v9'], Layers: ['l.tar'] }]) },
      { name: 'c.json', content: other.config.data },
      { name: 'l.tar', content: gunzipSync(other.layers[0].data) },
    ]),
  );
  const run = spawnSync(SHOALD, ['--config', second.configFile, '--root', second.root, '--socket', second.socket, '--run-dir', second.runDir, 'image', 'import', archive], { encoding: 'utf8' });
  expect(run.stderr).not.toMatch(/error/i);
  expect(run.status).toBe(0);
  expect(run.stdout).toContain(other.id);
  const listed = await second.client.image('ListImages', {});
  expect(listed.images.map((i: { id: string }) => i.id).sort()).toEqual([image.id, other.id].sort());
  expect((await second.client.image('ImageStatus', { image: { image: 'airgap/app:v9' } })).image.id).toBe(other.id);
  await second.client.image('RemoveImage', { image: { image: 'airgap/app:v9' } });
  expect((await second.client.image('ListImages', {})).images).toHaveLength(1);
});

test('a daemon killed mid-pull leaves no visible image, and the next start removes the leftovers', async () => {
  const image = buildImage([
    { tar: await tarOf(busyboxEntries()), compression: 'gzip' },
    { tar: await tarOf([{ name: 'big', content: Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 7919) % 251)) }]), compression: 'none' },
  ]);
  await pushImage(registry, 'd/crash', 'v1', image);
  let stalledSeen!: () => void;
  const stalled = new Promise<void>((r) => (stalledSeen = r));
  const target = new URL(registry.url);
  const server = http.createServer((req, res) => {
    if ((req.url ?? '').endsWith(image.layers[1].digest)) {
      res.writeHead(200, { 'Content-Length': String(image.layers[1].data.length) });
      res.write(image.layers[1].data.subarray(0, 300_000)); // and then hang
      stalledSeen();
      return;
    }
    const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  const proxyUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const first = await daemon(`[registry.mirrors]\n"crash.invalid" = ["${proxyUrl}"]\n`);
  const pulling = first.client.image('PullImage', { image: { image: 'crash.invalid/d/crash:v1' } }).catch((e: unknown) => e);
  await stalled;
  // give the unpacker a moment to write what it received
  await new Promise((r) => setTimeout(r, 300));
  await first.kill();
  await pulling;
  const images = join(first.root, 'images');
  expect(readdirSync(join(images, 'records'))).toEqual([]);

  const second = await daemon(`[registry.mirrors]\n"crash.invalid" = ["${proxyUrl}"]\n`, first);
  expect((await second.client.image('ListImages', {})).images).toEqual([]);
  expect(readdirSync(join(images, 'tmp'))).toEqual([]);
  // the fully fetched base layer had no image: collected too
  expect(readdirSync(join(images, 'layers'))).toEqual([]);
  await second.stop();
});

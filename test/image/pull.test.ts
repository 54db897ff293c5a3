import { promises as fsp, lstatSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CriError } from '../../src/errors';
import { closeRegistryConnections } from '../../src/image/registry/client';
import { lgetxattr } from '../../src/image/syscalls';
import { openTestStore, type TestStore } from '../helpers/image_store';
import { startRegistry, type TestRegistry } from '../helpers/registry';
import { buildImage, buildIndex, busyboxEntries, pushImage, pushIndex, tarOf } from '../helpers/test_images';

let registry: TestRegistry;
let store: TestStore | undefined;
const stores: TestStore[] = [];

async function newStore(extra: Parameters<typeof openTestStore>[0] = {}): Promise<TestStore> {
  const s = await openTestStore({ registry: { insecure: [registry.host] }, ...extra });
  stores.push(s);
  return s;
}

beforeAll(async () => {
  registry = await startRegistry();
});
afterAll(async () => {
  closeRegistryConnections();
  await registry?.stop();
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.cleanup();
  store = undefined;
});

async function multiLayerImage() {
  const base = await tarOf([...busyboxEntries(), { name: 'etc/motd', content: 'hello' }, { name: 'var/cache/app/', type: 'directory' }, { name: 'var/cache/app/old', content: 'old' }]);
  const top = await tarOf([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/.wh.motd', content: '' },
    { name: 'var/cache/app/', type: 'directory' },
    { name: 'var/cache/app/.wh..wh..opq', content: '' },
    { name: 'var/cache/app/new', content: 'new', uid: 1000, gid: 1000 },
    { name: 'bin/tool', content: 'tool', mode: 0o755 },
    { name: 'bin/tool2', type: 'link', linkname: 'bin/tool' },
    { name: 'bin/busybox', content: 'patched', mode: 0o755 },
  ]);
  return buildImage([{ tar: base, compression: 'gzip' }, { tar: top, compression: 'gzip' }], { user: '1000:1000' });
}

test('a multi-layer Docker image is pulled, recorded and unpacked with whiteouts, opaque dirs and hardlinks', async () => {
  const image = await multiLayerImage();
  await pushImage(registry, 'test/multi', 'v1', image);
  store = await newStore();
  const record = await store.images.pull(`${registry.host}/test/multi:v1`, undefined);
  expect(record.id).toBe(image.id);
  expect(record.repoTags).toEqual([`${registry.host}/test/multi:v1`]);
  expect(record.repoDigests).toEqual([`${registry.host}/test/multi@${image.manifest.digest}`]);
  expect(record.uid).toBe(1000);
  expect(record.size).toBe(image.config.data.length + image.layers.reduce((s, l) => s + l.data.length, 0));
  const dirs = await store.images.layerDirs(image.id);
  expect(dirs).toHaveLength(2);
  const [topDir, baseDir] = dirs;
  expect(readFileSync(join(baseDir, 'etc/motd'), 'utf8')).toBe('hello');
  expect(statSync(join(baseDir, 'bin/busybox')).mode & 0o777).toBe(0o755);
  expect(lstatSync(join(topDir, 'etc/motd')).isCharacterDevice()).toBe(true);
  expect(lgetxattr(join(topDir, 'var/cache/app'), 'trusted.overlay.opaque')?.toString()).toBe('y');
  expect(statSync(join(topDir, 'var/cache/app/new')).uid).toBe(1000);
  expect(statSync(join(topDir, 'bin/tool2')).ino).toBe(statSync(join(topDir, 'bin/tool')).ino);
  expect(readFileSync(join(topDir, 'bin/busybox'), 'utf8')).toBe('patched');
  expect((await store.images.resolve(`${registry.host}/test/multi@${image.manifest.digest}`)).id).toBe(image.id);
  expect((await store.images.resolve(image.id.slice(7, 19))).id).toBe(image.id);
  expect(store.images.containerConfig(record).Cmd).toEqual(['/bin/sh']);
});

test.each(['oci', 'docker'] as const)('a %s index with amd64 and arm64 yields the host platform; zstd and uncompressed layers unpack', async (style) => {
  const arch = process.arch === 'x64' ? 'amd64' : 'arm64';
  const layerA = await tarOf([{ name: 'zstd-layer', content: 'z'.repeat(10000) }]);
  const layerB = await tarOf([{ name: 'plain-layer', content: 'p' }]);
  const mine = buildImage([{ tar: layerA, compression: 'zstd' }, { tar: layerB, compression: 'none' }], { style, architecture: arch, user: 'nobody' });
  const other = buildImage([{ tar: await tarOf([{ name: 'other', content: 'o' }]), compression: 'gzip' }], { style, architecture: arch === 'amd64' ? 'arm64' : 'amd64' });
  const index = buildIndex(
    [
      { image: other, architecture: arch === 'amd64' ? 'arm64' : 'amd64', variant: arch === 'amd64' ? 'v8' : undefined },
      { image: mine, architecture: arch },
    ],
    style,
  );
  await pushIndex(registry, `test/multiarch-${style}`, 'latest', index, [other, mine]);
  store = await newStore();
  const record = await store.images.pull(`${registry.host}/test/multiarch-${style}`, undefined);
  expect(record.id).toBe(mine.id);
  expect(record.username).toBe('nobody');
  expect(record.repoDigests).toEqual([`${registry.host}/test/multiarch-${style}@${index.digest}`]);
  const [top, bottom] = await store.images.layerDirs(record.id);
  expect(readFileSync(join(bottom, 'zstd-layer'), 'utf8')).toBe('z'.repeat(10000));
  expect(readFileSync(join(top, 'plain-layer'), 'utf8')).toBe('p');
  expect(existsBlob(store, other.config.digest)).toBe(false);
});

function existsBlob(s: TestStore, digest: string): boolean {
  return readdirSync(join(s.root, 'images/blobs/sha256')).includes(digest.slice(7));
}

function storeEntries(s: TestStore): { layers: string[]; records: string[]; tmp: string[] } {
  const dir = join(s.root, 'images');
  return { layers: readdirSync(join(dir, 'layers')), records: readdirSync(join(dir, 'records')), tmp: readdirSync(join(dir, 'tmp')) };
}

test('a blob whose content does not match its digest fails the pull and leaves nothing visible', async () => {
  const payload = Buffer.alloc(4096, 0x61);
  const image = buildImage([{ tar: await tarOf([{ name: 'data', content: payload }]), compression: 'none' }]);
  await pushImage(registry, 'test/corrupt', 'v1', image);
  // flip one byte of file content in the registry's storage: same length, other digest
  const path = registry.blobDataPath(image.layers[0].digest);
  const data = readFileSync(path);
  data[1024] ^= 0xff;
  await fsp.writeFile(path, data);
  store = await newStore();
  const err = await store.images.pull(`${registry.host}/test/corrupt:v1`, undefined).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CriError);
  expect((err as CriError).message).toMatch(/failed verification: content digest is sha256:/);
  expect(storeEntries(store)).toEqual({ layers: [], records: [], tmp: [] });
  expect(await store.images.list()).toEqual([]);
});

test('two concurrent pulls of one image fetch each layer once', async () => {
  const image = buildImage([{ tar: await tarOf([{ name: 'big', content: Buffer.alloc(2 << 20, 7) }]), compression: 'gzip' }]);
  await pushImage(registry, 'test/concurrent', 'v1', image);
  store = await newStore();
  const ref = `${registry.host}/test/concurrent:v1`;
  const [a, b] = await Promise.all([store.images.pull(ref, undefined), store.images.pull(ref, undefined)]);
  expect(a.id).toBe(image.id);
  expect(b.id).toBe(image.id);
  const pulled = await store.metrics.registry.getSingleMetric('shoal_image_pulled_bytes_total')?.get();
  expect(pulled?.values[0].value).toBe(image.layers[0].data.length);
  const pulls = await store.metrics.registry.getSingleMetric('shoal_image_pulls_total')?.get();
  expect(pulls?.values.find((v) => v.labels.result === 'success')?.value).toBe(2);
});

test('RemoveImage drops all tags; shared layers stay while used; holds keep layers until released', async () => {
  const shared = await tarOf(busyboxEntries());
  const one = buildImage([{ tar: shared, compression: 'gzip' }, { tar: await tarOf([{ name: 'one', content: '1' }]), compression: 'gzip' }]);
  const two = buildImage([{ tar: shared, compression: 'gzip' }, { tar: await tarOf([{ name: 'two', content: '2' }]), compression: 'gzip' }]);
  await pushImage(registry, 'test/one', 'a', one);
  await pushImage(registry, 'test/one', 'b', one);
  await pushImage(registry, 'test/two', 'v1', two);
  store = await newStore();
  await store.images.pull(`${registry.host}/test/one:a`, undefined);
  const rec = await store.images.pull(`${registry.host}/test/one:b`, undefined);
  expect(rec.repoTags.sort()).toEqual([`${registry.host}/test/one:a`, `${registry.host}/test/one:b`]);
  await store.images.pull(`${registry.host}/test/two:v1`, undefined);
  expect(storeEntries(store).layers).toHaveLength(3);
  const fs1 = await store.images.fsUsage();

  await store.images.holdLayers('ctr1', one.id);
  await store.images.remove(`${registry.host}/test/one:a`);
  expect(await store.images.find(`${registry.host}/test/one:b`)).toBeUndefined();
  expect(storeEntries(store).layers).toHaveLength(3); // held by ctr1
  await store.images.releaseLayers('ctr1');
  expect(storeEntries(store).layers).toHaveLength(2); // the shared base stays for test/two
  expect((await store.images.fsUsage()).usedBytes).toBeLessThan(fs1.usedBytes);
  await store.images.remove(`${registry.host}/test/one:a`); // idempotent
  await store.images.remove(two.id);
  expect(storeEntries(store)).toEqual({ layers: [], records: [], tmp: [] });
  expect(readdirSync(join(store.root, 'images/blobs/sha256'))).toEqual([]);
});

test('releasing a hold deletes only layers no other hold or record uses, across a reopen', async () => {
  const shared = await tarOf([{ name: 'shared', content: 'base' }]);
  const held = buildImage([{ tar: shared, compression: 'gzip' }, { tar: await tarOf([{ name: 'own', content: 'held' }]), compression: 'gzip' }]);
  const other = buildImage([{ tar: shared, compression: 'gzip' }, { tar: await tarOf([{ name: 'own', content: 'other' }]), compression: 'gzip' }]);
  await pushImage(registry, 'test/held', 'v1', held);
  await pushImage(registry, 'test/other', 'v1', other);
  store = await newStore();
  await store.images.pull(`${registry.host}/test/held:v1`, undefined);
  await store.images.pull(`${registry.host}/test/other:v1`, undefined);
  await store.images.holdLayers('ctr-a', held.id);
  await store.images.holdLayers('ctr-b', held.id);
  await store.images.remove(held.id);
  expect(storeEntries(store).layers).toHaveLength(3);

  await store.images.releaseLayers('ctr-a');
  expect(storeEntries(store).layers).toHaveLength(3); // ctr-b still holds them
  await store.reopen(); // the holds come back from disk
  await store.images.releaseLayers('ctr-a'); // idempotent
  expect(storeEntries(store).layers).toHaveLength(3);
  await store.images.releaseLayers('ctr-b');
  const left = storeEntries(store).layers;
  expect(left).toHaveLength(2); // the shared base stays for test/other
  const otherRecord = await store.images.find(`${registry.host}/test/other:v1`);
  expect(otherRecord?.layers.map((l) => l.chainId.slice('sha256:'.length)).sort()).toEqual([...left].sort());
});

test('a tag moves to the newly pulled image; records survive reopening; leftovers are removed at open', async () => {
  const v1 = buildImage([{ tar: await tarOf([{ name: 'v', content: '1' }]), compression: 'gzip' }]);
  const v2 = buildImage([{ tar: await tarOf([{ name: 'v', content: '2' }]), compression: 'gzip' }]);
  store = await newStore();
  await pushImage(registry, 'test/moving', 'latest', v1);
  await store.images.pull(`${registry.host}/test/moving`, undefined);
  await pushImage(registry, 'test/moving', 'latest', v2);
  await store.images.pull(`${registry.host}/test/moving`, undefined);
  const byId = new Map((await store.images.list()).map((r) => [r.id, r]));
  expect(byId.get(v1.id)?.repoTags).toEqual([]);
  expect(byId.get(v2.id)?.repoTags).toEqual([`${registry.host}/test/moving:latest`]);
  // an interrupted pull from a dead process, and an unreferenced layer
  await fsp.mkdir(join(store.root, 'images/tmp/999999999-abc-layer'), { recursive: true });
  await fsp.mkdir(join(store.root, `images/layers/${'f'.repeat(64)}/fs`), { recursive: true });
  const reopened = await store.reopen();
  expect((await reopened.resolve(`${registry.host}/test/moving:latest`)).id).toBe(v2.id);
  expect((await reopened.list()).length).toBe(2);
  expect(storeEntries(store).tmp).toEqual([]);
  expect(storeEntries(store).layers).not.toContain('f'.repeat(64));
});

describe('malicious layers pulled from a registry are refused with nothing written outside the store', () => {
  const cases: Array<[string, () => Promise<Buffer>, object, RegExp]> = [
    ['path traversal', () => tarOf([{ name: '../../../../../tmp/shoal-escape', content: 'x' }]), {}, /"\.\." in path/],
    ['symlink then write through it', () => tarOf([{ name: 'evil', type: 'symlink', linkname: '/tmp' }, { name: 'evil/shoal-escape', content: 'x' }]), {}, /through the symlink/],
    ['hardlink to a host file', () => tarOf([{ name: 'h', type: 'link', linkname: '../../../../etc/passwd' }]), {}, /"\.\." in path/],
    ['device node', () => tarOf([{ name: 'sda', type: 'block-device', devmajor: 8, devminor: 0 }]), {}, /device nodes are not allowed/],
    ['decompression bomb', () => tarOf([{ name: 'zeros', content: Buffer.alloc(8 << 20) }]), { image: { max_compression_ratio: 50 } }, /max_compression_ratio/],
    ['oversized layer', () => tarOf([{ name: 'big', content: Buffer.alloc(1 << 20, 1) }]), { image: { max_layer_bytes: 512 * 1024 } }, /max_layer_bytes/],
  ];
  test.each(cases)('%s', async (name, makeTar, settings, message) => {
    const image = buildImage([{ tar: await tarOf(busyboxEntries()), compression: 'gzip' }, { tar: await makeTar(), compression: 'gzip' }]);
    const repo = `test/evil-${name.replace(/\W+/g, '-')}`;
    await pushImage(registry, repo, 'v1', image);
    store = await newStore(settings);
    await fsp.rm('/tmp/shoal-escape', { force: true });
    const err = await store.images.pull(`${registry.host}/${repo}:v1`, undefined).catch((e: unknown) => e);
    expect((err as CriError).kind).toBe('FailedPrecondition');
    expect((err as Error).message).toMatch(message);
    expect(await store.images.list()).toEqual([]);
    expect(storeEntries(store).tmp).toEqual([]);
    await expect(fsp.lstat('/tmp/shoal-escape')).rejects.toThrow(/ENOENT/);
  });
});

test('a reference to a missing tag is NotFound naming it', async () => {
  store = await newStore();
  const err = await store.images.pull(`${registry.host}/test/absent:nope`, undefined).catch((e: unknown) => e);
  expect((err as CriError).kind).toBe('NotFound');
  expect((err as Error).message).toContain('test/absent');
});

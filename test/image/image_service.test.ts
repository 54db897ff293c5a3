import { promises as fsp, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { configSchema, type ConfigInput } from '../../src/config/schema';
import { ImageServiceService, type ImageServiceServer } from '../../src/gen/runtime/v1/api';
import { ImageManager } from '../../src/image/manager';
import { closeRegistryConnections } from '../../src/image/registry/client';
import { Metrics } from '../../src/metrics/metrics';
import { CriServer } from '../../src/server/grpc';
import { imageHandlers } from '../../src/server/image_service';
import { codeOf, criClient, type CriClient } from '../helpers/cri_client';
import { freePort, startRegistry, type TestRegistry } from '../helpers/registry';
import { buildImage, busyboxEntries, pushImage, tarOf } from '../helpers/test_images';

/**
 * The ImageService over its real gRPC wiring (CriServer on a unix socket, proto-loader client),
 * against real registries: anonymous, htpasswd (basic) and token-authenticated, and a mirror.
 */
interface Served {
  dir: string;
  client: CriClient;
  images: ImageManager;
  stop(): Promise<void>;
}

const log = pino({ level: 'silent' });
let plain: TestRegistry;
let basic: TestRegistry;
let token: TestRegistry;
const toStop: Array<() => Promise<void>> = [];

async function serve(input: Omit<ConfigInput, 'root'>, dir?: string): Promise<Served> {
  const base = dir ?? (await fsp.mkdtemp(join(tmpdir(), `shoal-imgsvc-${process.pid}-`)));
  const config = configSchema.parse({ ...input, root: join(base, 'root') });
  const metrics = new Metrics();
  const images = await ImageManager.open({ root: config.root, config, log, metrics });
  const server = new CriServer({ log, metrics, maxMessageBytes: config.grpc_max_message_bytes });
  server.addService<ImageServiceServer>('ImageService', ImageServiceService, imageHandlers(images));
  const socket = join(base, 's.sock');
  await server.listen(socket);
  const client = criClient(socket);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    client.close();
    await server.shutdown(0);
    await images.close();
  };
  toStop.push(async () => {
    await stop();
    await fsp.rm(base, { recursive: true, force: true });
  });
  return { dir: base, client, images, stop };
}

beforeAll(async () => {
  plain = await startRegistry();
  basic = await startRegistry({ mode: 'htpasswd', user: 'puller', password: 's3cret' });
  token = await startRegistry({ mode: 'token' });
});
afterAll(async () => {
  closeRegistryConnections();
  for (const r of [plain, basic, token]) await r?.stop();
});
afterEach(async () => {
  for (const stop of toStop.splice(0)) await stop();
});

async function smallImage(marker: string) {
  return buildImage([{ tar: await tarOf(busyboxEntries()), compression: 'gzip' }, { tar: await tarOf([{ name: 'marker', content: marker }]), compression: 'gzip' }], {
    user: '65534',
  });
}

test('PullImage, ImageStatus (verbose), ListImages, StreamImages, ImageFsInfo, RemoveImage over gRPC; records survive a restart', async () => {
  const image = await smallImage('svc');
  await pushImage(plain, 'svc/app', 'v1', image);
  const s = await serve({ registry: { insecure: [plain.host] } });
  const name = `${plain.host}/svc/app:v1`;
  const pulled = await s.client.image('PullImage', { image: { image: name } });
  expect(pulled.image_ref).toBe(image.id);

  const status = await s.client.image('ImageStatus', { image: { image: name }, verbose: true });
  expect(status.image.id).toBe(image.id);
  expect(status.image.repo_tags).toEqual([name]);
  expect(status.image.repo_digests).toEqual([`${plain.host}/svc/app@${image.manifest.digest}`]);
  expect(status.image.uid).toEqual({ value: '65534' });
  expect(Number(status.image.size)).toBe(image.config.data.length + image.layers.reduce((n, l) => n + l.data.length, 0));
  const info = JSON.parse(status.info.info);
  expect(info.imageSpec.rootfs.diff_ids).toEqual(image.layers.map((l) => l.diffId));

  const absent = await s.client.image('ImageStatus', { image: { image: `${plain.host}/svc/none:v1` } });
  expect(absent.image).toBeNull();

  const listed = await s.client.image('ListImages', {});
  expect(listed.images.map((i: { id: string }) => i.id)).toEqual([image.id]);
  expect((await s.client.image('ListImages', { filter: { image: { image: image.id } } })).images).toHaveLength(1);
  expect((await s.client.image('ListImages', { filter: { image: { image: 'nothing:here' } } })).images).toHaveLength(0);
  const streamed = await s.client.imageStream('StreamImages', {});
  expect(streamed.flatMap((m) => m.images).map((i: { id: string }) => i.id)).toEqual([image.id]);

  const fs = await s.client.image('ImageFsInfo', {});
  expect(Number(fs.image_filesystems[0].used_bytes.value)).toBeGreaterThan(readFileSync('/bin/busybox').length);
  expect(Number(fs.image_filesystems[0].inodes_used.value)).toBeGreaterThan(8);
  expect(fs.image_filesystems[0].fs_id.mountpoint).toBe(join(s.dir, 'root/images'));
  expect(fs.container_filesystems[0].fs_id.mountpoint).toBe(join(s.dir, 'root/containers'));
  expect(Number(fs.image_filesystems[0].timestamp)).toBeGreaterThan(0);

  await s.stop();
  const again = await serve({ registry: { insecure: [plain.host] } }, s.dir);
  expect((await again.client.image('ImageStatus', { image: { image: image.id } })).image.repo_tags).toEqual([name]);
  await again.client.image('RemoveImage', { image: { image: `${plain.host}/svc/app@${image.manifest.digest}` } });
  expect((await again.client.image('ListImages', {})).images).toEqual([]);
  await again.client.image('RemoveImage', { image: { image: name } }); // idempotent
  expect(await fsp.readdir(join(s.dir, 'root/images/layers'))).toEqual([]);
});

test('malformed references are InvalidArgument; a missing image is NotFound', async () => {
  const s = await serve({ registry: { insecure: [plain.host] } });
  const bad = await s.client.image('PullImage', { image: { image: 'Bad//Ref' } }).catch((e: unknown) => e);
  expect(codeOf(bad)).toBe('INVALID_ARGUMENT');
  expect((bad as Error).message).toContain('Bad//Ref');
  const missing = await s.client.image('PullImage', { image: { image: `${plain.host}/svc/missing:v1` } }).catch((e: unknown) => e);
  expect(codeOf(missing)).toBe('NOT_FOUND');
});

test('basic auth: credentials from AuthConfig (username/password or auth) are used; without them the pull fails', async () => {
  const image = await smallImage('basic');
  await pushImage(basic, 'private/app', 'v1', image);
  const s = await serve({ registry: { insecure: [basic.host] } });
  const name = `${basic.host}/private/app:v1`;
  const denied = await s.client.image('PullImage', { image: { image: name } }).catch((e: unknown) => e);
  expect(codeOf(denied)).toBe('FAILED_PRECONDITION');
  expect((denied as Error).message).toMatch(/requires authentication|refused access/);
  const wrong = await s.client.image('PullImage', { image: { image: name }, auth: { username: 'puller', password: 'nope' } }).catch((e: unknown) => e);
  expect(codeOf(wrong)).toBe('FAILED_PRECONDITION');
  expect((wrong as Error).message).not.toContain('nope');
  const ok = await s.client.image('PullImage', { image: { image: name }, auth: { auth: Buffer.from('puller:s3cret').toString('base64') } });
  expect(ok.image_ref).toBe(image.id);
});

test('token auth: an anonymous bearer token is fetched from the challenge realm and cached per scope', async () => {
  const image = await smallImage('token');
  await pushImage(token, 'tok/app', 'v1', image);
  const s = await serve({ registry: { insecure: [token.host] } });
  const before = token.tokenRequests.length;
  const ok = await s.client.image('PullImage', { image: { image: `${token.host}/tok/app:v1` } });
  expect(ok.image_ref).toBe(image.id);
  const mine = token.tokenRequests.slice(before);
  expect(mine.length).toBe(1); // one token, reused for manifest, config and both layers
  expect(mine[0]).toMatch(/^GET .*scope=repository%3Atok%2Fapp%3Apull/);
});

test('token auth with credentials: username/password, an identity token (refresh grant) or a registry token', async () => {
  const locked = await startRegistry({ mode: 'token', user: 'robot', password: 'pw', refreshToken: 'refresh-me' });
  toStop.push(() => locked.stop());
  const image = await smallImage('token-creds');
  await pushImage(locked, 'sealed/app', 'v1', image);
  const name = `${locked.host}/sealed/app:v1`;
  const none = { username: '', password: '', auth: '', server_address: '', identity_token: '', registry_token: '' };
  for (const auth of [
    { ...none, username: 'robot', password: 'pw' },
    { ...none, identity_token: 'refresh-me' },
    { ...none, registry_token: locked.mintToken('repository:sealed/app:pull') },
  ]) {
    closeRegistryConnections(); // forget cached tokens between credential kinds
    const s = await serve({ registry: { insecure: [locked.host] } });
    expect((await s.client.image('PullImage', { image: { image: name }, auth })).image_ref).toBe(image.id);
  }
  closeRegistryConnections();
  const s = await serve({ registry: { insecure: [locked.host] } });
  const denied = await s.client.image('PullImage', { image: { image: name }, auth: { ...none, username: 'robot', password: 'wrong' } }).catch((e: unknown) => e);
  expect(codeOf(denied)).toBe('FAILED_PRECONDITION');
  expect(locked.tokenRequests.some((r) => r.startsWith('POST'))).toBe(true);
});

test('mirrors are tried in order before the registry itself', async () => {
  const image = await smallImage('mirror');
  await pushImage(plain, 'mirrored/app', 'v1', image);
  const dead = await freePort();
  const s = await serve({ registry: { mirrors: { 'upstream.invalid': [`http://127.0.0.1:${dead}`, plain.url] } } });
  const ok = await s.client.image('PullImage', { image: { image: 'upstream.invalid/mirrored/app:v1' } });
  expect(ok.image_ref).toBe(image.id);
  const status = await s.client.image('ImageStatus', { image: { image: 'upstream.invalid/mirrored/app:v1' } });
  expect(status.image.repo_tags).toEqual(['upstream.invalid/mirrored/app:v1']);
});

test('shoald image import: a docker-archive and an OCI layout load beside a serving daemon', async () => {
  const s = await serve({});
  const image = await smallImage('import');
  const work = await fsp.mkdtemp(join(tmpdir(), `shoal-import-${process.pid}-`));
  toStop.push(() => fsp.rm(work, { recursive: true, force: true }));
  // docker-archive: manifest.json + config + uncompressed layer tars
  const { gunzipSync } = await import('node:zlib');
  const dockerEntries = [
    { name: 'manifest.json', content: JSON.stringify([{ Config: 'config.json', RepoTags: ['imported/app:v1'], Layers: ['l0/layer.tar', 'l1/layer.tar'] }]) },
    { name: 'config.json', content: image.config.data },
    { name: 'l0/layer.tar', content: gunzipSync(image.layers[0].data) },
    { name: 'l1/layer.tar', content: gunzipSync(image.layers[1].data) },
  ];
  await fsp.writeFile(join(work, 'docker.tar'), await tarOf(dockerEntries));
  const { importArchive } = await import('../../src/image/import');
  const importer = await ImageManager.open({ root: join(s.dir, 'root'), config: configSchema.parse({ root: join(s.dir, 'root') }), log }, { collect: false });
  const [imported] = await importArchive(importer, configSchema.parse({ root: join(s.dir, 'root') }), join(work, 'docker.tar'));
  expect(imported.id).toBe(image.id);
  const seen = await s.client.image('ImageStatus', { image: { image: 'imported/app:v1' } });
  expect(seen.image.repo_tags).toEqual(['docker.io/imported/app:v1']);

  // OCI layout with a ref.name tag and --name for the repository
  const other = await smallImage('oci');
  const blobs = [other.config, other.manifest, ...other.layers].map((b) => ({ name: `blobs/sha256/${b.digest.slice(7)}`, content: b.data }));
  const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: other.manifest.mediaType, digest: other.manifest.digest, size: other.manifest.data.length, annotations: { 'org.opencontainers.image.ref.name': 'v2' } }] };
  await fsp.writeFile(join(work, 'oci.tar'), await tarOf([{ name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' }, { name: 'index.json', content: JSON.stringify(index) }, ...blobs]));
  const [fromOci] = await importArchive(importer, configSchema.parse({ root: join(s.dir, 'root') }), join(work, 'oci.tar'), { name: 'example.com/oci/app' });
  expect(fromOci.id).toBe(other.id);
  const list = await s.client.image('ListImages', {});
  expect(list.images.map((i: { repo_tags: string[] }) => i.repo_tags[0]).sort()).toEqual(['docker.io/imported/app:v1', 'example.com/oci/app:v2']);
});

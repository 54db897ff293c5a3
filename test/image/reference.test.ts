import { CriError } from '../../src/errors';
import { chainIds, hostPlatformMatcher, parseManifestDocument, selectManifest, sha256Digest } from '../../src/image/manifest';
import { formatReference, parseReference } from '../../src/image/reference';
import { parseChallenges, credentialsFromAuthConfig } from '../../src/image/registry/auth';

const D = `sha256:${'a'.repeat(64)}`;

test.each([
  ['busybox', 'docker.io/library/busybox:latest'],
  ['library/busybox:1.36', 'docker.io/library/busybox:1.36'],
  ['index.docker.io/team/app', 'docker.io/team/app:latest'],
  ['localhost/app', 'localhost/app:latest'],
  ['127.0.0.1:5000/a/b/c:v1', '127.0.0.1:5000/a/b/c:v1'],
  [`quay.io/x/y@${D}`, `quay.io/x/y@${D}`],
  [`busybox:1.2@${D}`, `docker.io/library/busybox:1.2@${D}`],
  ['registry.example.com:443/my_app-x.y:tag_1.0-rc', 'registry.example.com:443/my_app-x.y:tag_1.0-rc'],
])('%s normalizes to %s', (input, expected) => {
  expect(formatReference(parseReference(input))).toBe(expected);
});

test.each(['', 'upper/CASE', 'a//b', 'a:', 'busybox@sha256:abc', 'a/b:bad tag', '-lead', 'a..b/c', 'x'.repeat(300), 'a:b:c'])(
  'malformed reference %j is InvalidArgument naming it',
  (input) => {
    let error: unknown;
    try {
      parseReference(input);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CriError);
    expect((error as CriError).kind).toBe('InvalidArgument');
    expect((error as CriError).message).toContain(`"${input}"`);
  },
);

test('schema 1 manifests are refused with a clear error', () => {
  const body = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] }));
  expect(() => parseManifestDocument(body, 'application/vnd.docker.distribution.manifest.v1+prettyjws', 'manifest of x')).toThrow(/schema 1 manifest/);
});

test('platform selection picks linux/<host arch> and reports what an index offers', () => {
  const arch = process.arch === 'x64' ? 'amd64' : 'arm64';
  const other = arch === 'amd64' ? 'arm64' : 'amd64';
  const m = (a: string, digest: string, variant?: string) => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest,
    size: 1,
    platform: { os: 'linux', architecture: a, ...(variant ? { variant } : {}) },
  });
  const index = { mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [m(other, `sha256:${'1'.repeat(64)}`), m(arch, D)] };
  expect(selectManifest(index, hostPlatformMatcher(), 'idx').digest).toBe(D);
  expect(() => selectManifest({ ...index, manifests: [m(other, D)] }, hostPlatformMatcher(), 'idx')).toThrow(new RegExp(`offers: linux/${other}`));
  if (arch === 'amd64') {
    // a v2 build is preferred over a baseline one on any CPU of the last decade
    const idx2 = { ...index, manifests: [m('amd64', `sha256:${'2'.repeat(64)}`), m('amd64', `sha256:${'3'.repeat(64)}`, 'v9')] };
    expect(selectManifest(idx2, hostPlatformMatcher(), 'idx').digest).toBe(`sha256:${'2'.repeat(64)}`);
  }
});

test('chain ids follow the OCI definition', () => {
  const a = `sha256:${'a'.repeat(64)}`;
  const b = `sha256:${'b'.repeat(64)}`;
  expect(chainIds([a, b])).toEqual([a, sha256Digest(Buffer.from(`${a} ${b}`))]);
});

test('WWW-Authenticate challenges and CRI auth configs are parsed', () => {
  expect(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"')).toEqual([
    { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' } },
  ]);
  expect(parseChallenges('Basic realm="x"')).toEqual([{ scheme: 'basic', params: { realm: 'x' } }]);
  const auth = { username: '', password: '', auth: Buffer.from('u:p:w').toString('base64'), serverAddress: '', identityToken: '', registryToken: '' };
  expect(credentialsFromAuthConfig(auth)).toEqual({ username: 'u', password: 'p:w' });
});

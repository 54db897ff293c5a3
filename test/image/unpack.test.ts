import { promises as fsp, lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { lgetxattr } from '../../src/image/syscalls';
import { LayerRefused, unpackLayer } from '../../src/image/unpack/unpack';
import { busyboxBinary, tarOf, type TarEntry } from '../helpers/test_images';

let base: string;
beforeEach(async () => {
  base = await fsp.mkdtemp(join(tmpdir(), `shoal-unpack-${process.pid}-`));
});
afterEach(async () => {
  await fsp.rm(base, { recursive: true, force: true });
});

async function unpack(entries: TarEntry[], allowDeviceNodes = false): Promise<string> {
  const root = join(base, 'layer');
  await fsp.mkdir(root);
  await unpackLayer(Readable.from([await tarOf(entries)]), root, { allowDeviceNodes });
  return root;
}

/** Every path under base except the layer root's own subtree: must stay as before. */
async function outside(): Promise<string[]> {
  return (await fsp.readdir(base)).filter((n) => n !== 'layer').sort();
}

test('files, modes, owners, times, symlinks, hardlinks, fifos and xattrs are kept', async () => {
  const mtime = new Date(1_500_000_000_000);
  const root = await unpack([
    { name: './', type: 'directory', mode: 0o755 },
    { name: 'bin/', type: 'directory', mode: 0o755, mtime },
    { name: 'bin/busybox', content: busyboxBinary(), mode: 0o4755, uid: 1000, gid: 1001, mtime },
    { name: 'bin/sh', type: 'symlink', linkname: 'busybox', uid: 5, gid: 6, mtime },
    { name: 'bin/hard', type: 'link', linkname: 'bin/busybox' },
    { name: 'run/pipe', type: 'fifo', mode: 0o600 },
    { name: 'etc/data', content: 'x', pax: { 'SCHILY.xattr.user.shoal': 'yes' }, mode: 0o2640 },
  ]);
  const bb = statSync(join(root, 'bin/busybox'));
  expect(bb.mode & 0o7777).toBe(0o4755);
  expect([bb.uid, bb.gid]).toEqual([1000, 1001]);
  expect(bb.mtimeMs).toBe(mtime.getTime());
  expect(bb.nlink).toBe(2);
  expect(statSync(join(root, 'bin/hard')).ino).toBe(bb.ino);
  expect(readlinkSync(join(root, 'bin/sh'))).toBe('busybox');
  const sh = lstatSync(join(root, 'bin/sh'));
  expect([sh.uid, sh.gid, sh.mtimeMs]).toEqual([5, 6, mtime.getTime()]);
  expect(statSync(join(root, 'bin')).mtimeMs).toBe(mtime.getTime());
  expect(lstatSync(join(root, 'run/pipe')).isFIFO()).toBe(true);
  expect(statSync(join(root, 'etc/data')).mode & 0o7777).toBe(0o2640);
  expect(lgetxattr(join(root, 'etc/data'), 'user.shoal')?.toString()).toBe('yes');
});

test('files get their exact mode and owner whether or not creation alone could give them', async () => {
  const root = await unpack([
    { name: 'plain', content: 'a', mode: 0o644 },
    { name: 'private', content: 'b', mode: 0o600 },
    // bits a usual umask (022) drops, and special bits: both need an explicit chmod
    { name: 'open', content: 'c', mode: 0o666 },
    { name: 'sticky', content: 'd', mode: 0o1755 },
    { name: 'owned', content: 'e', mode: 0o644, uid: 7, gid: 8 },
    // a setgid directory makes new files inherit its group: root:root must still be set
    { name: 'shared/', type: 'directory', mode: 0o2775, gid: 50 },
    { name: 'shared/rootfile', content: 'f', mode: 0o644, uid: 0, gid: 0 },
    { name: 'shared/groupfile', content: 'g', mode: 0o640, uid: 0, gid: 9 },
  ]);
  const meta = (name: string) => {
    const st = statSync(join(root, name));
    return [st.mode & 0o7777, st.uid, st.gid];
  };
  expect(meta('plain')).toEqual([0o644, 0, 0]);
  expect(meta('private')).toEqual([0o600, 0, 0]);
  expect(meta('open')).toEqual([0o666, 0, 0]);
  expect(meta('sticky')).toEqual([0o1755, 0, 0]);
  expect(meta('owned')).toEqual([0o644, 7, 8]);
  expect(meta('shared')).toEqual([0o2775, 0, 50]);
  expect(meta('shared/rootfile')).toEqual([0o644, 0, 0]);
  expect(meta('shared/groupfile')).toEqual([0o640, 0, 9]);
});

test('a file entry repeated, or replacing a symlink or fifo, replaces it', async () => {
  const root = await unpack([
    { name: 'f', content: 'first' },
    { name: 'f', content: 'second' },
    { name: 'l', type: 'symlink', linkname: '/etc/passwd' },
    { name: 'l', content: 'not a link' },
    { name: 'p', type: 'fifo' },
    { name: 'p', content: 'not a fifo' },
  ]);
  expect(readFileSync(join(root, 'f'), 'utf8')).toBe('second');
  expect(lstatSync(join(root, 'l')).isFile()).toBe(true);
  expect(readFileSync(join(root, 'l'), 'utf8')).toBe('not a link');
  expect(readFileSync(join(root, 'p'), 'utf8')).toBe('not a fifo');
});

test('OCI whiteouts become overlay whiteouts and opaque dirs', async () => {
  const root = await unpack([
    { name: 'etc/', type: 'directory' },
    { name: 'etc/.wh.passwd', content: '' },
    { name: 'var/cache/', type: 'directory' },
    { name: 'var/cache/.wh..wh..opq', content: '' },
    { name: 'var/cache/kept', content: 'new' },
  ]);
  const wh = lstatSync(join(root, 'etc/passwd'));
  expect(wh.isCharacterDevice()).toBe(true);
  expect(wh.rdev).toBe(0);
  expect(lgetxattr(join(root, 'var/cache'), 'trusted.overlay.opaque')?.toString()).toBe('y');
  expect(readFileSync(join(root, 'var/cache/kept'), 'utf8')).toBe('new');
  await expect(fsp.lstat(join(root, 'var/cache/.wh..wh..opq'))).rejects.toThrow(/ENOENT/);
});

test('archived trusted.overlay xattrs are dropped', async () => {
  const root = await unpack([{ name: 'd/', type: 'directory', pax: { 'SCHILY.xattr.trusted.overlay.opaque': 'y', 'SCHILY.xattr.trusted.overlay.redirect': '/x' } }]);
  expect(lgetxattr(join(root, 'd'), 'trusted.overlay.opaque')).toBeUndefined();
  expect(lgetxattr(join(root, 'd'), 'trusted.overlay.redirect')).toBeUndefined();
});

test('a later entry replaces an earlier one of another type', async () => {
  const root = await unpack([
    { name: 'a/b', content: 'file' },
    { name: 'a', type: 'symlink', linkname: 'elsewhere' },
    { name: 'a', type: 'directory' },
    { name: 'a/c', content: 'ok' },
  ]);
  expect(readFileSync(join(root, 'a/c'), 'utf8')).toBe('ok');
  expect(lstatSync(join(root, 'a')).isDirectory()).toBe(true);
});

describe('hostile archives', () => {
  const cases: Array<[string, TarEntry[], RegExp]> = [
    ['dot-dot path', [{ name: '../escaped', content: 'x' }], /"\.\." in path/],
    ['nested dot-dot', [{ name: 'a/../../escaped', content: 'x' }], /"\.\." in path/],
    ['absolute path', [{ name: '/escaped', content: 'x' }], /absolute path/],
    ['write through a symlink to a parent', [{ name: 'link', type: 'symlink', linkname: '..' }, { name: 'link/escaped', content: 'x' }], /through the symlink "link"/],
    ['write through an absolute symlink', [{ name: 'etc', type: 'symlink', linkname: '/tmp' }, { name: 'etc/escaped', content: 'x' }], /through the symlink "etc"/],
    ['hardlink outside', [{ name: 'h', type: 'link', linkname: '../outside' }], /"\.\." in path/],
    ['hardlink to an absolute path', [{ name: 'h', type: 'link', linkname: '/etc/shadow' }], /absolute path/],
    ['hardlink through a symlink', [{ name: 's', type: 'symlink', linkname: '/etc' }, { name: 'h', type: 'link', linkname: 's/shadow' }], /through the symlink "s"/],
    ['hardlink to a not-yet-unpacked entry', [{ name: 'h', type: 'link', linkname: 'later' }], /not an earlier entry/],
    ['device node', [{ name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 }], /device nodes are not allowed/],
    ['char device', [{ name: 'dev/mem', type: 'character-device', devmajor: 1, devminor: 1 }], /device nodes are not allowed/],
  ];
  test.each(cases)('%s is refused, naming the cause, and nothing is written outside', async (_name, entries, message) => {
    await fsp.writeFile(join(base, 'outside'), 'secret');
    const err = await unpack(entries).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LayerRefused);
    expect((err as Error).message).toMatch(message);
    expect(readFileSync(join(base, 'outside'), 'utf8')).toBe('secret');
    expect(await outside()).toEqual(['outside']);
  });
});

test('device nodes are created when allowed', async () => {
  const root = await unpack([{ name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 }], true);
  const st = lstatSync(join(root, 'dev/null'));
  expect(st.isCharacterDevice()).toBe(true);
  expect(st.rdev).toBe((1 << 8) | 3);
});

test('large files are streamed and many small ones written in parallel, all intact', async () => {
  const { randomBytes } = await import('node:crypto');
  const big = randomBytes(6 * 1024 * 1024 + 123);
  const small = Array.from({ length: 40 }, (_, i) => ({ name: `many/f${i}`, content: randomBytes(1000 + i), mode: 0o600 + (i % 8) }));
  const root = await unpack([...small, { name: 'big/file', content: big, mode: 0o640 }, { name: 'many/f3', content: 'replaced' }]);
  expect(readFileSync(join(root, 'big/file')).equals(big)).toBe(true);
  expect(statSync(join(root, 'big/file')).mode & 0o777).toBe(0o640);
  for (const [i, f] of small.entries()) {
    if (i === 3) continue;
    expect(readFileSync(join(root, f.name)).equals(f.content)).toBe(true);
    expect(statSync(join(root, f.name)).mode & 0o777).toBe(f.mode);
  }
  expect(readFileSync(join(root, 'many/f3'), 'utf8')).toBe('replaced');
});

import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, openSync, ftruncateSync, closeSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MountPointFinder, WritableLayerCache, deviceNumber, writableLayerUsage } from '../../src/stats/writable_layer';

describe('writable layer usage', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync('/tmp/shoal-stats-layer-');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('counts allocated bytes and inodes; a hard link once; a sparse file by what it holds', () => {
    const upper = join(dir, 'upper');
    mkdirSync(join(upper, 'etc/deep'), { recursive: true });
    const oneMiB = 1024 * 1024;
    writeFileSync(join(upper, 'etc/deep/data'), randomBytes(oneMiB));
    linkSync(join(upper, 'etc/deep/data'), join(upper, 'etc/data-link'));
    symlinkSync('deep/data', join(upper, 'etc/sym'));
    const sparse = openSync(join(upper, 'sparse'), 'w');
    ftruncateSync(sparse, 1024 * oneMiB);
    closeSync(sparse);

    const usage = writableLayerUsage(upper)!;
    // upper, etc, deep, data (linked twice, one inode), sym, sparse
    expect(usage.inodesUsed).toBe(6n);
    expect(usage.usedBytes).toBeGreaterThanOrEqual(BigInt(oneMiB));
    // the 1 GiB sparse file and the second link add (almost) nothing
    expect(usage.usedBytes).toBeLessThan(BigInt(2 * oneMiB));
  });

  test('an empty upper dir is one inode; a missing one is undefined', () => {
    mkdirSync(join(dir, 'empty'));
    expect(writableLayerUsage(join(dir, 'empty'))?.inodesUsed).toBe(1n);
    expect(writableLayerUsage(join(dir, 'missing'))).toBeUndefined();
  });
});

describe('mount point of a path', () => {
  test('finds the filesystem root holding a path, as mountinfo names it', () => {
    const finder = new MountPointFinder();
    expect(finder.find('/proc/self/status')).toBe('/proc');
    expect(finder.find('/')).toBe('/');
    expect(finder.find('/no/such/path')).toBeUndefined();
  });

  test('device numbers decode as glibc encodes them', () => {
    expect(deviceNumber(BigInt(statSync('/proc').dev))).toMatch(/^0:\d+$/);
    // major 259, minor 1 (an NVMe partition): (259 << 8) | 1
    expect(deviceNumber((259n << 8n) | 1n)).toBe('259:1');
    // minor above 255 goes to the high bits: major 8, minor 300
    expect(deviceNumber((8n << 8n) | (300n & 0xffn) | ((300n & ~0xffn) << 12n))).toBe('8:300');
  });
});

describe('writable layer walks reused for a second, or in proportion to their cost', () => {
  test('a cheap walk is reused for 1 s; a costly one for 20× its cost; retain forgets', () => {
    let clock = 0;
    let walks = 0;
    let cost = 0.05;
    const cache = new WritableLayerCache(() => {
      walks++;
      clock += cost;
      return { usedBytes: BigInt(walks), inodesUsed: 1n };
    }, () => clock);
    cache.usage('/a');
    clock += 500;
    expect(cache.usage('/a')?.usedBytes).toBe(1n);
    clock += 501;
    expect(cache.usage('/a')?.usedBytes).toBe(2n);

    cost = 500; // a walk of half a second: reused for 10 s
    clock += 1_001;
    cache.usage('/a');
    expect(walks).toBe(3);
    clock += 9_000;
    expect(cache.usage('/a')?.usedBytes).toBe(3n);
    clock += 1_001;
    expect(cache.usage('/a')?.usedBytes).toBe(4n);

    cache.retain(new Set());
    cost = 0.05;
    cache.usage('/a');
    expect(walks).toBe(5);
  });
});

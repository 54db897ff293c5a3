import { execFileSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diskUsage } from '../../src/image/disk_usage';

test('disk usage counts hardlinked inodes once and does not descend into mounts', async () => {
  const dir = await fsp.mkdtemp(join(tmpdir(), `shoal-du-${process.pid}-`));
  const mnt = join(dir, 'c1/rootfs');
  let mounted = false;
  try {
    await fsp.mkdir(mnt, { recursive: true });
    await fsp.writeFile(join(dir, 'c1/upper-file'), Buffer.alloc(64 * 1024, 1));
    await fsp.link(join(dir, 'c1/upper-file'), join(dir, 'c1/hardlink'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'shoal-du-test', mnt]);
    mounted = true;
    const before = await diskUsage(dir);
    await fsp.writeFile(join(mnt, 'inside-mount'), Buffer.alloc(1024 * 1024, 1));
    const after = await diskUsage(dir);
    expect(after.inodes).toBe(before.inodes);
    expect(after.bytes).toBe(before.bytes);
    expect(before.inodes).toBe(3); // dir, c1, the file (linked twice); not the mounted rootfs
    expect(before.bytes).toBeGreaterThanOrEqual(64 * 1024);
  } finally {
    if (mounted) execFileSync('umount', [mnt]);
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

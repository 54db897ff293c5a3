import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { cgroupApply, cgroupDestroy, cgroupUpdate } from '../../src/native/libshoal';
import { readCgroupLayout } from '../../src/cgroup/layout';
import { CgroupStatsReader } from '../../src/stats/cgroup/reader';
import { KeptOpenFiles } from '../../src/stats/cgroup/files';
import { StatsCollector } from '../../src/stats/collector';
import { HostMemory } from '../../src/stats/host_memory';
import { NetnsCounterReader } from '../../src/stats/network';
import { MountPointFinder } from '../../src/stats/writable_layer';
import type { StatsContainer } from '../../src/stats/source';

// A real cgroup on whatever this host has (v1 here, v2 in the cgroup2 VM), made by libshoal as the
// runtime makes container cgroups, with a process of known load inside.
const MiB = 1024 * 1024;
const HELD = 64 * MiB;

describe('stats of a live cgroup with known load', () => {
  const cgroupPath = `/shoal-stats-live-${process.pid}-${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync('/tmp/shoal-stats-live-');
  let child: ChildProcess | undefined;
  const network = new NetnsCounterReader();
  const collector = new StatsCollector({
    cgroups: new CgroupStatsReader(readCgroupLayout()),
    network,
    host: new HostMemory(),
    mounts: new MountPointFinder(),
  });

  beforeAll(async () => {
    // The child waits for a line on stdin (sent once it is in the cgroup), then fills and holds
    // HELD bytes and spins on one core forever.
    child = spawn(process.execPath, ['-e', `
      process.stdin.once('data', () => {
        const held = Buffer.alloc(${HELD}, 1);
        process.stdout.write('ready\\n');
        let x = 0;
        for (;;) { x += held[x % ${HELD}]; }
      });`], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child!.once('spawn', resolve);
      child!.once('error', reject);
    });
    cgroupApply(cgroupPath, {}, child.pid!);
    const ready = new Promise<void>((resolve) => child!.stdout!.once('data', () => resolve()));
    child.stdin!.write('go\n');
    await ready;
  });

  afterAll(() => {
    child?.kill('SIGKILL');
    network.close();
    try {
      cgroupDestroy(cgroupPath);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const container = (over: Partial<StatsContainer> = {}): StatsContainer => ({
    id: 'live', podSandboxId: 'pod', name: 'live', attempt: 0, labels: {}, annotations: {}, image: 'none',
    cgroupPath, running: true, ...over,
  });

  test('a busy loop: CPU usage grows; usage_nano_cores is its rate, up to one core', async () => {
    const first = collector.containerStats(container());
    const u1 = first.cpu!.usageCoreNanoSeconds!.value;
    await new Promise((r) => setTimeout(r, 1500));
    const second = collector.containerStats(container());
    const u2 = second.cpu!.usageCoreNanoSeconds!.value;
    expect(u2).toBeGreaterThan(u1);
    // usage_nano_cores is the counter's growth over the time between the samples (timestamps
    // are ms wall-clock: a few percent over 1.5 s). One spinning thread: up to one core (all of it
    // on an idle host), never more.
    const rate = Number(second.cpu!.usageNanoCores!.value);
    const expected = (Number(u2 - u1) * 1e9) / Number(second.cpu!.timestamp - first.cpu!.timestamp);
    expect(Math.abs(rate - expected) / expected).toBeLessThan(0.05);
    expect(rate).toBeGreaterThan(0);
    // one thread cannot exceed a core; the margin covers scheduling delay between a stamp and its read
    expect(rate / 1e9).toBeLessThan(1.25);
    expect(second.cpu!.timestamp).toBeGreaterThanOrEqual(first.cpu!.timestamp);
  });

  test('held memory: working set at least the bytes held; available = limit - working set', () => {
    const s = collector.containerStats(container());
    const ws = s.memory!.workingSetBytes!.value;
    expect(ws).toBeGreaterThanOrEqual(BigInt(HELD));
    expect(s.memory!.usageBytes!.value).toBeGreaterThanOrEqual(ws);
    expect(s.memory!.rssBytes!.value).toBeGreaterThanOrEqual(BigInt(HELD));
    expect(s.memory!.pageFaults!.value).toBeGreaterThan(BigInt(HELD / (2 * MiB)));
    const host = new HostMemory();
    expect(s.memory!.availableBytes!.value).toBe(host.memTotal - ws);
  });

  test('a memory limit shows in available bytes', () => {
    const limit = 512 * MiB;
    cgroupUpdate(cgroupPath, { memory: { limit } });
    const s = collector.containerStats(container());
    const ws = s.memory!.workingSetBytes!.value;
    // working set moves between two reads; the sum stays at the limit within a little slack
    expect(s.memory!.availableBytes!.value + ws).toBeGreaterThan(BigInt(limit - 8 * MiB));
    expect(s.memory!.availableBytes!.value + ws).toBeLessThanOrEqual(BigInt(limit));
  });

  test('process count and PSI where the kernel exposes them', () => {
    const reader = new CgroupStatsReader(readCgroupLayout());
    const sample = reader.read(cgroupPath);
    // node runs several threads; the pids controller counts them all
    expect(sample.pids?.current).toBeGreaterThanOrEqual(1n);
    const layout = readCgroupLayout();
    if (layout.v2Root !== undefined) {
      expect(sample.cpu?.psi?.some).toBeDefined();
      expect(sample.io?.psi).toBeDefined();
    }
  });

  test('a file in the writable layer counts at least its size', () => {
    const upper = join(dir, 'upper');
    rmSync(upper, { recursive: true, force: true });
    mkdirSync(join(upper, 'tmp'), { recursive: true });
    writeFileSync(join(upper, 'tmp/blob'), randomBytes(3 * MiB));
    const s = collector.containerStats(container({ upperDir: upper }));
    expect(s.writableLayer!.usedBytes!.value).toBeGreaterThanOrEqual(BigInt(3 * MiB));
    expect(s.writableLayer!.inodesUsed!.value).toBe(3n);
    expect(s.writableLayer!.fsId?.mountpoint).toMatch(/^\//);
  });

  test('a container that is not running reports no cgroup figures', () => {
    const s = collector.containerStats(container({ running: false }));
    expect(s.cpu).toBeUndefined();
    expect(s.memory).toBeUndefined();
    expect(s.attributes?.id).toBe('live');
  });
});

describe('cgroup files read through kept-open descriptors', () => {
  const cgroupPath = `/shoal-stats-fds-${process.pid}-${randomBytes(3).toString('hex')}`;
  let child: ChildProcess | undefined;

  afterAll(() => {
    child?.kill('SIGKILL');
    try {
      cgroupDestroy(cgroupPath);
    } catch {
      // already removed by the test
    }
  });

  test('each read is fresh; a removed cgroup reads as absent, a re-made one reads again; retain closes', async () => {
    const files = new KeptOpenFiles();
    const reader = new CgroupStatsReader(readCgroupLayout(), files);
    child = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    await new Promise<void>((resolve) => child!.once('spawn', resolve));
    cgroupApply(cgroupPath, {}, child.pid!);

    const a = reader.read(cgroupPath).cpu!.usageNs;
    const opened = files.openCount;
    expect(opened).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 300));
    const b = reader.read(cgroupPath).cpu!.usageNs;
    expect(b).toBeGreaterThan(a); // same descriptor, new content
    expect(files.openCount).toBe(opened); // nothing reopened

    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    cgroupDestroy(cgroupPath);
    const gone = reader.read(cgroupPath);
    expect(gone.cpu).toBeUndefined();
    expect(gone.memory).toBeUndefined();

    cgroupApply(cgroupPath, {});
    reader.retain(new Set([cgroupPath])); // forgets the misses of the removed one
    expect(reader.read(cgroupPath).cpu?.usageNs).toBe(0n);

    reader.retain(new Set());
    expect(files.openCount).toBe(0);
  });
});

import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { CgroupStatsReader } from '../../src/stats/cgroup/reader';
import { parsePsi } from '../../src/stats/cgroup/psi';
import { parseFlatKeyed, parseSingle, pickKeyed } from '../../src/stats/cgroup/files';
import type { CgroupLayout } from '../../src/cgroup/layout';

// Recorded samples: v1-real/ and unified/v1-real/ were copied from a live cgroup on this machine
// (cgroup v1 + a cgroup2 mount for PSI); v1-limited/ is that sample with limits and swap
// accounting; v2-*/ follow the kernel's cgroup-v2 documentation for each file.
const FIXTURES = join(__dirname, 'fixtures');

const v1Layout: CgroupLayout = {
  mode: 'hybrid',
  v2Root: join(FIXTURES, 'unified'),
  v2Controllers: [],
  v1: { cpuacct: FIXTURES, cpu: FIXTURES, memory: FIXTURES, pids: FIXTURES },
};
const v2Layout: CgroupLayout = { mode: 'v2', v2Root: FIXTURES, v2Controllers: ['cpu', 'memory', 'pids', 'io'], v1: {} };

describe('cgroup file formats', () => {
  test('flat keyed files keep only numeric values', () => {
    const m = parseFlatKeyed('cache 10\nrss 20\nbogus x\n\nhierarchical_memory_limit 9223372036854771712\n');
    expect(m.get('cache')).toBe(10n);
    expect(m.get('rss')).toBe(20n);
    expect(m.has('bogus')).toBe(false);
    expect(m.get('hierarchical_memory_limit')).toBe(9223372036854771712n);
  });

  test('picking keys matches whole keys at line starts only', () => {
    const text = 'rss_huge 1\nrss 2\ntotal_rss 3\ncache 4';
    const m = pickKeyed(text, ['rss', 'total_rss', 'rss_huge', 'cache', 'swap']);
    expect([...m.entries()]).toEqual([['rss', 2n], ['total_rss', 3n], ['rss_huge', 1n], ['cache', 4n]]);
  });

  test('single values: numbers, and "max" as no limit', () => {
    expect(parseSingle('42\n')).toBe(42n);
    expect(parseSingle('max\n')).toBeUndefined();
  });

  test('PSI lines: some and full, totals in microseconds', () => {
    const psi = parsePsi(readFileSync(join(FIXTURES, 'v2-limited/cpu.pressure'), 'utf8'));
    expect(psi.some).toEqual({ avg10: 1.5, avg60: 0.75, avg300: 0.2, totalUs: 1234567n });
    expect(psi.full).toEqual({ avg10: 0.5, avg60: 0.25, avg300: 0.05, totalUs: 345678n });
  });

  test('PSI without a full line (cpu on kernels before 5.13)', () => {
    const psi = parsePsi('some avg10=0.00 avg60=0.00 avg300=0.00 total=42\n');
    expect(psi.some?.totalUs).toBe(42n);
    expect(psi.full).toBeUndefined();
  });
});

describe('cgroup v1 reader on recorded samples', () => {
  const reader = new CgroupStatsReader(v1Layout);

  test('cpu, memory, pids from the v1 controllers and PSI from the cgroup2 mirror', () => {
    const s = reader.read('/v1-real', { extended: true });
    expect(s.cpu?.usageNs).toBe(790945526n);
    expect(s.cpu?.userNs).toBe(731984206n);
    expect(s.cpu?.systemNs).toBe(56000000n);
    expect(s.cpu?.psi?.some?.totalUs).toBe(15092n);
    expect(s.cpu?.psi?.full?.totalUs).toBe(10217n);
    // working set = usage_in_bytes - total_inactive_file
    expect(s.memory?.usageBytes).toBe(58793984n);
    expect(s.memory?.workingSetBytes).toBe(58793984n - 8019968n);
    expect(s.memory?.rssBytes).toBe(48775168n);
    expect(s.memory?.cacheBytes).toBe(8577024n);
    expect(s.memory?.pageFaults).toBe(14514n);
    expect(s.memory?.majorPageFaults).toBe(1n);
    expect(s.memory?.limitBytes).toBeUndefined(); // 9223372036854771712 = unlimited
    expect(s.memory?.failcnt).toBe(0n);
    expect(s.memory?.oomKills).toBe(0n);
    expect(s.swap).toEqual({ usageBytes: 0n, limitBytes: undefined });
    expect(s.pids).toEqual({ current: 7n, limit: undefined });
    expect(s.io?.psi?.some?.totalUs).toBe(784n);
    expect(s.timestampNs).toBeGreaterThan(0n);
  });

  test('limits, swap limit (memsw minus memory) and OOM kills', () => {
    const s = reader.read('/v1-limited', { extended: true });
    expect(s.memory?.limitBytes).toBe(268435456n);
    expect(s.swap).toEqual({ usageBytes: 4096n, limitBytes: 536870912n - 268435456n });
    expect(s.memory?.failcnt).toBe(2n);
    expect(s.memory?.oomKills).toBe(3n);
    expect(s.pids).toEqual({ current: 7n, limit: 64n });
    // older kernels have no cpuacct.usage_user/sys: only the total is reported
    expect(s.cpu?.usageNs).toBe(790945526n);
    expect(s.cpu?.userNs).toBeUndefined();
    // no cgroup2 mirror for this one
    expect(s.cpu?.psi).toBeUndefined();
    expect(s.io).toBeUndefined();
  });

  test('the extended figures are only read when asked for', () => {
    const s = reader.read('/v1-real');
    expect(s.cpu?.userNs).toBeUndefined();
    expect(s.memory?.oomKills).toBeUndefined();
  });

  test('a cgroup that does not exist yields no figures rather than an error', () => {
    const s = reader.read('/no-such-cgroup');
    expect(s.cpu).toBeUndefined();
    expect(s.memory).toBeUndefined();
    expect(s.pids).toBeUndefined();
  });
});

describe('cgroup v2 reader on the kernel formats', () => {
  const reader = new CgroupStatsReader(v2Layout);

  test('limited cgroup', () => {
    const s = reader.read('/v2-limited', { extended: true });
    expect(s.cpu?.usageNs).toBe(2503101000n);
    expect(s.cpu?.userNs).toBe(2012345000n);
    expect(s.cpu?.systemNs).toBe(490756000n);
    expect(s.memory?.usageBytes).toBe(73400320n);
    expect(s.memory?.workingSetBytes).toBe(73400320n - 12582912n);
    expect(s.memory?.rssBytes).toBe(52428800n); // anon
    expect(s.memory?.cacheBytes).toBe(18874368n); // file
    expect(s.memory?.mappedFileBytes).toBe(4194304n);
    expect(s.memory?.pageFaults).toBe(23817n);
    expect(s.memory?.majorPageFaults).toBe(12n);
    expect(s.memory?.limitBytes).toBe(134217728n);
    expect(s.memory?.failcnt).toBe(3n);
    expect(s.memory?.oomKills).toBe(1n);
    expect(s.swap).toEqual({ usageBytes: 1048576n, limitBytes: 67108864n });
    expect(s.pids).toEqual({ current: 5n, limit: 1024n });
    expect(s.cpu?.psi?.some?.totalUs).toBe(1234567n);
    expect(s.memory?.psi?.full?.totalUs).toBe(1024n);
    expect(s.io?.psi?.some?.avg10).toBe(0.12);
  });

  test('"max" everywhere reads as no limit; working set never goes below zero', () => {
    const s = reader.read('/v2-unlimited', { extended: true });
    expect(s.memory?.limitBytes).toBeUndefined();
    expect(s.swap).toEqual({ usageBytes: 0n, limitBytes: undefined });
    expect(s.pids).toEqual({ current: 1n, limit: undefined });
    expect(s.memory?.workingSetBytes).toBe(0n); // inactive_file > current
    expect(s.cpu?.psi?.some?.totalUs).toBe(42n);
    expect(s.cpu?.psi?.full).toBeUndefined();
    expect(s.memory?.psi).toBeUndefined(); // no memory.pressure file
    expect(s.io).toBeUndefined();
  });
});

/**
 * The VM harness's self-check (run only inside the cgroup2 VM by test/vm/test-cgroup2.sh; its name
 * is not *.test.ts so the host suite never picks it up). It proves two things about the harness:
 * the guest really is cgroup2-only, and a v2 limit the core writes is visible in the kernel. The
 * harness runs it a second time with the pids.max write broken (test/vm/fault/break_cgroup_file.c
 * turns the file name into a wrong one): then this file must fail and `make test-cgroup2` must
 * see the failure, or the harness would hide real v2 bugs. The limit is written through
 * libshoal.so in this process, as the daemon writes pod cgroups and container updates: the fault
 * is injected with LD_PRELOAD, which reaches that library but not shoal-runtime (linked static).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { cgroupApply, cgroupDestroy } from '../../../src/native/libshoal';

const CGROUP2_SUPER_MAGIC = 0x63677270;

test('the guest offers cgroup2 alone, at /sys/fs/cgroup', () => {
  expect(fs.statfsSync('/sys/fs/cgroup').type).toBe(CGROUP2_SUPER_MAGIC);
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  expect(mounts).not.toMatch(/ - cgroup /);
  expect(fs.readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').trim().split(' ')).toEqual(
    expect.arrayContaining(['cpu', 'memory', 'pids', 'io', 'cpuset', 'hugetlb']),
  );
});

test("the core writes a cgroup's pids limit into cgroup v2", () => {
  const rel = `/shoal-vm-canary-${randomBytes(4).toString('hex')}`;
  try {
    cgroupApply(rel, { pids: { limit: 17 } });
    expect(fs.readFileSync(path.join('/sys/fs/cgroup', rel, 'pids.max'), 'utf8').trim()).toBe('17');
  } finally {
    cgroupDestroy(rel);
  }
});
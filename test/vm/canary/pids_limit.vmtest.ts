/**
 * The VM harness's self-check (run only inside the cgroup2 VM by test/vm/test-cgroup2.sh; its name
 * is not *.test.ts so the host suite never picks it up). It proves two things about the harness:
 * the guest really is cgroup2-only, and a v2 limit the core writes is visible in the kernel. The
 * harness runs it a second time with the pids.max write broken (test/vm/fault/break_cgroup_file.c
 * turns the file name into a wrong one): then this file must fail and `make test-cgroup2` must
 * see the failure, or the harness would hide real v2 bugs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RuntimeHarness } from '../../native/runtime_harness';

const CGROUP2_SUPER_MAGIC = 0x63677270;

let h: RuntimeHarness;
beforeEach(() => {
  h = new RuntimeHarness();
});
afterEach(() => h.cleanup());

test('the guest offers cgroup2 alone, at /sys/fs/cgroup', () => {
  expect(fs.statfsSync('/sys/fs/cgroup').type).toBe(CGROUP2_SUPER_MAGIC);
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  expect(mounts).not.toMatch(/ - cgroup /);
  expect(fs.readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').trim().split(' ')).toEqual(
    expect.arrayContaining(['cpu', 'memory', 'pids', 'io', 'cpuset', 'hugetlb']),
  );
});

test("the core writes a container's pids limit into its v2 cgroup", () => {
  const b = h.bundle({ args: ['sleep', '600'], edit: (s) => (s.linux.resources = { pids: { limit: 17 } }) });
  const id = h.id();
  const created = h.run(['create', '--bundle', b.dir, id]);
  expect(created.stderr).toBe('');
  expect(created.code).toBe(0);
  const dir = path.join('/sys/fs/cgroup', b.spec.linux.cgroupsPath as string);
  expect(fs.readFileSync(path.join(dir, 'pids.max'), 'utf8').trim()).toBe('17');
});

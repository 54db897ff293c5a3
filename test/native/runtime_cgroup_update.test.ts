/** Device rules changed on a running container: `shoal-runtime update --resources` and libshoal's
 *  shoal_cgroup_update re-apply linux.resources.devices. On cgroup v2 the eBPF device program is
 *  replaced (BPF_F_REPLACE), not joined by a second one (which could only narrow the rules); on v1
 *  the devices controller files are rewritten. Runs on the host and in the cgroup2 VM. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import koffi from 'koffi';
import { LIBSHOAL, rmCgroup, RuntimeHarness, waitFor } from './runtime_harness';

let h: RuntimeHarness;
beforeEach(() => {
  h = new RuntimeHarness();
});
afterEach(() => h.cleanup());

const lib = koffi.load(LIBSHOAL);
const updateFn = lib.func('int shoal_cgroup_update(const char *path, const char *res, _Out_ uint8_t *err, size_t errlen)');
const layoutFn = lib.func('int shoal_cgroup_layout(_Out_ uint8_t *out, size_t outlen)');
const devicesBpfFn = lib.func('int shoal_cgroup_devices_bpf(const char *dir, const char *res, const char *devs, _Out_ uint8_t *err, size_t errlen)');

function call(fn: (...args: unknown[]) => unknown, ...args: unknown[]): { rc: number; text: string } {
  const buf = Buffer.alloc(8192);
  const rc = fn(...args, buf, buf.length) as number;
  const n = buf.indexOf(0);
  return { rc, text: buf.subarray(0, n < 0 ? buf.length : n).toString('utf8') };
}

const DENY_ALL = { allow: false, access: 'rwm' };
const ALLOW_KMSG_W = { allow: true, type: 'c', major: 1, minor: 11, access: 'w' };

// /dev/kmsg (c 1:11) opened write-only needs no capability: only the device rules can refuse it.
const PROBE = '(exec 3>/dev/mydev) 2>/dev/null && echo mydev-open || echo mydev-denied; echo x > /dev/null && echo null-ok';

type Updater = (id: string, cgroupsPath: string, resources: unknown) => { code: number; stderr: string };

const viaCli: Updater = (id, _cg, resources) => {
  const file = path.join(h.tmp, `resources-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify(resources));
  const r = h.run(['update', '--resources', file, id]);
  return { code: r.code, stderr: r.stderr };
};
const viaLibshoal: Updater = (_id, cg, resources) => {
  const r = call(updateFn, cg, JSON.stringify(resources));
  return { code: r.rc === 0 ? 0 : 1, stderr: r.rc === 0 ? '' : r.text };
};

describe.each([
  ['shoal-runtime update', viaCli],
  ['libshoal shoal_cgroup_update', viaLibshoal],
])('%s', (_name, update) => {
  test('new device rules take effect in the running container, in both directions', () => {
    const b = h.bundle({
      args: ['sleep', '120'],
      edit: (s) => {
        s.mounts.push({ destination: '/dev/mydev', type: 'bind', source: '/dev/kmsg', options: ['bind'] });
        s.linux.resources = { devices: [DENY_ALL] };
      },
    });
    const id = h.id();
    const cg = b.spec.linux.cgroupsPath as string;
    expect(h.run(['run', '-d', '--bundle', b.dir, id]).stderr).toBe('');
    const probe = () => h.run(['exec', id, 'sh', '-c', PROBE]).stdout;
    expect(probe()).toBe('mydev-denied\nnull-ok\n');

    // wider: only a replaced program (or rewritten v1 rules) can let this through
    expect(update(id, cg, { devices: [DENY_ALL, ALLOW_KMSG_W] })).toEqual({ code: 0, stderr: '' });
    expect(probe()).toBe('mydev-open\nnull-ok\n');

    // an update without devices leaves the rules as they are
    expect(update(id, cg, { pids: { limit: 200 } })).toEqual({ code: 0, stderr: '' });
    expect(probe()).toBe('mydev-open\nnull-ok\n');

    // narrower again
    expect(update(id, cg, { devices: [DENY_ALL] })).toEqual({ code: 0, stderr: '' });
    expect(probe()).toBe('mydev-denied\nnull-ok\n');

    // an invalid rule is refused with one line and changes nothing
    const bad = update(id, cg, { devices: [DENY_ALL, { allow: true, type: 'x', major: 1, minor: 11, access: 'w' }] });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/devices\[1\]/);
    expect(probe()).toBe('mydev-denied\nnull-ok\n');
  });
});

test('shoal-runtime update refuses a stopped container, a missing file and a non-object', async () => {
  const b = h.bundle({ args: ['true'] });
  const id = h.id();
  expect(h.run(['create', '--bundle', b.dir, id]).stderr).toBe('');
  const file = path.join(h.tmp, 'res.json');
  fs.writeFileSync(file, '[1]');
  expect(h.run(['update', '--resources', file, id]).stderr).toMatch(/^shoal-runtime: update: --resources .*: not a linux.resources object\n$/);
  expect(h.run(['update', '--resources', path.join(h.tmp, 'nope.json'), id]).stderr).toMatch(/^shoal-runtime: update: --resources .*nope.json.*\n$/);
  expect(h.run(['update', id]).code).toBe(2);
  expect(h.run(['start', id]).code).toBe(0);
  await waitFor(() => h.state(id).status === 'stopped', 'the container to stop');
  fs.writeFileSync(file, JSON.stringify({ pids: { limit: 10 } }));
  const r = h.run(['update', '--resources', file, id]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/container .* is stopped/);
});

test('the eBPF device program attached again to the same cgroup replaces the first (cgroup2 mount)', () => {
  const out = Buffer.alloc(8192);
  expect(layoutFn(out, out.length)).toBe(0);
  const v2Root = JSON.parse(out.subarray(0, out.indexOf(0)).toString()).v2_root as string | null;
  if (!v2Root) throw new Error('no cgroup2 mount on this host');
  const cg = h.cgroup('shoal-bpf-replace');
  const dir = path.join(v2Root, cg);
  fs.mkdirSync(dir);
  try {
    const attach = (rules: unknown[]) => {
      const r = call(devicesBpfFn, dir, JSON.stringify({ devices: rules }), null);
      if (r.rc !== 0) throw new Error(r.text);
    };
    const probe = () =>
      spawnSync('sh', ['-c', `echo $$ > ${dir}/cgroup.procs && { (exec 3>/dev/kmsg) 2>/dev/null && echo kmsg-open || echo kmsg-denied; }`], {
        encoding: 'utf8',
      }).stdout;
    attach([DENY_ALL]);
    expect(probe()).toBe('kmsg-denied\n');
    attach([DENY_ALL, ALLOW_KMSG_W]);
    expect(probe()).toBe('kmsg-open\n'); // two programs would still deny: the first was replaced
    attach([DENY_ALL]);
    expect(probe()).toBe('kmsg-denied\n');
  } finally {
    rmCgroup(cg);
  }
});

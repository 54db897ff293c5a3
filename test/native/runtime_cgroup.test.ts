/** linux.resources through shoal-runtime (checked from inside the container and on the host), and
 *  libshoal's cgroup API as the daemon calls it through koffi (including the v2 conversions,
 *  planned for a v2 host since this one is v1/hybrid). */
import koffi from 'koffi';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { cgroupMounts, LIBSHOAL, rmCgroup, RuntimeHarness, waitFor } from './runtime_harness';

let h: RuntimeHarness;
beforeEach(() => {
  h = new RuntimeHarness();
});
afterEach(() => h.cleanup());

const lib = koffi.load(LIBSHOAL);
const layoutFn = lib.func('int shoal_cgroup_layout(_Out_ uint8_t *out, size_t outlen)');
const applyFn = lib.func('int shoal_cgroup_apply(const char *path, const char *res, int pid, _Out_ uint8_t *err, size_t errlen)');
const updateFn = lib.func('int shoal_cgroup_update(const char *path, const char *res, _Out_ uint8_t *err, size_t errlen)');
const destroyFn = lib.func('int shoal_cgroup_destroy(const char *path, _Out_ uint8_t *err, size_t errlen)');
const oomFn = lib.func('int shoal_cgroup_oom_killed(const char *path)');
const planFn = lib.func('int shoal_cgroup_plan(int version, const char *res, _Out_ uint8_t *out, size_t outlen)');
const devicesBpfFn = lib.func('int shoal_cgroup_devices_bpf(const char *dir, const char *res, const char *devs, _Out_ uint8_t *err, size_t errlen)');

function cstr(b: Buffer): string {
  const n = b.indexOf(0);
  return b.subarray(0, n < 0 ? b.length : n).toString('utf8');
}
type NativeFn = (...args: unknown[]) => unknown;
function call(fn: NativeFn, ...args: unknown[]): { rc: number; text: string } {
  const buf = Buffer.alloc(8192);
  const rc = fn(...args, buf, buf.length) as number;
  return { rc, text: cstr(buf) };
}
function plan(version: 1 | 2, res: unknown): { controller: string; file: string; value: string }[] {
  const r = call(planFn, version, JSON.stringify(res));
  if (r.rc !== 0) throw new Error(r.text);
  return JSON.parse(r.text);
}
function writes(version: 1 | 2, res: unknown): string[] {
  return plan(version, res).map((w) => `${w.file}=${w.value}`);
}

function hostHasSwap(): boolean {
  return fs.readFileSync('/proc/swaps', 'utf8').trim().split('\n').length > 1;
}

function hostLayout(): { mode: string; v2_root: string | null; v1: Record<string, string>; v2_controllers: string[] } {
  const r = call(layoutFn);
  expect(r.rc).toBe(0);
  return JSON.parse(r.text);
}

test('layout describes this host from mountinfo', () => {
  const l = hostLayout();
  const mounts = cgroupMounts();
  const v2 = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((x) => / - cgroup2 /.test(x));
  const hasV1 = fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(' - cgroup ');
  expect(l.mode).toBe(hasV1 ? (v2 ? 'hybrid' : 'v1') : 'v2');
  if (v2) expect(l.v2_root).toBe(v2.split(' ')[4]);
  for (const dir of Object.values(l.v1)) expect(mounts).toContain(dir);
  if (hasV1) expect(l.v1.memory).toBe(mounts.find((m) => fs.existsSync(path.join(m, 'memory.limit_in_bytes'))));
});

/** Where a controller's file of the container's cgroup appears inside the container (the runtime
 *  binds each hierarchy's cgroup dir under /sys/fs/cgroup/<mount name>, or the v2 dir itself). */
function insidePath(l: ReturnType<typeof hostLayout>, ctrl: string, v1file: string, v2file: string): string {
  if (l.v1[ctrl]) return `/sys/fs/cgroup/${path.basename(l.v1[ctrl])}/${v1file}`;
  return l.mode === 'v2' ? `/sys/fs/cgroup/${v2file}` : `/sys/fs/cgroup/${path.basename(l.v2_root as string)}/${v2file}`;
}

test('resources are applied and visible inside the container (per controller version)', () => {
  const l = hostLayout();
  const v1 = (c: string) => Boolean(l.v1[c]);
  const hugeVersion = l.v1.hugetlb ? 1 : l.v2_controllers.includes('hugetlb') ? 2 : 0;
  const files = [
    insidePath(l, 'memory', 'memory.limit_in_bytes', 'memory.max'),
    insidePath(l, 'memory', 'memory.soft_limit_in_bytes', 'memory.low'),
    insidePath(l, 'pids', 'pids.max', 'pids.max'),
    insidePath(l, 'cpu', 'cpu.shares', 'cpu.weight'),
    insidePath(l, 'cpu', 'cpu.cfs_quota_us', 'cpu.max'),
    insidePath(l, 'cpuset', 'cpuset.cpus', 'cpuset.cpus'),
  ];
  const b = h.bundle({
    args: ['cat', ...files],
    edit: (s) => {
      s.linux.resources = {
        memory: { limit: 64 * 1024 * 1024, reservation: 32 * 1024 * 1024 },
        pids: { limit: 42 },
        cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0' },
        hugepageLimits: hugeVersion ? [{ pageSize: '2MB', limit: 4 * 1024 * 1024 }] : [],
      };
    },
  });
  const r = h.run(['run', '--bundle', b.dir, h.id()]);
  expect(r.stderr).toBe('');
  expect(r.stdout.trim().split('\n')).toEqual([
    String(64 << 20),
    String(32 << 20),
    '42',
    v1('cpu') ? '512' : '20', // 1 + (512 - 2) * 9999 / 262142
    v1('cpu') ? '50000' : '50000 100000',
    '0',
  ]);
});

test('hugetlb limit lands in the hierarchy that holds hugetlb (cgroup2 on a hybrid host)', () => {
  const l = hostLayout();
  const b = h.bundle({ args: ['sleep', '30'], edit: (s) => (s.linux.resources = { hugepageLimits: [{ pageSize: '2MB', limit: 2 * 1024 * 1024 }] }) });
  const id = h.id();
  const r = h.run(['run', '-d', '--bundle', b.dir, id]);
  if (!l.v1.hugetlb && !l.v2_controllers.includes('hugetlb')) {
    expect(r.stderr).toMatch(/hugetlb controller is not mounted/);
    return;
  }
  expect(r.stderr).toBe('');
  const cg = b.spec.linux.cgroupsPath as string;
  const file = l.v1.hugetlb ? path.join(l.v1.hugetlb, cg, 'hugetlb.2MB.limit_in_bytes') : path.join(l.v2_root as string, cg, 'hugetlb.2MB.max');
  expect(fs.readFileSync(file, 'utf8').trim()).toBe(String(2 * 1024 * 1024));
  const pid = h.state(id).pid as number;
  const procs = fs.readFileSync(path.join(path.dirname(file), 'cgroup.procs'), 'utf8');
  expect(procs.split('\n')).toContain(String(pid));
});

test('devices: the rules deny what they deny (v1 devices controller, or the v2 eBPF program)', () => {
  // /dev/kmsg (c 1:11) opened write-only needs no capability: only the device rules can refuse it.
  // It is bind-mounted (linux.devices entries are allowed in the cgroup automatically).
  const script = '(exec 3>/dev/mydev) 2>/dev/null && echo mydev-open || echo mydev-denied; echo x > /dev/null && echo null-ok';
  const mk = (rules: unknown[] | undefined) =>
    h.bundle({
      args: ['sh', '-c', script],
      edit: (s) => {
        s.mounts.push({ destination: '/dev/mydev', type: 'bind', source: '/dev/kmsg', options: ['bind'] });
        if (rules) s.linux.resources = { devices: rules };
      },
    });
  expect(h.runIn(mk(undefined)).stdout).toBe('mydev-open\nnull-ok\n');
  expect(h.runIn(mk([{ allow: false, access: 'rwm' }])).stdout).toBe('mydev-denied\nnull-ok\n');
  expect(h.runIn(mk([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 11, access: 'w' }])).stdout).toBe(
    'mydev-open\nnull-ok\n',
  );
  // a node from linux.devices is allowed even under deny-all
  const own = h.bundle({
    args: ['sh', '-c', script],
    edit: (s) => {
      s.linux.devices = [{ path: '/dev/mydev', type: 'c', major: 1, minor: 11, fileMode: 0o666 }];
      s.linux.resources = { devices: [{ allow: false, access: 'rwm' }] };
    },
  });
  expect(h.runIn(own).stdout).toBe('mydev-open\nnull-ok\n');
});

test('the eBPF device program (cgroup v2) allows and denies by rule, last match wins', () => {
  const l = hostLayout();
  if (!l.v2_root) throw new Error('no cgroup2 mount on this host');
  // a shell that moves itself into a fresh cgroup with the program attached, then opens
  // /dev/kmsg (c 1:11) write-only and /dev/null
  const probe = (rules: unknown[]) => {
    const cg = h.cgroup('shoal-bpf');
    const dir = path.join(l.v2_root as string, cg);
    fs.mkdirSync(dir);
    const r = call(devicesBpfFn, dir, JSON.stringify({ devices: rules }), null);
    if (r.rc !== 0) throw new Error(r.text);
    const out = spawnSync('sh', ['-c', `echo $$ > ${dir}/cgroup.procs && { (exec 3>/dev/kmsg) 2>/dev/null && echo kmsg-open || echo kmsg-denied; (exec 3</dev/null) 2>/dev/null && echo null-open || echo null-denied; }`], {
      encoding: 'utf8',
    }).stdout;
    rmCgroup(cg);
    return out;
  };
  expect(probe([{ allow: true, access: 'rwm' }])).toBe('kmsg-open\nnull-open\n');
  expect(probe([{ allow: false, access: 'rwm' }])).toBe('kmsg-denied\nnull-open\n'); // defaults stay allowed
  expect(probe([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 11, access: 'w' }])).toBe('kmsg-open\nnull-open\n');
  expect(probe([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 11, access: 'r' }])).toBe('kmsg-denied\nnull-open\n');
  expect(probe([{ allow: true, access: 'rwm' }, { allow: false, type: 'c', major: 1, access: 'rwm' }])).toBe('kmsg-denied\nnull-open\n');
  expect(probe([{ allow: true, access: 'rwm' }, { allow: false, type: 'b', access: 'rwm' }])).toBe('kmsg-open\nnull-open\n');
  expect(call(devicesBpfFn, '/no/such/cgroup', JSON.stringify({ devices: [{ allow: false, access: 'rwm' }] }), null).text).toMatch(
    /cgroup devices: open \/no\/such\/cgroup: No such file or directory/,
  );
});

test('a memory limit OOM-kills and shoal_cgroup_oom_killed counts it', () => {
  const b = h.bundle({
    args: ['sh', '-c', 'sleep 30'],
    // with swap on the host, memory+swap must be capped too or the shell would swap instead
    edit: (s) => (s.linux.resources = { memory: { limit: 16 * 1024 * 1024, ...(hostHasSwap() ? { swap: 16 * 1024 * 1024 } : {}) } }),
  });
  const id = h.id();
  expect(h.run(['run', '-d', '--bundle', b.dir, id]).stderr).toBe('');
  const cg = b.spec.linux.cgroupsPath as string;
  expect(oomFn(cg)).toBe(0);
  const r = h.run(['exec', id, 'sh', '-c', 'x=a; while true; do x="$x$x"; done']);
  expect(r.code).toBe(137);
  expect(oomFn(cg)).toBeGreaterThanOrEqual(1);
});

test('koffi API: apply creates, limits and moves a pid; update validates first; destroy kills and removes', async () => {
  const cg = h.cgroup('shoal-api');
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  try {
    const a = call(applyFn, cg, JSON.stringify({ pids: { limit: 10 }, memory: { limit: 50 << 20 } }), sleeper.pid);
    expect(a.text).toBe('');
    expect(a.rc).toBe(0);
    const l = hostLayout();
    const pidsDir = path.join(l.v1.pids ?? (l.v2_root as string), cg);
    expect(fs.readFileSync(path.join(pidsDir, 'pids.max'), 'utf8').trim()).toBe('10');
    expect(fs.readFileSync(path.join(pidsDir, 'cgroup.procs'), 'utf8').split('\n')).toContain(String(sleeper.pid));

    expect(call(updateFn, cg, JSON.stringify({ pids: { limit: 20 } })).rc).toBe(0);
    expect(fs.readFileSync(path.join(pidsDir, 'pids.max'), 'utf8').trim()).toBe('20');
    // invalid: nothing is written (pids stays 20 although it comes first)
    const bad = call(updateFn, cg, JSON.stringify({ pids: { limit: 30 }, memory: { swappiness: 500 } }));
    expect(bad.rc).toBe(-1);
    expect(bad.text).toMatch(/swappiness: 500 is outside 0..100/);
    expect(fs.readFileSync(path.join(pidsDir, 'pids.max'), 'utf8').trim()).toBe('20');
    expect(call(updateFn, cg, '{not json').text).toMatch(/resources JSON/);
    expect(call(applyFn, '/../escape', '{}', 0).text).toMatch(/\.\. component/);

    const exited = new Promise((r) => sleeper.on('exit', r));
    const d = call(destroyFn, cg);
    expect(d.text).toBe('');
    expect(d.rc).toBe(0);
    await exited;
    for (const m of cgroupMounts()) expect(fs.existsSync(path.join(m, cg))).toBe(false);
    expect(call(destroyFn, cg).rc).toBe(0); // idempotent
    expect(oomFn(cg)).toBe(-1);
  } finally {
    sleeper.kill('SIGKILL');
  }
});

test('plan: v1 file names', () => {
  expect(
    writes(1, {
      memory: { limit: 1000000, reservation: 500000, swap: 2000000, swappiness: 10, disableOOMKiller: true },
      cpu: { shares: 1024, quota: 20000, period: 100000, cpus: '0-1', mems: '0', realtimeRuntime: 100, realtimePeriod: 1000 },
      pids: { limit: -1 },
      blockIO: {
        weight: 500,
        weightDevice: [{ major: 8, minor: 0, weight: 300 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
      },
      hugepageLimits: [{ pageSize: '1GB', limit: 1073741824 }],
      devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 200, access: 'rw' }],
    }),
  ).toEqual([
    'memory.limit_in_bytes=1000000',
    'memory.memsw.limit_in_bytes=2000000',
    'memory.soft_limit_in_bytes=500000',
    'memory.swappiness=10',
    'memory.oom_control=1',
    'cpu.shares=1024',
    'cpu.cfs_period_us=100000',
    'cpu.cfs_quota_us=20000',
    'cpu.rt_period_us=1000',
    'cpu.rt_runtime_us=100',
    'cpuset.cpus=0-1',
    'cpuset.mems=0',
    'pids.max=max',
    'blkio.weight=500',
    'blkio.weight_device=8:0 300',
    'blkio.throttle.read_bps_device=8:0 1048576',
    'blkio.throttle.write_iops_device=8:0 100',
    'hugetlb.1GB.limit_in_bytes=1073741824',
    'devices.deny=a',
    'devices.allow=c 10:200 rw',
    'devices.allow=c 1:3 rwm',
    'devices.allow=c 1:5 rwm',
    'devices.allow=c 1:7 rwm',
    'devices.allow=c 1:8 rwm',
    'devices.allow=c 1:9 rwm',
    'devices.allow=c 5:0 rwm',
    'devices.allow=c 5:1 rwm',
    'devices.allow=c 5:2 rwm',
    'devices.allow=c 136:* rwm',
  ]);
});

test('plan: v2 conversions (weight from shares, io weight, swap, cpu.max, unified)', () => {
  expect(
    writes(2, {
      memory: { limit: 1000000, reservation: 500000, swap: 3000000 },
      cpu: { shares: 1024, quota: 20000, period: 50000, cpus: '1', idle: 1 },
      pids: { limit: 64 },
      blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 10 }], throttleWriteBpsDevice: [{ major: 8, minor: 16, rate: 99 }] },
      hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }],
      unified: { 'memory.high': '900000', 'cgroup.freeze': '0' },
    }),
  ).toEqual([
    'memory.max=1000000',
    'memory.swap.max=2000000',
    'memory.low=500000',
    'cpu.weight=39',
    'cpu.max=20000 50000',
    'cpu.idle=1',
    'cpuset.cpus=1',
    'pids.max=64',
    'io.weight=default 4950',
    'io.weight=8:0 1',
    'io.max=8:16 wbps=99',
    'hugetlb.2MB.max=2097152',
    'memory.high=900000',
    'cgroup.freeze=0',
  ]);
  // the documented end points of the shares → weight mapping
  expect(writes(2, { cpu: { shares: 2 } })).toEqual(['cpu.weight=1']);
  expect(writes(2, { cpu: { shares: 262144 } })).toEqual(['cpu.weight=10000']);
  expect(writes(2, { cpu: { period: 20000 } })).toEqual(['cpu.max=max 20000']);
  expect(writes(2, { cpu: { quota: -1 } })).toEqual(['cpu.max=max 100000']);
  expect(writes(2, { memory: { limit: -1, swap: -1 } })).toEqual(['memory.max=max', 'memory.swap.max=max']);
  expect(writes(2, { blockIO: { weight: 10 } })).toEqual(['io.weight=default 1']);
  expect(writes(2, { blockIO: { weight: 1000 } })).toEqual(['io.weight=default 10000']);
  // v2 devices need an eBPF program shoal does not build: not pretended
  expect(writes(2, { devices: [{ allow: false, access: 'rwm' }] })).toEqual([]);
});

test('plan: invalid input is refused with the field named', () => {
  const bad = (v: 1 | 2, res: unknown) => call(planFn, v, JSON.stringify(res)).text;
  expect(bad(2, { memory: { limit: 100, swap: 50 } })).toMatch(/swap \(50\) is below limit \(100\)/);
  expect(bad(2, { memory: { swap: 50 } })).toMatch(/needs a memory limit/);
  expect(bad(2, { cpu: { realtimeRuntime: 5 } })).toMatch(/realtime/);
  expect(bad(1, { unified: { 'memory.high': '1' } })).toMatch(/not on a cgroup v2 hierarchy/);
  expect(bad(2, { unified: { '../x.y': '1' } })).toMatch(/bad key/);
  expect(bad(2, { hugepageLimits: [{ pageSize: '2XB', limit: 1 }] })).toMatch(/pageSize/);
  expect(bad(1, { cpu: { cpus: '0;1' } })).toMatch(/cpus\/mems/);
});

test('the exec\'d process ends up in the container\'s cgroup', async () => {
  const b = h.bundle({ args: ['sleep', '30'] });
  const id = h.id();
  expect(h.run(['run', '-d', '--bundle', b.dir, id]).code).toBe(0);
  const pidFile = path.join(h.tmp, 'exec.pid');
  expect(h.run(['exec', '-d', '--pid-file', pidFile, id, 'sleep', '20']).code).toBe(0);
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  const cg = b.spec.linux.cgroupsPath as string;
  await waitFor(() => fs.existsSync(`/proc/${pid}`), 'exec pid');
  const lines = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  for (const line of lines) {
    const [, ctrl, p] = line.split(':');
    if (ctrl === 'name=systemd' || ctrl === '' || ctrl.length > 0) expect(p).toBe(cg);
  }
});

/** The core's security checklist, each item with a test that fails without it: the runtime binary
 *  cannot be reached or overwritten from inside; no caller fd leaks; cwd must be inside the root;
 *  no_new_privs before seccomp; capabilities dropped last; mount targets resolved inside the rootfs. */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RUNTIME, RuntimeHarness } from './runtime_harness';

let h: RuntimeHarness;
beforeEach(() => {
  h = new RuntimeHarness();
});
afterEach(() => h.cleanup());

const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** Runs the runtime with extra descriptors 3.. open in the caller (files in h.tmp). */
function runWithFds(args: string[], extra: number): { code: number; stdout: string; stderr: string } {
  const fds: number[] = [];
  for (let i = 0; i < extra; i++) fds.push(fs.openSync(path.join(h.tmp, `leak-${i}`), 'w'));
  const out = path.join(h.tmp, 'fd-out');
  const err = path.join(h.tmp, 'fd-err');
  const o = fs.openSync(out, 'w');
  const e = fs.openSync(err, 'w');
  try {
    const r = spawnSync(RUNTIME, ['--root', h.root, ...args], { stdio: ['ignore', o, e, ...fds], timeout: 30000 });
    return { code: r.status ?? 128, stdout: fs.readFileSync(out, 'utf8'), stderr: fs.readFileSync(err, 'utf8') };
  } finally {
    for (const fd of [...fds, o, e]) fs.closeSync(fd);
  }
}

test('the runtime runs from a sealed memfd: its binary cannot be reached or written from the container', () => {
  const before = sha(RUNTIME);
  // Share the host pid namespace so the container can see its parent, the `run` process.
  const script =
    'readlink /proc/$PPID/exe; echo x >> /proc/$PPID/exe && echo WROTE-EXE || echo exe-write-refused; ' +
    'exec 3</proc/$PPID/exe && echo opened; cat /proc/$PPID/exe > /tmp/copy && echo copied';
  const mk = (ptrace: boolean) =>
    h.bundle({
      args: ['sh', '-c', script],
      edit: (s) => {
        s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== 'pid');
        if (ptrace) {
          const caps = ['CAP_SYS_PTRACE', 'CAP_DAC_OVERRIDE', 'CAP_KILL'];
          s.process.capabilities = { bounding: caps, effective: caps, permitted: caps };
        }
      },
    });
  // Without CAP_SYS_PTRACE: the runtime is non-dumpable, /proc/PPID/exe is out of reach.
  const r1 = h.runIn(mk(false));
  expect(r1.stdout).toContain('exe-write-refused');
  expect(r1.stdout).not.toContain('WROTE-EXE');
  expect(r1.stdout).not.toContain('opened');
  // Even with CAP_SYS_PTRACE: what it reaches is the sealed memfd, which refuses writes.
  const r2 = h.runIn(mk(true));
  expect(r2.stdout).toMatch(/^\/memfd:shoal-runtime \(deleted\)\n/);
  expect(r2.stdout).toContain('exe-write-refused');
  expect(r2.stdout).not.toContain('WROTE-EXE');
  expect(sha(RUNTIME)).toBe(before);
});

test('no descriptor of the caller leaks beyond stdio and --preserve-fds', () => {
  const b = h.bundle({ args: ['sh', '-c', 'ls /proc/$$/fd > /tmp/fds; echo $(cat /tmp/fds)'] });
  // `sh` itself may hold its own fds above 9 for redirections: only 3..9 would be a leak
  const leaked = (out: string) => out.trim().split(' ').filter((f) => Number(f) >= 3 && Number(f) <= 9);
  const r = runWithFds(['run', '--bundle', b.dir, h.id()], 4);
  expect(r.stderr).toBe('');
  expect(leaked(r.stdout)).toEqual([]);
  const r2 = runWithFds(['run', '--preserve-fds', '2', '--bundle', b.dir, h.id()], 4);
  expect(leaked(r2.stdout)).toEqual(['3', '4']);
});

test('a cwd that resolves outside the rootfs (through a preserved fd) is refused', () => {
  const hostDir = fs.mkdtempSync(path.join(h.tmp, 'hostdir-'));
  const b = h.bundle({ args: ['sh', '-c', 'pwd; ls'], edit: (s) => (s.process.cwd = '/proc/self/fd/3') });
  const fd = fs.openSync(hostDir, 'r');
  try {
    const out = path.join(h.tmp, 'cwd-out');
    const o = fs.openSync(out, 'w');
    const r = spawnSync(RUNTIME, ['--root', h.root, 'run', '--preserve-fds', '1', '--bundle', b.dir, h.id()], {
      stdio: ['ignore', o, 'pipe', fd],
      encoding: 'utf8',
      timeout: 30000,
    });
    fs.closeSync(o);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/process.cwd \/proc\/self\/fd\/3 resolves outside the container's root/);
    expect(fs.readFileSync(out, 'utf8')).toBe('');
  } finally {
    fs.closeSync(fd);
  }
});

test('no_new_privs is set before seccomp (a profile refusing prctl(PR_SET_NO_NEW_PRIVS) still starts)', () => {
  const PR_SET_NO_NEW_PRIVS = 38;
  const b = h.bundle({
    args: ['grep', '-E', '^(NoNewPrivs|Seccomp):', '/proc/self/status'],
    edit: (s) => {
      s.process.noNewPrivileges = true;
      s.linux.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['prctl'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: PR_SET_NO_NEW_PRIVS, op: 'SCMP_CMP_EQ' }] }],
      };
    },
  });
  const r = h.runIn(b);
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe('NoNewPrivs:\t1\nSeccomp:\t2\n');
});

test('capabilities are dropped last (seccomp loads for a non-root user without caps and without no_new_privs)', () => {
  // Loading a filter without no_new_privs needs CAP_SYS_ADMIN: it works only if caps go after it.
  const b = h.bundle({
    args: ['grep', '-E', '^(CapEff|NoNewPrivs|Seccomp):', '/proc/self/status'],
    edit: (s) => {
      s.process.user = { uid: 1000, gid: 1000 };
      s.process.noNewPrivileges = false;
      s.process.capabilities = { bounding: [], effective: [], permitted: [], ambient: [], inheritable: [] };
      s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['kexec_load'], action: 'SCMP_ACT_ERRNO' }] };
    },
  });
  const r = h.runIn(b);
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe('CapEff:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t2\n');
});

test('mount targets are resolved inside the rootfs: a symlink cannot send a mount to the host', () => {
  const hostDir = fs.mkdtempSync(path.join(h.tmp, 'victim-'));
  const b = h.bundle({
    args: ['sh', '-c', `grep -c " ${hostDir}/sub " /proc/self/mounts`],
    edit: (s) => s.mounts.push({ destination: '/escape/sub', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }),
  });
  // /escape -> an absolute host path (and a relative climb): both must stay inside the rootfs
  fs.symlinkSync(hostDir, path.join(b.rootfs, 'escape'));
  const r = h.runIn(b);
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('1'); // mounted at <rootfs>/<hostDir>/sub, seen as hostDir/sub inside
  expect(fs.existsSync(path.join(hostDir, 'sub'))).toBe(false);
  expect(fs.existsSync(path.join(b.rootfs, hostDir, 'sub'))).toBe(true);

  const b2 = h.bundle({
    args: ['true'],
    edit: (s) => s.mounts.push({ destination: '/climb/x', type: 'tmpfs', source: 'tmpfs' }),
  });
  fs.symlinkSync(`../../../../../../../../..${hostDir}`, path.join(b2.rootfs, 'climb'));
  expect(h.runIn(b2).code).toBe(0);
  expect(fs.existsSync(path.join(hostDir, 'x'))).toBe(false);
});

test('bind mount of a missing source and a non-absolute destination fail naming the mount', () => {
  const b = h.bundle({ args: ['true'], edit: (s) => s.mounts.push({ destination: '/x', type: 'bind', source: '/no/such/src', options: ['bind'] }) });
  const r = h.runIn(b);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/mount: bind source \/no\/such\/src for \/x: No such file or directory/);
  const b2 = h.bundle({ args: ['true'], edit: (s) => s.mounts.push({ destination: 'relative', type: 'tmpfs', source: 'tmpfs' }) });
  expect(h.runIn(b2).stderr).toMatch(/destination must be an absolute path/);
});

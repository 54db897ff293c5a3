/** seccomp profiles (actions, errnoRet, argument filters, default errno) and the six hook kinds
 *  (order, state on stdin, timeouts, failures). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RuntimeHarness } from './runtime_harness';

let h: RuntimeHarness;
beforeEach(() => {
  h = new RuntimeHarness();
});
afterEach(() => h.cleanup());

const ETXTBSY = 26;

test('a denied syscall fails with the configured errno; Seccomp is 2 (filter)', () => {
  const b = h.bundle({
    args: ['sh', '-c', 'grep -E "^Seccomp:" /proc/self/status; mkdir /tmp/x || echo mkdir-denied; ls /tmp'],
    edit: (s) => {
      s.linux.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: ETXTBSY }],
      };
    },
  });
  const r = h.runIn(b);
  expect(r.stdout).toBe('Seccomp:\t2\nmkdir-denied\n');
  expect(r.stderr).toMatch(/Text file busy/);
});

test('defaultErrnoRet and argument filters', () => {
  // default: deny everything with ETXTBSY... except what the shell needs; personality(0xffffffff)
  // (a query) is allowed by an argument filter while any other personality() is refused.
  const b = h.bundle({
    args: ['sh', '-c', 'mkdir /tmp/y || echo denied-by-default'],
    edit: (s) => {
      s.linux.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [
          { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' },
          { names: ['no_such_syscall_xyz'], action: 'SCMP_ACT_ERRNO' },
        ],
      };
    },
  });
  let r = h.runIn(b);
  expect(r.stdout).toBe('denied-by-default\n');
  expect(r.stderr).toMatch(/Operation not permitted/); // EPERM when errnoRet is absent

  const b2 = h.bundle({
    args: ['sh', '-c', 'mkdir /tmp/y || echo denied-default-errno'],
    edit: (s) => {
      s.linux.seccomp = {
        defaultAction: 'SCMP_ACT_ERRNO',
        defaultErrnoRet: ETXTBSY,
        syscalls: [
          {
            names: [
              'read', 'write', 'open', 'openat', 'close', 'fstat', 'newfstatat', 'stat', 'lstat', 'mmap', 'munmap', 'brk',
              'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'ioctl', 'execve', 'exit', 'exit_group', 'arch_prctl',
              'getpid', 'getppid', 'getuid', 'geteuid', 'getgid', 'getegid', 'set_tid_address', 'wait4', 'clone', 'fork',
              'vfork', 'fcntl', 'dup2', 'dup3', 'getcwd', 'uname', 'access', 'faccessat', 'faccessat2', 'prctl', 'capset',
              'capget', 'getrandom', 'poll', 'ppoll', 'pselect6', 'lseek', 'set_robust_list', 'rseq', 'prlimit64',
              'mprotect', 'sigaltstack', 'getdents64', 'statx', 'clone3', 'readlink',
            ],
            action: 'SCMP_ACT_ALLOW',
          },
          { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', args: [{ index: 2, value: 0, op: 'SCMP_CMP_NE' }] },
        ],
      };
    },
  });
  r = h.runIn(b2);
  expect(r.stdout).toBe('denied-default-errno\n');
  expect(r.stderr).toMatch(/Text file busy/);
});

test('SCMP_ACT_KILL_PROCESS kills the process (exit by SIGSYS)', () => {
  const b = h.bundle({
    args: ['mkdir', '/tmp/z'],
    edit: (s) => {
      s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL_PROCESS' }] };
    },
  });
  const r = h.runIn(b);
  expect(r.code).toBe(128 + 31);
  expect(r.stdout).toBe('');
});

// The compiled program is cached under the runtime root by profile: a hit enforces the same
// filter; an entry that is damaged, or that others could have written, is not used but replaced.
test('the compiled filter is cached per profile; a bad or foreign-writable entry is replaced, never used', () => {
  const profile = (errnoRet: number) => ({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet }],
  });
  const run = (errnoRet: number) => {
    const b = h.bundle({ args: ['sh', '-c', 'mkdir /tmp/x || echo denied'], edit: (s) => (s.linux.seccomp = profile(errnoRet)) });
    return h.runIn(b);
  };
  const cache = path.join(h.root, '.@seccomp-bpf');
  const entries = () => (fs.existsSync(cache) ? fs.readdirSync(cache).sort() : []);
  run(ETXTBSY); // the first create makes the root: nothing cached yet, or the one entry
  const first = run(ETXTBSY);
  expect(first.stdout).toBe('denied\n');
  expect(entries()).toHaveLength(1);
  const file = path.join(cache, entries()[0]!);
  const good = fs.readFileSync(file);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(fs.statSync(cache).mode & 0o777).toBe(0o700);
  // A hit: the same filter, from the cache (the file is left as it was).
  const hit = run(ETXTBSY);
  expect(hit.stdout).toBe('denied\n');
  expect(hit.stderr).toMatch(/Text file busy/);
  expect(fs.readFileSync(file).equals(good)).toBe(true);
  // Another profile (another errno) is another entry, and its own filter; a temp file a killed
  // writer left a while ago goes when an entry is added.
  const stale = path.join(cache, '.0123456789abcdef.999999');
  fs.writeFileSync(stale, 'partial');
  fs.utimesSync(stale, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
  const other = run(1);
  expect(other.stderr).toMatch(/Operation not permitted/);
  expect(entries()).toHaveLength(2);
  expect(fs.existsSync(stale)).toBe(false);
  // A truncated entry, and one whose program was swapped for an allow-all: not used, replaced.
  fs.writeFileSync(file, good.subarray(0, good.length - 8));
  expect(run(ETXTBSY).stdout).toBe('denied\n');
  expect(fs.readFileSync(file).equals(good)).toBe(true);
  // The same key with a one-instruction allow-all program (BPF_RET|BPF_K, SECCOMP_RET_ALLOW), in a
  // file others could have written: refused, so mkdir stays denied.
  const keyLen = good.readUInt32LE(12);
  const allowAll = Buffer.alloc(32 + keyLen + 8);
  good.copy(allowAll, 0, 0, 32 + keyLen);
  allowAll.writeUInt32LE(1, 24);
  allowAll.writeUInt16LE(0x06, 32 + keyLen);
  allowAll.writeUInt32LE(0x7fff0000, 32 + keyLen + 4);
  fs.writeFileSync(file, allowAll);
  fs.chmodSync(file, 0o620);
  expect(run(ETXTBSY).stdout).toBe('denied\n');
  expect(fs.readFileSync(file).equals(good)).toBe(true);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
});

test('a cached filter keeps the flags its profile asks for', () => {
  const run = () =>
    h.runIn(
      h.bundle({
        args: ['sh', '-c', 'mkdir /tmp/x || echo denied'],
        edit: (s) =>
          (s.linux.seccomp = {
            defaultAction: 'SCMP_ACT_ALLOW',
            flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
            syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }],
          }),
      }),
    );
  run(); // makes the root (and maybe the entry)
  expect(run().stdout).toBe('denied\n'); // built (or read) and cached
  const cache = path.join(h.root, '.@seccomp-bpf');
  const [name] = fs.readdirSync(cache);
  // The entry's header: seccomp(2) flags at offset 16, SECCOMP_FILTER_FLAG_LOG | SPEC_ALLOW.
  expect(Number(fs.readFileSync(path.join(cache, name!)).readBigUInt64LE(16))).toBe(2 | 4);
  expect(run().stdout).toBe('denied\n'); // loaded from the cache with those flags
});

test('all six hooks run in order with the state on stdin; startContainer and createContainer in the container', () => {
  const out = path.join(h.tmp, 'hooks.log');
  fs.chmodSync(h.tmp, 0o755);
  const hook = (name: string) => ({
    path: '/bin/sh',
    args: ['sh', '-c', `read -r state; echo "${name} $(echo "$state" | grep -o '"status":"[a-z]*"') $(hostname)" >> ${out}`],
  });
  const b = h.bundle({
    args: ['sh', '-c', `echo process >> ${out}`],
    edit: (s) => {
      s.hooks = {
        prestart: [hook('prestart')],
        createRuntime: [hook('createRuntime')],
        createContainer: [hook('createContainer')],
        startContainer: [{ path: '/bin/sh', args: ['sh', '-c', `read -r state; echo "startContainer $(echo "$state" | grep -o '"status":"[a-z]*"') $(hostname)" >> /hooklog`] }],
        poststart: [hook('poststart')],
        poststop: [hook('poststop')],
      };
      s.hostname = 'in-container';
      s.annotations = { 'org.test': 'x' };
      // the process and the startContainer hook log inside the container; bind the host file there
      s.mounts.push({ destination: '/hooklog', type: 'bind', source: out, options: ['bind'] });
      s.mounts.push({ destination: out, type: 'bind', source: out, options: ['bind'] });
    },
  });
  fs.writeFileSync(out, '');
  const r = h.runIn(b);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const host = fs.readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
  const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
  expect(lines[0]).toBe(`prestart "status":"creating" ${host}`);
  expect(lines[1]).toBe(`createRuntime "status":"creating" ${host}`);
  expect(lines[2]).toBe('createContainer "status":"creating" in-container');
  expect(lines[3]).toBe('startContainer "status":"created" in-container');
  // poststart runs once the process has exec'd: it may log before or after the process itself
  expect(lines.slice(4, 6).sort()).toEqual([`poststart "status":"running" ${host}`, 'process'].sort());
  expect(lines[6]).toBe(`poststop "status":"stopped" ${host}`);
});

test('a failing createRuntime hook aborts create; a hook over its timeout is killed', () => {
  const b = h.bundle({ args: ['true'], edit: (s) => (s.hooks = { createRuntime: [{ path: '/bin/false' }] }) });
  const id = h.id();
  const r = h.run(['create', '--bundle', b.dir, id]);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/hooks\.createRuntime\[0\]: \/bin\/false exited with status 1/);
  expect(fs.existsSync(path.join(h.root, id))).toBe(false);

  const t = h.bundle({ args: ['true'], edit: (s) => (s.hooks = { prestart: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] }) });
  const r2 = h.run(['run', '--bundle', t.dir, h.id()]);
  expect(r2.code).not.toBe(0);
  expect(r2.stderr).toMatch(/hooks\.prestart\[0\]: \/bin\/sleep timed out after 1s/);
});

test('a failing poststop hook is only a warning', () => {
  const log = path.join(h.tmp, 'w.log');
  const b = h.bundle({ args: ['true'], edit: (s) => (s.hooks = { poststop: [{ path: '/bin/false' }] }) });
  const r = h.run(['--log', log, 'run', '--bundle', b.dir, h.id()]);
  expect(r.code).toBe(0);
  expect(fs.readFileSync(log, 'utf8')).toMatch(/level=warning msg="hooks.poststop\[0\]/);
});

/** config.json applied inside the container, checked from inside: user, hostname, capabilities,
 *  no_new_privs, masked and read-only paths, sysctl, rlimits, mounts, devices, namespaces. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RuntimeHarness } from './runtime_harness';
import { OciSpec, TEST_USER } from '../helpers/bundle';

let h: RuntimeHarness;
beforeEach(() => {
  h = new RuntimeHarness();
});
afterEach(() => h.cleanup());

function runSh(script: string, edit?: (s: OciSpec) => void) {
  const b = h.bundle({ args: ['sh', '-c', script], edit });
  const r = h.runIn(b);
  return { ...r, bundle: b };
}

test('process.user: uid, gid, additionalGids, umask', () => {
  const r = runSh('id; umask', (s) => {
    s.process.user = { uid: TEST_USER.uid, gid: TEST_USER.gid, additionalGids: [TEST_USER.extraGroup.gid], umask: 0o27 };
  });
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe(`uid=1000(shoal) gid=1000(shoal) groups=1001(extra)\n0027\n`);
});

test('hostname and domainname in a new uts namespace', () => {
  const r = runSh('hostname; cat /proc/sys/kernel/domainname', (s) => {
    s.hostname = 'box-one';
    s.domainname = 'example.test';
  });
  expect(r.stdout).toBe('box-one\nexample.test\n');
});

test('capabilities: the five sets as configured; no_new_privs', () => {
  const r = runSh('grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs)" /proc/self/status');
  // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29)
  const mask = ((1n << 5n) | (1n << 10n) | (1n << 29n)).toString(16).padStart(16, '0');
  expect(r.stdout).toContain(`CapEff:\t${mask}`);
  expect(r.stdout).toContain(`CapPrm:\t${mask}`);
  expect(r.stdout).toContain(`CapBnd:\t${mask}`);
  // ambient needs the capability in inheritable too, which runc's default spec leaves empty
  expect(r.stdout).toContain('CapAmb:\t0000000000000000');
  expect(r.stdout).toContain('CapInh:\t0000000000000000');
  expect(r.stdout).toContain('NoNewPrivs:\t1');

  const r2 = runSh('grep -E "^(CapEff|NoNewPrivs)" /proc/self/status', (s) => {
    s.process.noNewPrivileges = false;
    s.process.capabilities = { bounding: ['CAP_CHOWN'], effective: ['CAP_CHOWN'], permitted: ['CAP_CHOWN'] };
  });
  expect(r2.stdout).toBe('CapEff:\t0000000000000001\nNoNewPrivs:\t0\n');
});

test('non-root user keeps exactly the configured capabilities', () => {
  const r = runSh('grep -E "^(CapEff|CapPrm|CapAmb)" /proc/self/status', (s) => {
    s.process.user = { uid: 1000, gid: 1000 };
    s.process.capabilities = { bounding: ['CAP_NET_RAW'], effective: ['CAP_NET_RAW'], permitted: ['CAP_NET_RAW'], ambient: ['CAP_NET_RAW'], inheritable: ['CAP_NET_RAW'] };
  });
  expect(r.stdout).toBe('CapPrm:\t0000000000002000\nCapEff:\t0000000000002000\nCapAmb:\t0000000000002000\n');
});

test('maskedPaths are unreadable, readonlyPaths cannot be written', () => {
  const r = runSh('cat /proc/keys | wc -c; ls /proc/acpi | wc -l; echo 1 > /proc/sys/kernel/ns_last_pid || echo ro-ok; echo x > /proc/sysrq-trigger || echo ro2-ok');
  expect(r.stdout).toBe('0\n0\nro-ok\nro2-ok\n');
  expect(r.stderr).toMatch(/Read-only file system/);
});

test('sysctl is written in the container\'s namespaces', () => {
  const r = runSh('cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax', (s) => {
    s.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.msgmax': '4242' };
    s.linux.readonlyPaths = [];
  });
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe('1\n4242\n');
  expect(fs.readFileSync('/proc/sys/kernel/msgmax', 'utf8').trim()).not.toBe('4242');
  // a sysctl that is not namespaced (or whose namespace is the host's) is refused
  for (const [key, edit] of [
    ['vm.swappiness', () => undefined],
    ['net.ipv4.ip_forward', (s: OciSpec) => (s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== 'network'))],
  ] as const) {
    const b = h.bundle({ args: ['true'], edit: (s) => { s.linux.sysctl = { [key]: '1' }; edit(s); } });
    const r3 = h.runIn(b);
    expect(r3.code).not.toBe(0);
    expect(r3.stderr).toMatch(new RegExp(`linux.sysctl.${key.replace(/\./g, '\\.')}: not namespaced`));
  }
});

test('rlimits', () => {
  const r = runSh('ulimit -n; ulimit -s', (s) => {
    s.process.rlimits = [
      { type: 'RLIMIT_NOFILE', soft: 321, hard: 400 },
      { type: 'RLIMIT_STACK', soft: 4096 * 1024, hard: 4096 * 1024 },
    ];
  });
  expect(r.stdout).toBe('321\n4096\n');
});

test('the process starts with default signal dispositions and nothing blocked', () => {
  // a SIGPIPE ignored by the runtime (or its caller) must not leak into the container
  const b = h.bundle({ args: ['grep', '-E', '^Sig(Blk|Ign):', '/proc/self/status'], edit: (s) => (s.hooks = { createContainer: [{ path: '/bin/true' }] }) });
  const r = h.runIn(b);
  expect(r.stdout).toBe('SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n');
});

test('env, cwd and args; PATH lookup uses the process env', () => {
  const r = runSh('echo "$FOO"; pwd', (s) => {
    s.process.env.push('FOO=bar baz');
    s.process.cwd = '/home/shoal';
  });
  expect(r.stdout).toBe('bar baz\n/home/shoal\n');
});

test('/dev: default devices, ptmx, fd links, linux.devices', () => {
  const r = runSh('ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/mydev | awk \'{print $1, $5, $6, $NF}\'; for l in ptmx fd stdin; do readlink /dev/$l; done; head -c 4 /dev/zero | wc -c', (s) => {
    s.linux.devices = [{ path: '/dev/mydev', type: 'c', major: 1, minor: 3, fileMode: 0o640, uid: 1000, gid: 1000 }];
  });
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe(
    [
      'crw-rw-rw- 1, 7 /dev/full',
      'crw-r----- 1, 3 /dev/mydev',
      'crw-rw-rw- 1, 3 /dev/null',
      'crw-rw-rw- 1, 8 /dev/random',
      'crw-rw-rw- 5, 0 /dev/tty',
      'crw-rw-rw- 1, 9 /dev/urandom',
      'crw-rw-rw- 1, 5 /dev/zero',
      'pts/ptmx',
      '/proc/self/fd',
      '/proc/self/fd/0',
      '4',
      '',
    ].join('\n'),
  );
});

test('mounts: bind ro, tmpfs options, rro recursive, read-only root', () => {
  const src = fs.mkdtempSync(path.join(h.tmp, 'bindsrc-'));
  fs.writeFileSync(path.join(src, 'file'), 'from-host\n');
  const r = runSh(
    'cat /data/file; touch /data/x || echo bind-ro; grep " /scratch " /proc/self/mounts | cut -d" " -f3,4 | sed s/,inode64//; touch /newfile || echo root-ro; touch /tmp2/ok && echo tmp-rw; grep " /rec " /proc/self/mounts | cut -d" " -f4 | cut -d, -f1',
    (s) => {
      s.root.readonly = true;
      s.mounts.push({ destination: '/data', type: 'bind', source: src, options: ['rbind', 'ro'] });
      s.mounts.push({ destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', 'size=1m', 'mode=700'] });
      s.mounts.push({ destination: '/tmp2', type: 'tmpfs', source: 'tmpfs', options: [] });
      s.mounts.push({ destination: '/rec', type: 'bind', source: src, options: ['rbind', 'rro'] });
    },
  );
  expect(r.stdout).toBe('from-host\nbind-ro\ntmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=700\nroot-ro\ntmp-rw\nro\n');
  expect(fs.existsSync(path.join(src, 'x'))).toBe(false);
});

test('namespaces: new pid, net, ipc, mount; joined by path', () => {
  const r = runSh('echo $$; ls /sys/class/net | tr "\\n" " "');
  expect(r.stdout).toBe('1\nlo ');
  // joining the host's network namespace by path (compared by namespace identity: other tests
  // add and remove interfaces concurrently)
  const r2 = runSh('readlink /proc/self/ns/net', (s) => {
    s.linux.namespaces = s.linux.namespaces.map((n) => (n.type === 'network' ? { type: 'network', path: `/proc/${process.pid}/ns/net` } : n));
  });
  expect(r2.stdout.trim()).toBe(fs.readlinkSync('/proc/self/ns/net'));
  expect(r.stdout).not.toContain(fs.readlinkSync('/proc/self/ns/net'));
});

test('user namespace with uid/gid mappings', () => {
  const b = h.bundle({
    args: ['sh', '-c', 'id -u; cat /proc/self/uid_map | tr -s " "'],
    edit: (s) => {
      s.linux.namespaces.push({ type: 'user' });
      s.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.mounts = s.mounts.filter((m) => m.destination !== '/sys' && m.destination !== '/sys/fs/cgroup');
    },
  });
  fs.chmodSync(h.tmp, 0o755); // the mapped root must be able to reach the bundle
  const r = h.runIn(b);
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe('0\n 0 100000 65536\n');
});

test('cgroup namespace and time namespace can be created', () => {
  const r = runSh('readlink /proc/self/ns/cgroup; readlink /proc/self/ns/time', (s) => {
    s.linux.namespaces.push({ type: 'cgroup' }, { type: 'time' });
  });
  expect(r.stderr).toBe('');
  const host = [fs.readlinkSync('/proc/self/ns/cgroup'), fs.readlinkSync('/proc/self/ns/time')];
  const inside = r.stdout.trim().split('\n');
  expect(inside).toHaveLength(2);
  expect(inside[0]).not.toBe(host[0]);
  expect(inside[1]).not.toBe(host[1]);
});

test('apparmorProfile and selinuxLabel are ignored with a warning', () => {
  const log = path.join(h.tmp, 'lsm.log');
  const b = h.bundle({ args: ['true'], edit: (s) => { s.process.apparmorProfile = 'docker-default'; s.process.selinuxLabel = 'system_u:system_r:container_t:s0'; } });
  const r = h.run(['--log', log, 'run', '--bundle', b.dir, h.id()]);
  expect(r.code).toBe(0);
  const text = fs.readFileSync(log, 'utf8');
  expect(text).toMatch(/apparmorProfile ignored/);
  expect(text).toMatch(/selinuxLabel ignored/);
});

import { mkdtempSync, rmSync, writeFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  ContainerConfig,
  MountPropagation,
  NamespaceMode,
  SecurityProfile_ProfileType,
  Signal,
  SupplementalGroupsPolicy,
  type LinuxContainerSecurityContext,
} from '../../src/gen/runtime/v1/api';
import { buildSpec } from '../../src/container/spec/build';
import type { PodView, SpecInput } from '../../src/container/spec/input';
import { resolveUser } from '../../src/container/spec/user';
import { stopSignal } from '../../src/container/signals';
import { resolveInRoot } from '../../src/container/rootfs_file';
import { CriError } from '../../src/errors';

const tmp = mkdtempSync('/tmp/shoal-spec-test-');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const pod: PodView = {
  id: 'pod1',
  netnsPath: '/run/shoal/ns/net-pod1',
  ipcnsPath: '/run/shoal/ns/ipc-pod1',
  utsnsPath: '/run/shoal/ns/uts-pod1',
  pidMode: NamespaceMode.CONTAINER,
  cgroupParent: '/kubepods/podabc',
  hostname: 'web-0',
  hostsPath: '/run/shoal/pods/pod1/hosts',
  resolvConfPath: '/run/shoal/pods/pod1/resolv.conf',
  hostnamePath: '/run/shoal/pods/pod1/hostname',
  shmPath: '/run/shoal/pods/pod1/shm',
  logDirectory: '/var/log/pods/x',
  config: { metadata: undefined, hostname: 'web-0', logDirectory: '', dnsConfig: undefined, portMappings: [], labels: {}, annotations: {}, linux: undefined, windows: undefined },
  ready: true,
};

function sc(over: Partial<LinuxContainerSecurityContext> = {}): LinuxContainerSecurityContext {
  return {
    capabilities: undefined, privileged: false, namespaceOptions: undefined, selinuxOptions: undefined, runAsUser: undefined,
    runAsGroup: undefined, runAsUsername: '', readonlyRootfs: false, supplementalGroups: [], supplementalGroupsPolicy: 0,
    noNewPrivs: false, maskedPaths: [], readonlyPaths: [], seccomp: undefined, apparmor: undefined, apparmorProfile: '',
    seccompProfilePath: '', ...over,
  };
}

function input(config: Partial<ContainerConfig>, extra: Partial<SpecInput> = {}): SpecInput {
  return {
    id: 'c1',
    config: ContainerConfig.fromPartial({ metadata: { name: 'app', attempt: 0 }, ...config }),
    pod,
    image: { Entrypoint: ['/entry'], Cmd: ['default-arg'], Env: ['PATH=/img/bin', 'A=image'], WorkingDir: '/work', StopSignal: 'SIGQUIT' },
    rootfs: '/var/lib/shoal/containers/c1/rootfs',
    user: { uid: 0, gid: 0, additionalGids: [0] },
    host: { apparmorEnabled: false, cgroupV2: false },
    ...extra,
  };
}

function errorOf(fn: () => unknown): CriError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CriError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

describe('process', () => {
  test('image entrypoint and cmd are kept when the config names neither', () => {
    expect(buildSpec(input({})).process.args).toEqual(['/entry', 'default-arg']);
  });
  test('args replace cmd; command replaces entrypoint and drops cmd', () => {
    expect(buildSpec(input({ args: ['x'] })).process.args).toEqual(['/entry', 'x']);
    expect(buildSpec(input({ command: ['/bin/sh'] })).process.args).toEqual(['/bin/sh']);
    expect(buildSpec(input({ command: ['/bin/sh'], args: ['-c', 'id'] })).process.args).toEqual(['/bin/sh', '-c', 'id']);
  });
  test('no command anywhere is InvalidArgument', () => {
    const e = errorOf(() => buildSpec(input({}, { image: {} })));
    expect(e.kind).toBe('InvalidArgument');
  });
  test('env: the image first, the container wins by name, HOSTNAME set', () => {
    const env = buildSpec(input({ envs: [{ key: 'A', value: Buffer.from('mine') }, { key: 'B', value: Buffer.from('b=c') }] })).process.env;
    expect(env).toEqual(expect.arrayContaining(['PATH=/img/bin', 'A=mine', 'B=b=c', 'HOSTNAME=web-0']));
    expect(env.filter((e) => e.startsWith('A='))).toHaveLength(1);
  });
  test('working dir from the config, else the image', () => {
    expect(buildSpec(input({})).process.cwd).toBe('/work');
    expect(buildSpec(input({ workingDir: '/srv' })).process.cwd).toBe('/srv');
  });
  test('tty, no_new_privs and oom_score_adj', () => {
    const spec = buildSpec(input({ tty: true, linux: { securityContext: sc({ noNewPrivs: true }), resources: { cpuPeriod: 0n, cpuQuota: 0n, cpuShares: 0n, memoryLimitInBytes: 0n, oomScoreAdj: 500n, cpusetCpus: '', cpusetMems: '', hugepageLimits: [], unified: {}, memorySwapLimitInBytes: 0n } } }));
    expect(spec.process.terminal).toBe(true);
    expect(spec.process.noNewPrivileges).toBe(true);
    expect(spec.process.oomScoreAdj).toBe(500);
  });
});

describe('capabilities', () => {
  test('the default set', () => {
    const caps = buildSpec(input({})).process.capabilities!;
    expect(caps.bounding).toContain('CAP_CHOWN');
    expect(caps.bounding).toContain('CAP_NET_BIND_SERVICE');
    expect(caps.bounding).not.toContain('CAP_SYS_ADMIN');
    expect(caps.bounding).not.toContain('CAP_NET_ADMIN');
    expect(caps.effective).toEqual(caps.bounding);
  });
  test('add and drop, with and without CAP_ prefix', () => {
    const caps = buildSpec(input({ linux: { securityContext: sc({ capabilities: { addCapabilities: ['NET_ADMIN'], dropCapabilities: ['CAP_CHOWN'], addAmbientCapabilities: [] } }), resources: undefined } })).process.capabilities!;
    expect(caps.bounding).toContain('CAP_NET_ADMIN');
    expect(caps.bounding).not.toContain('CAP_CHOWN');
  });
  test('drop ALL then add one', () => {
    const caps = buildSpec(input({ linux: { securityContext: sc({ capabilities: { addCapabilities: ['KILL'], dropCapabilities: ['ALL'], addAmbientCapabilities: [] } }), resources: undefined } })).process.capabilities!;
    expect(caps.bounding).toEqual(['CAP_KILL']);
  });
  test('add ALL gives every capability', () => {
    const caps = buildSpec(input({ linux: { securityContext: sc({ capabilities: { addCapabilities: ['ALL'], dropCapabilities: [], addAmbientCapabilities: [] } }), resources: undefined } })).process.capabilities!;
    expect(caps.bounding).toHaveLength(41);
  });
  test('an unknown capability is InvalidArgument naming the field', () => {
    const e = errorOf(() => buildSpec(input({ linux: { securityContext: sc({ capabilities: { addCapabilities: ['FLY'], dropCapabilities: [], addAmbientCapabilities: [] } }), resources: undefined } })));
    expect(e.kind).toBe('InvalidArgument');
    expect(e.message).toContain('add_capabilities');
    expect(e.message).toContain('FLY');
  });
});

describe('privileged', () => {
  const spec = buildSpec(input({ linux: { securityContext: sc({ privileged: true, maskedPaths: ['/proc/kcore'], readonlyPaths: ['/proc/sys'], seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault, localhostRef: '' } }), resources: undefined } }));
  test('all capabilities, no seccomp, no masked or read-only paths', () => {
    expect(spec.process.capabilities!.bounding).toHaveLength(41);
    expect(spec.linux.seccomp).toBeUndefined();
    expect(spec.linux.maskedPaths).toBeUndefined();
    expect(spec.linux.readonlyPaths).toBeUndefined();
  });
  test('rw sysfs, all devices allowed, host devices present', () => {
    expect(spec.mounts.find((m) => m.destination === '/sys')!.options).toContain('rw');
    expect(spec.linux.resources!.devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(spec.linux.devices!.some((d) => d.path === '/dev/null')).toBe(true);
  });
});

describe('masked and read-only paths', () => {
  test('as given', () => {
    const spec = buildSpec(input({ linux: { securityContext: sc({ maskedPaths: ['/proc/kcore'], readonlyPaths: ['/proc/sys'] }), resources: undefined } }));
    expect(spec.linux.maskedPaths).toEqual(['/proc/kcore']);
    expect(spec.linux.readonlyPaths).toEqual(['/proc/sys']);
  });
  test('empty means none', () => {
    const spec = buildSpec(input({}));
    expect(spec.linux.maskedPaths).toBeUndefined();
    expect(spec.linux.readonlyPaths).toBeUndefined();
  });
});

describe('seccomp', () => {
  const withSeccomp = (s: Partial<LinuxContainerSecurityContext>) => buildSpec(input({ linux: { securityContext: sc(s), resources: undefined } })).linux.seccomp;
  test('RuntimeDefault is our allow-list, blocking the dangerous calls', () => {
    const profile = withSeccomp({ seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault, localhostRef: '' } })!;
    expect(profile.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(profile.defaultErrnoRet).toBe(1);
    const allowed = new Set(profile.syscalls!.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args).flatMap((r) => r.names));
    for (const bad of ['kexec_load', 'kexec_file_load', 'bpf', 'keyctl', 'add_key', 'mount', 'umount2', 'unshare', 'open_by_handle_at', 'init_module', 'setns', 'pivot_root', 'fsopen', 'move_mount', 'clone3']) {
      expect(allowed.has(bad)).toBe(false);
    }
    for (const good of ['read', 'write', 'execve', 'openat', 'clone', 'exit_group'].filter((n) => n !== 'clone')) expect(allowed.has(good)).toBe(true);
    const unshare = profile.syscalls!.find((r) => r.names.includes('unshare'))!;
    expect(unshare.args).toEqual([{ index: 0, value: 0x10000000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]);
  });
  test('CAP_SYS_ADMIN grants mount back', () => {
    const profile = withSeccomp({ seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault, localhostRef: '' }, capabilities: { addCapabilities: ['SYS_ADMIN'], dropCapabilities: [], addAmbientCapabilities: [] } })!;
    expect(profile.syscalls!.some((r) => r.action === 'SCMP_ACT_ALLOW' && r.names.includes('mount'))).toBe(true);
  });
  test('Unconfined and the empty legacy path give no filter', () => {
    expect(withSeccomp({ seccomp: { profileType: SecurityProfile_ProfileType.Unconfined, localhostRef: '' } })).toBeUndefined();
    expect(withSeccomp({})).toBeUndefined();
  });
  test('Localhost reads the JSON file; a missing file is InvalidArgument', () => {
    const file = join(tmp, 'profile.json');
    writeFileSync(file, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }));
    expect(withSeccomp({ seccomp: { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: file } })!.syscalls![0].errnoRet).toBe(13);
    expect(withSeccomp({ seccompProfilePath: `localhost/${file}` })!.defaultAction).toBe('SCMP_ACT_ALLOW');
    expect(withSeccomp({ seccompProfilePath: 'runtime/default' })!.defaultAction).toBe('SCMP_ACT_ERRNO');
    const e = errorOf(() => withSeccomp({ seccomp: { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: join(tmp, 'nope.json') } }));
    expect(e.kind).toBe('InvalidArgument');
    expect(e.message).toContain('nope.json');
  });
});

describe('apparmor', () => {
  test('without AppArmor: RuntimeDefault accepted, Localhost refused clearly', () => {
    expect(buildSpec(input({ linux: { securityContext: sc({ apparmor: { profileType: SecurityProfile_ProfileType.RuntimeDefault, localhostRef: '' } }), resources: undefined } })).process.apparmorProfile).toBeUndefined();
    const e = errorOf(() => buildSpec(input({ linux: { securityContext: sc({ apparmor: { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: 'my-prof' } }), resources: undefined } })));
    expect(e.message).toContain('AppArmor is not enabled');
  });
  test('with AppArmor a localhost profile is applied', () => {
    const spec = buildSpec(input({ linux: { securityContext: sc({ apparmor: { profileType: SecurityProfile_ProfileType.Localhost, localhostRef: 'my-prof' } }), resources: undefined } }, { host: { apparmorEnabled: true, cgroupV2: false } }));
    expect(spec.process.apparmorProfile).toBe('my-prof');
  });
});

describe('namespaces', () => {
  const ns = (pid: NamespaceMode, ipc = NamespaceMode.POD, targetPid?: number) =>
    buildSpec(input({ linux: { securityContext: sc({ namespaceOptions: { network: NamespaceMode.POD, pid, ipc, targetId: 'other', usernsOptions: undefined } }), resources: undefined } }, { targetPid })).linux.namespaces;
  test('joins the pod net/ipc/uts, own mount and pid', () => {
    expect(ns(NamespaceMode.CONTAINER)).toEqual([
      { type: 'mount' },
      { type: 'network', path: pod.netnsPath },
      { type: 'uts', path: pod.utsnsPath },
      { type: 'ipc', path: pod.ipcnsPath },
      { type: 'pid' },
    ]);
  });
  test('pid NODE: no pid namespace; TARGET joins the target', () => {
    expect(ns(NamespaceMode.NODE).some((n) => n.type === 'pid')).toBe(false);
    expect(ns(NamespaceMode.TARGET, NamespaceMode.POD, 4242)).toContainEqual({ type: 'pid', path: '/proc/4242/ns/pid' });
  });
  test('pid POD (also what no namespace_options means) is the pod\'s: the pod init\'s, the host\'s, or else one of its own', () => {
    const pidOf = (podOver: Partial<typeof pod>, options?: NamespaceMode) =>
      buildSpec({
        ...input({ linux: { securityContext: sc(options === undefined ? {} : { namespaceOptions: { network: NamespaceMode.POD, pid: options, ipc: NamespaceMode.POD, targetId: '', usernsOptions: undefined } }), resources: undefined } }),
        pod: { ...pod, ...podOver },
      }).linux.namespaces.filter((n) => n.type === 'pid');
    for (const options of [NamespaceMode.POD, undefined]) {
      expect(pidOf({ pidMode: NamespaceMode.POD, pidnsPath: '/proc/77/ns/pid' }, options)).toEqual([{ type: 'pid', path: '/proc/77/ns/pid' }]);
      expect(pidOf({ pidMode: NamespaceMode.NODE }, options)).toEqual([]);
      expect(pidOf({ pidMode: NamespaceMode.CONTAINER }, options)).toEqual([{ type: 'pid' }]);
    }
  });
  test('ipc NODE keeps the host ipc and binds the host /dev/shm', () => {
    const spec = buildSpec(input({ linux: { securityContext: sc({ namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.NODE, targetId: '', usernsOptions: undefined } }), resources: undefined } }));
    expect(spec.linux.namespaces.some((n) => n.type === 'ipc')).toBe(false);
    expect(spec.mounts.find((m) => m.destination === '/dev/shm')!.source).toBe('/dev/shm');
  });
});

describe('mounts', () => {
  test('pod files, shared /dev/shm and system filesystems', () => {
    const mounts = buildSpec(input({})).mounts;
    const by = (d: string) => mounts.find((m) => m.destination === d);
    expect(by('/etc/hosts')!.source).toBe(pod.hostsPath);
    expect(by('/etc/resolv.conf')!.source).toBe(pod.resolvConfPath);
    expect(by('/etc/hostname')!.source).toBe(pod.hostnamePath);
    expect(by('/dev/shm')!.source).toBe(pod.shmPath);
    expect(by('/proc')!.type).toBe('proc');
    expect(by('/sys')!.options).toContain('ro');
  });
  test('host path mounts with readonly and propagation; a requested mount replaces a default', () => {
    const dir = join(tmp, 'vol');
    mkdirSync(dir, { recursive: true });
    const hosts = join(tmp, 'hosts');
    writeFileSync(hosts, '127.0.0.1 x\n');
    const spec = buildSpec(input({
      mounts: [
        { containerPath: '/data', hostPath: dir, readonly: true, selinuxRelabel: false, propagation: MountPropagation.PROPAGATION_PRIVATE, uidMappings: [], gidMappings: [], recursiveReadOnly: false, image: undefined, imageSubPath: '' },
        { containerPath: '/etc/hosts', hostPath: hosts, readonly: false, selinuxRelabel: false, propagation: MountPropagation.PROPAGATION_PRIVATE, uidMappings: [], gidMappings: [], recursiveReadOnly: false, image: undefined, imageSubPath: '' },
        { containerPath: '/rro', hostPath: dir, readonly: true, selinuxRelabel: false, propagation: MountPropagation.PROPAGATION_PRIVATE, uidMappings: [], gidMappings: [], recursiveReadOnly: true, image: undefined, imageSubPath: '' },
      ],
    }));
    expect(spec.mounts.find((m) => m.destination === '/data')).toEqual({ destination: '/data', type: 'bind', source: dir, options: ['rbind', 'rprivate', 'ro'] });
    expect(spec.mounts.filter((m) => m.destination === '/etc/hosts')).toEqual([{ destination: '/etc/hosts', type: 'bind', source: hosts, options: ['rbind', 'rprivate', 'rw'] }]);
    expect(spec.mounts.find((m) => m.destination === '/rro')!.options).toEqual(['rbind', 'rprivate', 'ro', 'rro']);
  });
  test('a missing host path is InvalidArgument naming it', () => {
    const e = errorOf(() => buildSpec(input({ mounts: [{ containerPath: '/x', hostPath: '/nonexistent/shoal/path', readonly: false, selinuxRelabel: false, propagation: 0, uidMappings: [], gidMappings: [], recursiveReadOnly: false, image: undefined, imageSubPath: '' }] })));
    expect(e.kind).toBe('InvalidArgument');
    expect(e.message).toContain('/nonexistent/shoal/path');
  });
  test('bidirectional needs a shared source mount; host-to-container sets rslave root propagation', () => {
    const m = (hostPath: string, propagation: MountPropagation) => ({ containerPath: '/p', hostPath, readonly: false, selinuxRelabel: false, propagation, uidMappings: [], gidMappings: [], recursiveReadOnly: false, image: undefined, imageSubPath: '' });
    const priv = join(tmp, 'private');
    const shared = join(tmp, 'shared');
    mkdirSync(priv, { recursive: true });
    mkdirSync(shared, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', 'shoal-test', priv]);
    execFileSync('mount', ['--make-private', priv]);
    execFileSync('mount', ['-t', 'tmpfs', 'shoal-test', shared]);
    execFileSync('mount', ['--make-shared', shared]);
    try {
      const e = errorOf(() => buildSpec(input({ mounts: [m(priv, MountPropagation.PROPAGATION_BIDIRECTIONAL)] })));
      expect(e.message).toContain('shared mount');
      expect(errorOf(() => buildSpec(input({ mounts: [m(priv, MountPropagation.PROPAGATION_HOST_TO_CONTAINER)] }))).kind).toBe('InvalidArgument');
      const spec = buildSpec(input({ mounts: [m(shared, MountPropagation.PROPAGATION_HOST_TO_CONTAINER)] }));
      expect(spec.mounts.find((x) => x.destination === '/p')!.options).toContain('rslave');
      expect(spec.linux.rootfsPropagation).toBe('rslave');
      const bi = buildSpec(input({ mounts: [m(shared, MountPropagation.PROPAGATION_BIDIRECTIONAL)] }));
      expect(bi.linux.rootfsPropagation).toBe('rshared');
      expect(bi.mounts.find((x) => x.destination === '/p')!.options).toContain('rshared');
    } finally {
      execFileSync('umount', ['-l', shared]);
      execFileSync('umount', ['-l', priv]);
    }
  });
  test('readonly rootfs', () => {
    expect(buildSpec(input({ linux: { securityContext: sc({ readonlyRootfs: true }), resources: undefined } })).root.readonly).toBe(true);
  });
});

describe('devices', () => {
  test('a host device becomes a node and a cgroup rule with its permissions', () => {
    const spec = buildSpec(input({ devices: [{ containerPath: '/dev/mynull', hostPath: '/dev/null', permissions: 'rw' }] }));
    expect(spec.linux.devices).toContainEqual(expect.objectContaining({ path: '/dev/mynull', type: 'c', major: 1, minor: 3 }));
    expect(spec.linux.resources!.devices).toContainEqual({ allow: true, type: 'c', major: 1, minor: 3, access: 'rw' });
    expect(spec.linux.resources!.devices![0]).toEqual({ allow: false, access: 'rwm' });
  });
  test('bad permissions or a missing device are InvalidArgument naming the field', () => {
    expect(errorOf(() => buildSpec(input({ devices: [{ containerPath: '/dev/x', hostPath: '/dev/null', permissions: 'rwx' }] }))).message).toContain('devices[0].permissions');
    expect(errorOf(() => buildSpec(input({ devices: [{ containerPath: '/dev/x', hostPath: '/dev/shoal-nope', permissions: 'r' }] }))).message).toContain('/dev/shoal-nope');
  });
});

describe('resources', () => {
  const res = (over: object) => ({ cpuPeriod: 0n, cpuQuota: 0n, cpuShares: 0n, memoryLimitInBytes: 0n, oomScoreAdj: 0n, cpusetCpus: '', cpusetMems: '', hugepageLimits: [], unified: {}, memorySwapLimitInBytes: 0n, ...over });
  test('every field maps to linux.resources', () => {
    const spec = buildSpec(input({ linux: { securityContext: undefined, resources: res({ cpuPeriod: 100000n, cpuQuota: 50000n, cpuShares: 512n, memoryLimitInBytes: 64n << 20n, memorySwapLimitInBytes: 128n << 20n, cpusetCpus: '0', cpusetMems: '0', hugepageLimits: [{ pageSize: '2MB', limit: 0n }], unified: { 'memory.high': '1000000' } }) } }));
    expect(spec.linux.resources).toMatchObject({
      cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
      memory: { limit: 64 << 20, swap: 128 << 20 },
      hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
      unified: { 'memory.high': '1000000' },
    });
    expect(spec.linux.cgroupsPath).toBe('/kubepods/podabc/c1');
  });
  test('invalid values are InvalidArgument naming the field', () => {
    expect(errorOf(() => buildSpec(input({ linux: { securityContext: undefined, resources: res({ cpusetCpus: 'abc' }) } }))).message).toContain('cpuset_cpus');
    expect(errorOf(() => buildSpec(input({ linux: { securityContext: undefined, resources: res({ memoryLimitInBytes: 100n, memorySwapLimitInBytes: 50n }) } }))).message).toContain('memory_swap_limit_in_bytes');
  });
});

describe('labels and annotations', () => {
  test('annotations pass into the spec', () => {
    const spec = buildSpec(input({ annotations: { a: 'b' } }));
    expect(spec.annotations!.a).toBe('b');
  });
});

describe('user resolution', () => {
  const files = {
    passwd: 'root:x:0:0:root:/root:/bin/sh\nshoal:x:1000:1000::/home/shoal:/bin/sh\nweb:x:33:33::/:/bin/false\n',
    group: 'root:x:0:\nshoal:x:1000:\nextra:x:1001:shoal,web\nwheel:x:10:shoal\n',
  };
  test('image USER by name, with its groups merged', () => {
    expect(resolveUser(undefined, 'shoal', files)).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 10, 1001] });
  });
  test('image USER uid:group', () => {
    expect(resolveUser(undefined, '33:extra', files)).toEqual({ uid: 33, gid: 1001, additionalGids: [1001] });
  });
  test('run_as_user wins; run_as_group overrides; supplemental groups added', () => {
    expect(resolveUser(sc({ runAsUser: { value: 1000n }, runAsGroup: { value: 5n }, supplementalGroups: [7n] }), 'web', files)).toEqual({ uid: 1000, gid: 5, additionalGids: [5, 7, 10, 1001] });
  });
  test('Strict keeps only the listed groups', () => {
    expect(resolveUser(sc({ runAsUsername: 'shoal', supplementalGroups: [7n], supplementalGroupsPolicy: SupplementalGroupsPolicy.Strict }), '', files)).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 7] });
  });
  test('run_as_username unknown, or a group without a user, is InvalidArgument', () => {
    expect(errorOf(() => resolveUser(sc({ runAsUsername: 'nobody-here' }), '', files)).message).toContain('nobody-here');
    expect(errorOf(() => resolveUser(sc({ runAsGroup: { value: 5n } }), '', files)).message).toContain('run_as_group');
  });
  test('an unknown numeric uid is fine, with gid 0', () => {
    expect(resolveUser(sc({ runAsUser: { value: 4242n } }), '', files)).toEqual({ uid: 4242, gid: 0, additionalGids: [0] });
  });
});

describe('stop signal', () => {
  test('config, then image STOPSIGNAL, then SIGTERM', () => {
    expect(stopSignal(Signal.SIGUSR1, 'SIGQUIT')).toBe(10);
    expect(stopSignal(Signal.RUNTIME_DEFAULT, 'SIGQUIT')).toBe(3);
    expect(stopSignal(Signal.RUNTIME_DEFAULT, '9')).toBe(9);
    expect(stopSignal(Signal.RUNTIME_DEFAULT, undefined)).toBe(15);
    expect(stopSignal(Signal.SIGRTMINPLUS3, undefined)).toBe(37);
  });
});

describe('rootfs paths', () => {
  test('symlinks resolve inside the root', () => {
    const root = join(tmp, 'root');
    mkdirSync(join(root, 'etc'), { recursive: true });
    writeFileSync(join(root, 'etc/real'), 'x');
    symlinkSync('/../../../etc/real', join(root, 'etc/passwd'));
    expect(resolveInRoot(root, '/etc/passwd')).toBe(join(root, 'etc/real'));
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codeOf } from '../helpers/cri_client';
import { containerEnv, containersFootprint, createContainer, logLines, runPod, runToExit, type ContainerEnv } from './env';

let env: ContainerEnv;
let pod: Awaited<ReturnType<typeof runPod>>;
let tmp: string;

beforeAll(async () => {
  env = await containerEnv();
  pod = await runPod(env.daemon);
  tmp = mkdtempSync('/tmp/shoal-ctest-sec-');
});
afterAll(async () => {
  await env?.cleanup();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Runs a shell snippet in a container with the given linux config; returns stdout lines. */
async function sh(script: string, linux: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<{ out: string[]; err: string[]; code: number }> {
  const r = await runToExit(env, pod, { command: ['/bin/sh', '-c', script], linux, ...extra });
  await env.daemon.client.runtime('RemoveContainer', { container_id: r.id });
  return { out: logLines(r.log, 'stdout'), err: logLines(r.log, 'stderr'), code: r.exitCode };
}

const statusField = (lines: string[], field: string): string => (lines.find((l) => l.startsWith(`${field}:`)) ?? '').split(/\s+/)[1] ?? '';
const capBits = (hex: string): bigint => BigInt(`0x${hex}`);
const CAP = { CHOWN: 0, NET_ADMIN: 12, SYS_ADMIN: 21, KILL: 5 };
const has = (mask: bigint, bit: number): boolean => ((mask >> BigInt(bit)) & 1n) === 1n;

test('default container: default caps, seccomp filter on, masked and read-only paths as given', async () => {
  const r = await sh('grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; cat /proc/kcore | wc -c; echo x > /proc/sys/kernel/shmmax && echo wrote || echo refused; unshare -U true && echo userns || echo nouserns', {
    security_context: { masked_paths: ['/proc/kcore'], readonly_paths: ['/proc/sys'], seccomp: { profile_type: 'RuntimeDefault' }, no_new_privs: true },
  });
  const eff = capBits(statusField(r.out, 'CapEff'));
  expect(has(eff, CAP.CHOWN)).toBe(true);
  expect(has(eff, CAP.NET_ADMIN)).toBe(false);
  expect(has(eff, CAP.SYS_ADMIN)).toBe(false);
  expect(statusField(r.out, 'NoNewPrivs')).toBe('1');
  expect(statusField(r.out, 'Seccomp')).toBe('2');
  expect(r.out).toContain('0'); // /proc/kcore masked: reads as empty
  expect(r.out).toContain('refused');
  expect(r.out).toContain('nouserns');
  expect(r.err.join('\n')).toMatch(/Operation not permitted/);
});

test('Unconfined seccomp lets unshare of a user namespace through', async () => {
  const r = await sh('grep ^Seccomp: /proc/self/status; unshare -U true && echo userns || echo nouserns', { security_context: { seccomp: { profile_type: 'Unconfined' } } });
  expect(statusField(r.out, 'Seccomp')).toBe('0');
  expect(r.out).toContain('userns');
});

test('a Localhost seccomp profile is applied (mkdir fails with its errno)', async () => {
  const file = join(tmp, 'deny-mkdir.json');
  writeFileSync(file, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }] }));
  const r = await sh('mkdir /tmp/x && echo made || echo denied', { security_context: { seccomp: { profile_type: 'Localhost', localhost_ref: file } } });
  expect(r.out).toContain('denied');
  expect(r.err.join('\n')).toMatch(/Permission denied/);
});

test('capabilities add and drop (including ALL)', async () => {
  const r = await sh('grep ^CapEff: /proc/self/status', { security_context: { capabilities: { add_capabilities: ['NET_ADMIN'], drop_capabilities: ['CHOWN'] } } });
  const eff = capBits(statusField(r.out, 'CapEff'));
  expect(has(eff, CAP.NET_ADMIN)).toBe(true);
  expect(has(eff, CAP.CHOWN)).toBe(false);
  const only = await sh('grep ^CapBnd: /proc/self/status', { security_context: { capabilities: { add_capabilities: ['KILL'], drop_capabilities: ['ALL'] } } });
  expect(capBits(statusField(only.out, 'CapBnd'))).toBe(1n << BigInt(CAP.KILL));
  const bad = await createContainer(env, pod, { command: ['true'], linux: { security_context: { capabilities: { add_capabilities: ['NOT_A_CAP'] } } } }).catch((e: unknown) => e);
  expect(codeOf(bad)).toBe('INVALID_ARGUMENT');
  expect(String(bad)).toContain('NOT_A_CAP');
});

test('privileged: all capabilities, rw sysfs, host devices, nothing masked', async () => {
  const r = await sh('grep ^CapEff: /proc/self/status; grep " /sys " /proc/self/mounts; ls /dev/ | grep -c . ; grep ^Seccomp: /proc/self/status; echo done', {
    security_context: { privileged: true, masked_paths: ['/proc/kcore'] },
  });
  expect(r.out).toContain('done');
  // Every capability this host lets the daemon hold (its bounding set).
  const own = require('node:fs').readFileSync('/proc/self/status', 'utf8') as string;
  expect(capBits(statusField(r.out, 'CapEff'))).toBe(capBits(statusField(own.split('\n'), 'CapBnd')));
  expect(r.out.find((l) => l.includes(' /sys '))).toMatch(/\brw\b/);
  expect(Number(r.out.find((l) => /^\d+$/.test(l)))).toBeGreaterThan(10);
  expect(statusField(r.out, 'Seccomp')).toBe('0');
});

test('users: image user, run_as_user, run_as_username, run_as_group, supplemental groups Merge and Strict', async () => {
  expect((await sh('id')).out).toEqual(['uid=0(root) gid=0(root) groups=0(root)']);
  expect((await sh('id', { security_context: { run_as_user: { value: '1000' } } })).out[0]).toBe('uid=1000(shoal) gid=1000(shoal) groups=10(wheel),1000(shoal),1001(extra)');
  expect((await sh('id', { security_context: { run_as_username: 'shoal', run_as_group: { value: '1001' }, supplemental_groups: ['4242'] } })).out[0]).toBe('uid=1000(shoal) gid=1001(extra) groups=10(wheel),1001(extra),4242');
  expect((await sh('id', { security_context: { run_as_user: { value: '1000' }, supplemental_groups: ['4242'], supplemental_groups_policy: 'Strict' } })).out[0]).toBe('uid=1000(shoal) gid=1000(shoal) groups=1000(shoal),4242');
  const img = await env.addImage('user', { user: 'shoal', cmd: ['/bin/sh', '-c', 'id'] });
  const byImage = await runToExit(env, pod, { image: img.ref });
  expect(logLines(byImage.log, 'stdout')[0]).toMatch(/^uid=1000\(shoal\) gid=1000\(shoal\)/);
  const st = byImage.status;
  expect(st.user.linux).toEqual({ uid: '1000', gid: '1000', supplemental_groups: ['1000', '10', '1001'] });
  await env.daemon.client.runtime('RemoveContainer', { container_id: byImage.id });
  const groupOnly = await createContainer(env, pod, { command: ['id'], linux: { security_context: { run_as_group: { value: '5' } } } }).catch((e: unknown) => e);
  expect(codeOf(groupOnly)).toBe('INVALID_ARGUMENT');
  expect(String(groupOnly)).toContain('run_as_group');
  const unknownName = await createContainer(env, pod, { command: ['id'], linux: { security_context: { run_as_username: 'ghost' } } }).catch((e: unknown) => e);
  expect(codeOf(unknownName)).toBe('INVALID_ARGUMENT');
  expect(String(unknownName)).toContain('ghost');
});

test('readonly rootfs refuses writes; the pod files are mounted', async () => {
  const r = await sh('touch /x && echo wrote || echo refused; cat /etc/hostname; grep -c . /etc/hosts; test -f /etc/resolv.conf && echo resolv', { security_context: { readonly_rootfs: true } });
  expect(r.out[0]).toBe('refused');
  expect(r.out).toContain('resolv');
});

test('host path mounts: readonly, recursive read-only, writable; a missing host path names it', async () => {
  const vol = join(tmp, 'vol');
  require('node:fs').mkdirSync(vol, { recursive: true });
  writeFileSync(join(vol, 'f'), 'from-host\n');
  const mount = (container_path: string, extra: Record<string, unknown> = {}) => ({ container_path, host_path: vol, ...extra });
  const r = await sh('cat /ro/f; echo x > /ro/g && echo ro-wrote || echo ro-refused; echo y > /rw/h && echo rw-wrote; echo z > /rro/i && echo rro-wrote || echo rro-refused; grep " /rro " /proc/self/mountinfo', {}, {
    mounts: [mount('/ro', { readonly: true }), mount('/rw'), mount('/rro', { readonly: true, recursive_read_only: true })],
  });
  expect(r.out).toEqual(expect.arrayContaining(['from-host', 'ro-refused', 'rw-wrote', 'rro-refused']));
  // Refused half-way through CreateContainer (the rootfs is mounted by then): nothing of the
  // container is left.
  const before = containersFootprint(env.daemon);
  const missing = await createContainer(env, pod, { command: ['true'], mounts: [{ container_path: '/m', host_path: join(tmp, 'does-not-exist') }] }).catch((e: unknown) => e);
  expect(codeOf(missing)).toBe('INVALID_ARGUMENT');
  expect(String(missing)).toContain(join(tmp, 'does-not-exist'));
  expect(containersFootprint(env.daemon)).toEqual(before);
});

test('devices: a host device node appears with its cgroup permission', async () => {
  const r = await sh('ls -l /dev/mynull; echo hi > /dev/mynull && echo writable', {}, { devices: [{ container_path: '/dev/mynull', host_path: '/dev/null', permissions: 'rw' }] });
  expect(r.out[0]).toMatch(/^crw.* 1,\s+3 .*\/dev\/mynull$/);
  expect(r.out).toContain('writable');
  const bad = await createContainer(env, pod, { command: ['true'], devices: [{ container_path: '/dev/x', host_path: '/dev/null', permissions: 'rwz' }] }).catch((e: unknown) => e);
  expect(codeOf(bad)).toBe('INVALID_ARGUMENT');
  expect(String(bad)).toContain('devices[0].permissions');
});

test('env, working dir and args merge with the image config', async () => {
  const r = await sh('echo $FROM_IMAGE $MINE; pwd', {}, { envs: [{ key: 'MINE', value: 'v' }], workingDir: '/tmp' });
  expect(r.out).toEqual(['yes v', '/tmp']);
});

test('the termination log: a host file mounted at termination_message_path is written from inside', async () => {
  const file = join(tmp, 'termination-log');
  writeFileSync(file, '');
  await sh('echo goodbye > /dev/termination-log', {}, { mounts: [{ container_path: '/dev/termination-log', host_path: file }] });
  expect(require('node:fs').readFileSync(file, 'utf8')).toBe('goodbye\n');
});

test('mount propagation: host-to-container sees mounts the host makes later', async () => {
  const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
  const fs = require('node:fs') as typeof import('node:fs');
  const shared = join(tmp, 'shared');
  fs.mkdirSync(shared, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', 'shoal-prop', shared]);
  execFileSync('mount', ['--make-shared', shared]);
  try {
    const id = await createContainer(env, pod, {
      command: ['/bin/sh', '-c', 'sleep 1000'],
      mounts: [{ container_path: '/h2c', host_path: shared, propagation: 'PROPAGATION_HOST_TO_CONTAINER' }],
    });
    await env.daemon.client.runtime('StartContainer', { container_id: id });
    fs.mkdirSync(join(shared, 'fromhost'));
    execFileSync('mount', ['-t', 'tmpfs', 'shoal-prop-h', join(shared, 'fromhost')]);
    fs.writeFileSync(join(shared, 'fromhost', 'mark'), 'host\n');
    const seen = await env.daemon.client.runtime('ExecSync', { container_id: id, cmd: ['/bin/sh', '-c', 'cat /h2c/fromhost/mark; grep " /h2c " /proc/self/mountinfo'], timeout: '10' });
    const out = Buffer.from(seen.stdout).toString().split('\n');
    expect(out[0]).toBe('host');
    expect(out[1]).toMatch(/ master:\d+ /);
    await env.daemon.client.runtime('RemoveContainer', { container_id: id });
  } finally {
    spawnSyncQuiet('umount', ['-R', '-l', shared]);
  }
});

test('mount propagation: bidirectional mounts made in the container reach the host', async () => {
  const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
  const fs = require('node:fs') as typeof import('node:fs');
  const shared = join(tmp, 'bidir');
  fs.mkdirSync(shared, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', 'shoal-bidir', shared]);
  execFileSync('mount', ['--make-shared', shared]);
  try {
    const id = await createContainer(env, pod, {
      command: ['/bin/sh', '-c', 'sleep 1000'],
      mounts: [{ container_path: '/both', host_path: shared, propagation: 'PROPAGATION_BIDIRECTIONAL' }],
      linux: { security_context: { privileged: true } },
    });
    await env.daemon.client.runtime('StartContainer', { container_id: id });
    const made = await env.daemon.client.runtime('ExecSync', {
      container_id: id,
      cmd: ['/bin/sh', '-c', 'mkdir -p /both/fromctr && mount -t tmpfs shoal-bidir-c /both/fromctr && echo ctr > /both/fromctr/mark'],
      timeout: '10',
    });
    expect(made.exit_code).toBe(0);
    expect(fs.readFileSync(join(shared, 'fromctr', 'mark'), 'utf8')).toBe('ctr\n');
    await env.daemon.client.runtime('RemoveContainer', { container_id: id });
  } finally {
    spawnSyncQuiet('umount', ['-R', '-l', shared]);
  }
});

function spawnSyncQuiet(cmd: string, args: string[]): void {
  require('node:child_process').spawnSync(cmd, args, { stdio: 'ignore' });
}

/** shoal-runtime's OCI lifecycle: create/start/state/kill/delete, run exit codes, list, features,
 *  errors as one line naming the step. */
import koffi from 'koffi';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cgroupMounts, LIBSHOAL, RuntimeHarness, waitFor } from './runtime_harness';

let h: RuntimeHarness;
beforeEach(() => {
  h = new RuntimeHarness();
});
afterEach(() => h.cleanup());

test('--version and features JSON', () => {
  const v = h.run(['--version']);
  expect(v.code).toBe(0);
  expect(v.stdout).toMatch(/^shoal-runtime version \S+/);
  const f = h.run(['features']);
  expect(f.code).toBe(0);
  const feat = JSON.parse(f.stdout);
  expect(feat.ociVersionMax).toBe('1.2.0');
  expect(feat.hooks).toEqual(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  expect(feat.linux.namespaces).toEqual(expect.arrayContaining(['pid', 'network', 'mount', 'user', 'cgroup', 'time']));
  expect(feat.linux.capabilities).toContain('CAP_SYS_ADMIN');
  expect(feat.linux.seccomp.enabled).toBe(true);
  expect(feat.mountOptions).toEqual(expect.arrayContaining(['rro', 'rbind', 'rprivate', 'nosuid']));
  expect(feat.annotations['org.shoal.runtime.cgroup.v2.devices']).toMatch(/eBPF device program/);
});

test('features reports the runtime-spec 1.2 additions: idmap mounts, memory policy, intelRdt, seccomp notify', () => {
  const feat = JSON.parse(h.run(['features']).stdout);
  expect(feat.linux.mountExtensions).toEqual({ idmap: { enabled: true } });
  expect(feat.mountOptions).toEqual(expect.arrayContaining(['idmap', 'ridmap']));
  expect(feat.linux.memoryPolicy.modes).toEqual(expect.arrayContaining(['MPOL_BIND', 'MPOL_WEIGHTED_INTERLEAVE', 'MPOL_PREFERRED_MANY']));
  expect(feat.linux.memoryPolicy.flags).toEqual(['MPOL_F_NUMA_BALANCING', 'MPOL_F_RELATIVE_NODES', 'MPOL_F_STATIC_NODES']);
  expect(feat.linux.intelRdt).toEqual({ enabled: true, schemata: true, monitoring: true });
  expect(feat.linux.seccomp.actions).toEqual(expect.arrayContaining(['SCMP_ACT_NOTIFY', 'SCMP_ACT_TRACE']));
  expect(feat.linux.seccomp.supportedFlags).toEqual(feat.linux.seccomp.knownFlags);
});

test('run exits with the process exit code and prints its output', () => {
  const b = h.bundle({ args: ['sh', '-c', 'echo hello; exit 7'] });
  const r = h.runIn(b);
  expect(r.stdout).toBe('hello\n');
  expect(r.code).toBe(7);
});

test('run reports death by signal as 128+signal', async () => {
  const b = h.bundle({ args: ['sleep', '30'] });
  const id = h.id();
  const done = h.runAsync(['run', '--bundle', b.dir, id]);
  await waitFor(() => h.run(['state', id]).stdout.includes('"running"'), 'running');
  expect(h.run(['kill', id, 'KILL']).code).toBe(0);
  expect((await done).code).toBe(128 + 9);
});

test('create blocks before exec until start; state follows created → running → stopped; delete', async () => {
  const marker = 'started-marker';
  const b = h.bundle({ args: ['sh', '-c', `touch /${marker}; sleep 30`] });
  const id = h.id();
  const pidFile = path.join(h.tmp, 'pid');
  const c = h.run(['create', '--bundle', b.dir, '--pid-file', pidFile, id]);
  expect(c.stderr).toBe('');
  expect(c.code).toBe(0);
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  let st = h.state(id);
  expect(st).toMatchObject({ ociVersion: '1.2.0', id, status: 'created', pid, bundle: b.dir });
  // Blocked before exec: still our binary, nothing of the user process has run.
  expect(fs.existsSync(path.join(b.rootfs, marker))).toBe(false);
  expect(fs.readFileSync(`/proc/${pid}/comm`, 'utf8')).not.toBe('sleep\n');

  expect(h.run(['start', id]).code).toBe(0);
  await waitFor(() => fs.existsSync(path.join(b.rootfs, marker)), 'the process to run');
  st = h.state(id);
  expect(st.status).toBe('running');
  expect(h.run(['start', id]).code).not.toBe(0); // not created any more

  // delete refuses a running container without --force
  const d = h.run(['delete', id]);
  expect(d.code).not.toBe(0);
  expect(d.stderr.trim().split('\n')).toHaveLength(1);
  expect(d.stderr).toMatch(/delete: container .* is running/);

  expect(h.run(['kill', id, 'KILL']).code).toBe(0);
  await waitFor(() => h.state(id).status === 'stopped', 'stopped');
  expect(h.run(['delete', id]).code).toBe(0);
  expect(h.run(['state', id]).code).not.toBe(0);
});

test('kill by name and by number, list shows the container', async () => {
  const b = h.bundle({ args: ['sh', '-c', 'trap "exit 3" TERM; trap "exit 4" USR2; while true; do sleep 0.1; done'] });
  const id = h.id();
  expect(h.run(['run', '--detach', '--bundle', b.dir, id]).code).toBe(0);
  const l = h.run(['list', '--format', 'json']);
  expect(JSON.parse(l.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ id, status: 'running' })]));
  expect(h.run(['list', '-q']).stdout.split('\n')).toContain(id);
  expect(h.run(['kill', id, 'SIGUSR2']).code).toBe(0);
  await waitFor(() => h.state(id).status === 'stopped', 'stopped after SIGUSR2');
  expect(h.run(['delete', id]).code).toBe(0);

  const id2 = h.id();
  expect(h.run(['run', '-d', '--bundle', b.dir, id2]).code).toBe(0);
  expect(h.run(['kill', id2, '15']).code).toBe(0);
  await waitFor(() => h.state(id2).status === 'stopped', 'stopped after 15');
  expect(h.run(['kill', id2, 'NOSUCHSIG']).stderr).toMatch(/unknown signal/);
  expect(h.run(['delete', '--force', id2]).code).toBe(0);
});

test('a created container that never started can be killed or deleted', async () => {
  const b = h.bundle({ args: ['sleep', '30'] });
  const id = h.id();
  expect(h.run(['create', '--bundle', b.dir, id]).code).toBe(0);
  const pid = h.state(id).pid as number;
  expect(h.run(['delete', id]).code).toBe(0); // created, not running: no --force needed
  await waitFor(() => !fs.existsSync(`/proc/${pid}`) || fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] === 'Z', 'process gone');
  expect(fs.existsSync(path.join(h.root, id))).toBe(false);
  expect(h.run(['delete', '--force', id]).code).toBe(0); // unknown id with --force: nothing to do
  expect(h.run(['delete', id]).code).not.toBe(0);
});

test('delete --force kills a running container and removes its cgroup', () => {
  const b = h.bundle({ args: ['sleep', '60'] });
  const id = h.id();
  expect(h.run(['run', '-d', '--bundle', b.dir, id]).code).toBe(0);
  const cg = b.spec.linux.cgroupsPath as string;
  const dirs = cgroupMounts().map((m) => path.join(m, cg));
  expect(dirs.every((d) => fs.existsSync(d))).toBe(true);
  const r = h.run(['delete', '--force', id]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(dirs.filter((d) => fs.existsSync(d))).toEqual([]);
  expect(fs.existsSync(path.join(h.root, id))).toBe(false);
});

test('a failure is one line naming the step and the object, also in the json log', () => {
  const b = h.bundle({ args: ['/no/such/binary'] });
  const log = path.join(h.tmp, 'log.json');
  const id = h.id();
  const r = h.run(['--log', log, '--log-format', 'json', 'run', '--bundle', b.dir, id]);
  expect(r.code).not.toBe(0);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/exec \/no\/such\/binary: No such file or directory/);
  const rec = JSON.parse(fs.readFileSync(log, 'utf8').trim().split('\n').pop() as string);
  expect(rec.level).toBe('error');
  expect(rec.msg).toMatch(/exec \/no\/such\/binary/);
  // a failed create leaves nothing behind
  expect(fs.existsSync(path.join(h.root, id))).toBe(false);

  const missing = h.run(['start', 'no-such-container']);
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toMatch(/container no-such-container does not exist/);

  const dup = h.bundle({ args: ['sleep', '30'] });
  const id2 = h.id();
  expect(h.run(['create', '--bundle', dup.dir, id2]).code).toBe(0);
  const again = h.run(['create', '--bundle', dup.dir, id2]);
  expect(again.stderr).toMatch(/already exists/);
});

test('text log records warnings (oomScoreAdj clamped to the caller\'s value)', () => {
  const b = h.bundle({ args: ['cat', '/proc/self/oom_score_adj'], edit: (s) => (s.process.oomScoreAdj = -500) });
  const log = path.join(h.tmp, 'log.txt');
  const r = h.run(['--log', log, 'run', '--bundle', b.dir, h.id()]);
  expect(r.code).toBe(0);
  const own = fs.readFileSync('/proc/self/oom_score_adj', 'utf8').trim();
  if (r.stdout.trim() === '-500') return; // this host allows lowering it: nothing to clamp
  expect(r.stdout.trim()).toBe(own);
  expect(fs.readFileSync(log, 'utf8')).toMatch(/level=warning msg="oomScoreAdj -500 refused .*clamped/);
});

test('oomScoreAdj above the caller\'s value is applied', () => {
  const b = h.bundle({ args: ['cat', '/proc/self/oom_score_adj'], edit: (s) => (s.process.oomScoreAdj = 500) });
  expect(h.runIn(b).stdout.trim()).toBe('500');
});

test('start, kill and delete as library calls (how the daemon uses them): no fork, hooks refused', async () => {
  const so = koffi.load(LIBSHOAL);
  const start = so.func('int sh_start(const char *root, const char *id, _Out_ uint8_t *err)');
  const kill = so.func('int sh_kill(const char *root, const char *id, const char *signal, int all, _Out_ uint8_t *err)');
  const del = so.func('int sh_delete(const char *root, const char *id, int force, _Out_ uint8_t *err)');
  const text = (b: Buffer) => b.subarray(0, Math.max(0, b.indexOf(0))).toString('utf8');
  const marker = 'lib-started';
  const b = h.bundle({ args: ['sh', '-c', `touch /${marker}; sleep 30`] });
  const id = h.id();
  expect(h.run(['create', '--bundle', b.dir, id]).code).toBe(0);
  let err = Buffer.alloc(512);
  expect(start(h.root, id, err)).toBe(0);
  await waitFor(() => fs.existsSync(path.join(b.rootfs, marker)), 'the process to run');
  expect(h.state(id).status).toBe('running');
  expect(kill(h.root, id, 'KILL', 0, err)).toBe(0);
  await waitFor(() => h.state(id).status === 'stopped', 'stopped');
  expect(del(h.root, id, 0, err)).toBe(0);
  expect(fs.existsSync(path.join(h.root, id))).toBe(false);

  // a container with hooks: the library refuses to run them (they are processes)
  const hb = h.bundle({ args: ['sleep', '30'], edit: (s) => (s.hooks = { poststart: [{ path: '/bin/true' }] }) });
  const hid = h.id();
  expect(h.run(['create', '--bundle', hb.dir, hid]).code).toBe(0);
  err = Buffer.alloc(512);
  expect(start(h.root, hid, err)).toBe(-1);
  expect(text(err)).toMatch(/has poststart hooks, which run as processes: use the shoal-runtime command/);
  expect(h.state(hid).status).toBe('created');
});

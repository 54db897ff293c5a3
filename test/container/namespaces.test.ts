import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import pino from 'pino';
import { configSchema } from '../../src/config/schema';
import { ImageManager } from '../../src/image/manager';
import { testNetwork, type TestNetwork } from '../sandbox/net_env';
import { containerEnv, createContainer, logLines, runPod, runToExit, status, type ContainerEnv } from './env';

let env: ContainerEnv;
let net: TestNetwork;

beforeAll(async () => {
  env = await containerEnv();
  net = testNetwork(62, env.daemon.dir);
  net.install(env.daemon);
});
afterAll(async () => {
  await env?.cleanup();
  net?.destroy();
});

async function podInfo(id: string): Promise<{ namespaces: Record<string, string> }> {
  const res = await env.daemon.client.runtime('PodSandboxStatus', { pod_sandbox_id: id, verbose: true });
  return JSON.parse(res.info.info as string) as { namespaces: Record<string, string> };
}

const nsId = (path: string): string => readlinkSync(path);

test('containers join the pod network, ipc and uts namespaces; own mount and pid; shared /dev/shm', async () => {
  const pod = await runPod(env.daemon, { hostname: 'web-pod' }, { network: 'POD', ipc: 'POD', pid: 'CONTAINER' });
  const podNs = (await podInfo(pod.id)).namespaces;
  const a = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'echo shared > /dev/shm/x; sleep 1000'] });
  const b = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000'] });
  for (const id of [a, b]) await env.daemon.client.runtime('StartContainer', { container_id: id });
  const pid = async (id: string) => JSON.parse((await status(env.daemon, id, true)).info.info as string).pid as number;
  const pa = await pid(a);
  const pb = await pid(b);
  for (const kind of ['net', 'ipc', 'uts']) {
    expect(nsId(`/proc/${pa}/ns/${kind}`)).toBe(spawnSync('nsenter', [`--${kind === 'net' ? 'net' : kind}=${podNs[kind]}`, 'readlink', `/proc/self/ns/${kind}`], { encoding: 'utf8' }).stdout.trim());
    expect(nsId(`/proc/${pb}/ns/${kind}`)).toBe(nsId(`/proc/${pa}/ns/${kind}`));
  }
  expect(nsId(`/proc/${pa}/ns/mnt`)).not.toBe(nsId(`/proc/${pb}/ns/mnt`));
  expect(nsId(`/proc/${pa}/ns/pid`)).not.toBe(nsId(`/proc/${pb}/ns/pid`));
  expect(nsId(`/proc/${pa}/ns/pid`)).not.toBe(nsId('/proc/self/ns/pid'));
  const r = await env.daemon.client.runtime('ExecSync', { container_id: b, cmd: ['/bin/sh', '-c', 'cat /dev/shm/x; hostname; cat /etc/hostname; ip -o addr show eth0 | grep -c inet'], timeout: '10' });
  const out = Buffer.from(r.stdout).toString().split('\n');
  expect(out[0]).toBe('shared');
  expect(out[1]).toBe('web-pod');
  expect(out[2]).toBe('web-pod');
  expect(Number(out[3])).toBeGreaterThan(0);
  await env.daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: pod.id });
});

test('a host-network pod sees the host: its container is in the host netns and lists the host interfaces', async () => {
  const pod = await runPod(env.daemon, {}, { network: 'NODE', ipc: 'POD', pid: 'CONTAINER' });
  const r = await runToExit(env, pod, { command: ['/bin/sh', '-c', 'readlink /proc/self/ns/net; cat /proc/net/dev'] });
  const [netns, ...dev] = logLines(r.log, 'stdout');
  expect(netns).toBe(nsId('/proc/self/ns/net'));
  const names = (lines: string[]): string[] => lines.filter((l) => l.includes(':')).map((l) => l.split(':')[0].trim()).sort();
  const hostNames = names(readFileSync('/proc/net/dev', 'utf8').split('\n'));
  expect(names(dev)).toEqual(expect.arrayContaining(hostNames.filter((n) => n === 'lo' || n === 'eth0')));
  expect(names(dev).length).toBeGreaterThan(1);
  await env.daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: pod.id });
});

test('pid namespace modes: POD shares the pod init namespace, NODE the host one, TARGET another container', async () => {
  const pod = await runPod(env.daemon, {}, { network: 'NODE', ipc: 'POD', pid: 'POD' });
  const podNs = (await podInfo(pod.id)).namespaces;
  const a = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000'] });
  await env.daemon.client.runtime('StartContainer', { container_id: a });
  const pa = JSON.parse((await status(env.daemon, a, true)).info.info as string).pid as number;
  expect(nsId(`/proc/${pa}/ns/pid`)).toBe(nsId(podNs.pid));
  const ps = await env.daemon.client.runtime('ExecSync', { container_id: a, cmd: ['/bin/sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "'], timeout: '10' });
  expect(Buffer.from(ps.stdout).toString()).not.toContain('sleep');

  const hostPod = await runPod(env.daemon, {}, { network: 'NODE', ipc: 'POD', pid: 'NODE' });
  const h = await runToExit(env, hostPod, { command: ['/bin/sh', '-c', 'readlink /proc/self/ns/pid'] });
  expect(logLines(h.log, 'stdout')[0]).toBe(nsId('/proc/self/ns/pid'));

  const own = await runPod(env.daemon, {}, { network: 'NODE', ipc: 'POD', pid: 'CONTAINER' });
  const target = await createContainer(env, own, { command: ['/bin/sh', '-c', 'sleep 1000'] });
  await env.daemon.client.runtime('StartContainer', { container_id: target });
  const pt = JSON.parse((await status(env.daemon, target, true)).info.info as string).pid as number;
  const debug = await runToExit(env, own, { command: ['/bin/sh', '-c', 'readlink /proc/self/ns/pid'], linux: { security_context: { namespace_options: { network: 'NODE', ipc: 'POD', pid: 'TARGET', target_id: target } } } });
  expect(logLines(debug.log, 'stdout')[0]).toBe(nsId(`/proc/${pt}/ns/pid`));

  // No security context at all (as critest sends): the CRI's zero value, POD, is the pod's namespace
  // whatever the pod's is, and a namespace of the container's own in a pod without a shared one.
  const bare = async (p: typeof pod, name: string): Promise<number> => {
    const config = { metadata: { name, attempt: 0 }, image: { image: env.image }, command: ['/bin/sh', '-c', 'sleep 1000'], log_path: `${name}/0.log` };
    const id = (await env.daemon.client.runtime('CreateContainer', { pod_sandbox_id: p.id, config, sandbox_config: p.config })).container_id as string;
    await env.daemon.client.runtime('StartContainer', { container_id: id });
    return JSON.parse((await status(env.daemon, id, true)).info.info as string).pid as number;
  };
  expect(nsId(`/proc/${await bare(pod, 'bare-in-pod')}/ns/pid`)).toBe(nsId(podNs.pid));
  expect(nsId(`/proc/${await bare(hostPod, 'bare-on-host')}/ns/pid`)).toBe(nsId('/proc/self/ns/pid'));
  const alone = nsId(`/proc/${await bare(own, 'bare-alone')}/ns/pid`);
  expect([nsId('/proc/self/ns/pid'), nsId(`/proc/${pt}/ns/pid`)]).not.toContain(alone);
  for (const p of [pod, hostPod, own]) await env.daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: p.id });
});

test('an image in use keeps its layers after RemoveImage; they go with the container', async () => {
  const img = await env.addImage('inuse', { cmd: ['/bin/sh', '-c', 'sleep 1000'] });
  const pod = await runPod(env.daemon);
  const id = await createContainer(env, pod, { image: img.ref });
  await env.daemon.client.runtime('StartContainer', { container_id: id });
  const config = configSchema.parse({ root: env.daemon.root });
  const images = await ImageManager.open({ root: env.daemon.root, config, log: pino({ level: 'silent' }) }, { collect: false });
  const layers = await images.layerDirs(img.id);
  await images.remove(img.id);
  await images.collectGarbage();
  for (const d of layers) expect(spawnSync('test', ['-d', d]).status).toBe(0);
  const r = await env.daemon.client.runtime('ExecSync', { container_id: id, cmd: ['/bin/sh', '-c', 'cat /etc/passwd | head -1'], timeout: '10' });
  expect(Buffer.from(r.stdout).toString()).toMatch(/^root:/);
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
  await images.collectGarbage();
  await images.close();
  // The busybox layer is shared with the env's main image, which still holds it; the hold of the
  // removed container is gone.
  expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(id);
  await env.daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: pod.id });
});

// What `crictl logs` and `crictl ps -a` do, through the wire: the log path from ContainerStatus,
// read as CRI records (timestamps RFC 3339 with nanoseconds, in order), and the exited container
// in ListContainers. crictl itself is not a Debian package, so the suite does not depend on it.
test('ContainerStatus.log_path leads to the CRI log crictl logs reads; ListContainers lists the exited container', async () => {
  const pod = await runPod(env.daemon);
  const r = await runToExit(env, pod, { command: ['/bin/sh', '-c', 'echo one; echo two; echo three'] });
  const logPath = (await status(env.daemon, r.id)).status.log_path as string;
  expect(logPath.startsWith(pod.logDir)).toBe(true);
  const log = readFileSync(logPath, 'utf8');
  expect(logLines(log, 'stdout')).toEqual(['one', 'two', 'three']);
  const stamps = log.trimEnd().split('\n').map((l) => l.split(' ')[0]!);
  for (const t of stamps) expect(t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d)$/);
  expect([...stamps].sort()).toEqual(stamps);
  const listed = await env.daemon.client.runtime('ListContainers', { filter: { state: { state: 'CONTAINER_EXITED' } } });
  expect((listed.containers as Array<{ id: string }>).map((c) => c.id)).toContain(r.id);
  await env.daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: pod.id });
});

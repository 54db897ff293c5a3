import { mkdirSync, writeFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon';
import { killProcessesMentioning } from '../helpers/cleanup';
import { readCgroupLayout } from '../../src/cgroup/layout';
import { testNetwork, podConfig, inPod, podLeaks, livePodInits, NO_LEAKS, type TestNetwork, removeAllPods } from './net_env';

let daemon: TestDaemon;
let net: TestNetwork;
let slowBin: string;
let cniToml: string;

/**
 * A bridge plugin that, on ADD, allocates (runs the real bridge) and then blocks until released:
 * the window in which the daemon is killed mid-RunPodSandbox.
 */
function writeSlowPlugin(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const script = `#!/bin/sh
if [ "$CNI_COMMAND" = ADD ]; then
  out=$(/usr/lib/cni/bridge) || { echo "$out"; exit 1; }
  touch "${dir}/blocked-$CNI_CONTAINERID"
  while [ ! -e "${dir}/release" ]; do sleep 0.05; done
  echo "$out"
  exit 0
fi
exec /usr/lib/cni/bridge
`;
  writeFileSync(join(dir, 'slowbridge'), script, { mode: 0o755 });
  return dir;
}

beforeAll(async () => {
  daemon = await startDaemon();
  slowBin = writeSlowPlugin(join(daemon.dir, 'slowbin'));
  cniToml = `[cni]\nconf_dir = "${daemon.cniConfDir}"\nbin_dirs = ["${slowBin}", "/usr/lib/cni"]\n`;
  await daemon.stop();
  daemon = await startDaemon({ reuse: daemon, cniToml });
  net = testNetwork(242, daemon.dir);
  net.install(daemon);
});

afterAll(async () => {
  await removeAllPods(daemon);
  await daemon?.cleanup();
  net?.destroy();
});

async function info(d: TestDaemon, id: string): Promise<{ namespaces: { net?: string }; cgroupPath: string }> {
  const res = await d.client.runtime('PodSandboxStatus', { pod_sandbox_id: id, verbose: true });
  return JSON.parse(res.info.info as string) as { namespaces: { net?: string }; cgroupPath: string };
}

test('after SIGKILL and restart the sandboxes are kept with their states, IPs and namespaces', async () => {
  const configA = podConfig();
  const a = (await daemon.client.runtime('RunPodSandbox', { config: configA })).pod_sandbox_id as string;
  const b = (await daemon.client.runtime('RunPodSandbox', { config: podConfig() })).pod_sandbox_id as string;
  await daemon.client.runtime('StopPodSandbox', { pod_sandbox_id: b });
  const ipA = (await daemon.client.runtime('PodSandboxStatus', { pod_sandbox_id: a })).status.network.ip as string;
  const nsA = (await info(daemon, a)).namespaces;

  await daemon.kill();
  daemon = await startDaemon({ reuse: daemon, cniToml });

  const sa = (await daemon.client.runtime('PodSandboxStatus', { pod_sandbox_id: a })).status;
  expect(sa.state).toBe('SANDBOX_READY');
  expect(sa.network.ip).toBe(ipA);
  expect((await daemon.client.runtime('PodSandboxStatus', { pod_sandbox_id: b })).status.state).toBe('SANDBOX_NOTREADY');
  // The pinned namespace is the same one, still configured with the pod's address.
  expect(inPod(nsA, ['ip', '-4', 'addr', 'show', 'eth0']).out).toContain(ipA);
  // The name stays reserved across the restart.
  await expect(daemon.client.runtime('RunPodSandbox', { config: configA })).rejects.toThrow(new RegExp(a));
  const cgroups = [(await info(daemon, a)).cgroupPath, (await info(daemon, b)).cgroupPath];
  for (const id of [a, b]) {
    await daemon.client.runtime('StopPodSandbox', { pod_sandbox_id: id });
    await daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: id });
  }
  expect(podLeaks(daemon, net, [a, b], cgroups)).toEqual(NO_LEAKS);
});

test('a daemon killed in the middle of RunPodSandbox has the half-made sandbox cleaned at its next start', async () => {
  net.install(daemon, '10-test.conflist', [], { pluginType: 'slowbridge' });
  const pending = daemon.client.runtime('RunPodSandbox', { config: podConfig() }).catch((e: Error) => e);
  await waitFor(() => readdirSync(slowBin).some((n) => n.startsWith('blocked-')), 20_000, 'the plugin to block mid-ADD');
  const id = readdirSync(slowBin).find((n) => n.startsWith('blocked-'))!.slice('blocked-'.length);
  const cgroupPath = `${daemon.cgroupParent}/${id}`;
  // The half-made sandbox holds an address, namespace files and a cgroup at this point.
  const store = join(net.ipamDir, net.name);
  expect(readdirSync(store).some((f) => /^\d/.test(f) && readFileSync(join(store, f), 'utf8').includes(id))).toBe(true);
  expect(existsSync(join(daemon.runDir, 'pods', id, 'net'))).toBe(true);

  await daemon.kill();
  expect(await pending).toBeInstanceOf(Error);
  killProcessesMentioning(join(slowBin, 'slowbridge'));
  net.install(daemon);
  daemon = await startDaemon({ reuse: daemon, cniToml });

  expect(podLeaks(daemon, net, [id], [cgroupPath])).toEqual(NO_LEAKS);
  expect(existsSync(join(daemon.root, 'cni', `${id}.json`))).toBe(false);
  expect((await daemon.client.runtime('ListPodSandbox', {})).items).toEqual([]);
});

test('a shared-PID pod whose daemon is killed mid-RunPodSandbox: its pod init, already running, goes at the next start', async () => {
  net.install(daemon, '10-test.conflist', [], { pluginType: 'slowbridge' });
  const blockedBefore = new Set(readdirSync(slowBin).filter((n) => n.startsWith('blocked-')));
  const pending = daemon.client.runtime('RunPodSandbox', { config: podConfig({}, { pid: 'POD' }) }).catch((e: Error) => e);
  const blocked = (): string | undefined => readdirSync(slowBin).find((n) => n.startsWith('blocked-') && !blockedBefore.has(n));
  await waitFor(() => blocked() !== undefined, 20_000, 'the plugin to block mid-ADD');
  const id = blocked()!.slice('blocked-'.length);
  // The init starts while the plugin runs: it is up before the daemon dies.
  await waitFor(() => livePodInits(`${daemon.cgroupParent}/${id}`).length === 1, 10_000, 'the pod init to run');
  const initState = join(daemon.runDir, 'pod-init', `pod-${id}`);
  expect(existsSync(initState)).toBe(true);

  await daemon.kill();
  expect(await pending).toBeInstanceOf(Error);
  killProcessesMentioning(join(slowBin, 'slowbridge'));
  net.install(daemon);
  daemon = await startDaemon({ reuse: daemon, cniToml });

  expect(livePodInits(`${daemon.cgroupParent}/${id}`)).toEqual([]);
  expect(existsSync(initState)).toBe(false);
  expect(podLeaks(daemon, net, [id], [`${daemon.cgroupParent}/${id}`])).toEqual(NO_LEAKS);
  expect((await daemon.client.runtime('ListPodSandbox', {})).items).toEqual([]);
});

test('a pod directory without a record (crash before the record reached the disk) is removed with its cgroup', async () => {
  const id = 'c'.repeat(64);
  const dir = join(daemon.runDir, 'pods', id);
  const cgroupPath = `${daemon.cgroupParent}/${id}`;
  const memDir = join(readCgroupLayout().v1.memory!, cgroupPath);
  await daemon.stop();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cgroup.json'), JSON.stringify({ path: cgroupPath, created: true }));
  writeFileSync(join(dir, 'net'), '');
  mkdirSync(memDir, { recursive: true });
  daemon = await startDaemon({ reuse: daemon, cniToml });
  expect(existsSync(dir)).toBe(false);
  expect(existsSync(memDir)).toBe(false);
});

test('a CNI cache entry torn by a crash before its sync (ADD never ran) and a result without an entry are dropped at start', async () => {
  const torn = 'd'.repeat(64);
  const orphan = 'e'.repeat(64);
  const cacheDir = join(daemon.root, 'cni');
  await daemon.stop();
  writeFileSync(join(cacheDir, `${torn}.json`), '{"containerId":"dddd');
  writeFileSync(join(cacheDir, `${orphan}.result.json`), '{"cniVersion":"1.0.0"}');
  daemon = await startDaemon({ reuse: daemon, cniToml });
  expect(existsSync(join(cacheDir, `${torn}.json`))).toBe(false);
  expect(existsSync(join(cacheDir, `${orphan}.result.json`))).toBe(false);
  expect((await daemon.client.runtime('ListPodSandbox', {})).items).toEqual([]);
});

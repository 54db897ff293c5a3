import { existsSync, mkdirSync, readdirSync, writeFileSync, rmSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon';
import { codeOf } from '../helpers/cri_client';
import { testNetwork, isLeakFree, podConfig, podLeaks, livePodInits, NO_LEAKS, type TestNetwork } from './net_env';

let daemon: TestDaemon;
let net: TestNetwork;
let bin: string;

function plugin(name: string, addScript: string): void {
  writeFileSync(join(bin, name), `#!/bin/sh\nif [ "$CNI_COMMAND" = ADD ]; then\n${addScript}\nfi\nexit 0\n`, { mode: 0o755 });
}

beforeAll(async () => {
  const first = await startDaemon();
  bin = join(first.dir, 'plugins');
  mkdirSync(bin);
  plugin('failnet', `cat >/dev/null; echo '{"cniVersion":"1.0.0","code":11,"msg":"no more addresses for the test pod","details":"range exhausted"}'; exit 1`);
  plugin('hangnet', 'cat >/dev/null; while :; do sleep 0.05; done');
  plugin('slowfailnet', `cat >/dev/null; sleep 0.5; echo '{"cniVersion":"1.0.0","code":11,"msg":"slow and out of addresses"}'; exit 1`);
  await first.stop();
  daemon = await startDaemon({
    reuse: first,
    cniToml: `[cni]\nconf_dir = "${first.cniConfDir}"\nbin_dirs = ["${bin}", "/usr/lib/cni"]\nplugin_timeout = "2s"\n`,
  });
  net = testNetwork(244, daemon.dir);
});

afterAll(async () => {
  try {
    const { items } = await daemon.client.runtime('ListPodSandbox', {});
    for (const p of items as Array<{ id: string }>) await daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: p.id }).catch(() => undefined);
  } catch {
    /* daemon gone */
  }
  await daemon?.cleanup();
  net?.destroy();
});

async function networkReady(): Promise<{ status: boolean; message: string }> {
  const res = await daemon.client.runtime('Status', {});
  return (res.status.conditions as Array<{ type: string; status: boolean; message: string }>).find((c) => c.type === 'NetworkReady')!;
}

/** Pod ids the daemon ever started making, from its log (a failed RunPodSandbox returns none). */
function podIdsInLogs(): string[] {
  return [...new Set(daemon.stderr().match(/[0-9a-f]{64}/g) ?? [])];
}

test('NetworkReady follows whether a valid conflist exists, re-read when the directory changes', async () => {
  expect((await networkReady()).status).toBe(false);
  const noNet = daemon.client.runtime('RunPodSandbox', { config: podConfig() });
  await expect(noNet).rejects.toThrow(/network not ready/);
  net.install(daemon);
  expect(await networkReady()).toMatchObject({ status: true });
  writeFileSync(join(daemon.cniConfDir, '00-broken.conflist'), '{"name":"x","plugins":[{"type":"no-such-plugin"}]}');
  // The broken one sorts first but is skipped: the next valid one is used.
  expect((await networkReady()).status).toBe(true);
  renameSync(join(daemon.cniConfDir, '10-test.conflist'), join(daemon.dir, 'parked.conflist'));
  const down = await networkReady();
  expect(down.status).toBe(false);
  expect(down.message).toContain('no-such-plugin');
  rmSync(join(daemon.cniConfDir, '00-broken.conflist'));
  renameSync(join(daemon.dir, 'parked.conflist'), join(daemon.cniConfDir, '10-test.conflist'));
  expect((await networkReady()).status).toBe(true);
});

test("a failing plugin's message is returned and the failed RunPodSandbox leaves nothing behind", async () => {
  net.install(daemon, '10-test.conflist', [{ type: 'failnet' }]);
  const config = podConfig();
  const failed = daemon.client.runtime('RunPodSandbox', { config });
  await expect(failed).rejects.toThrow(/no more addresses for the test pod: range exhausted/);
  await failed.catch((e) => expect(codeOf(e)).not.toBe('OK'));
  const ids = podIdsInLogs();
  expect(ids.length).toBeGreaterThan(0);
  expect(podLeaks(daemon, net, ids, ids.map((id) => `${daemon.cgroupParent}/${id}`))).toEqual(NO_LEAKS);
  // The name reservation was released with the failure.
  net.install(daemon);
  const id = (await daemon.client.runtime('RunPodSandbox', { config })).pod_sandbox_id as string;
  await daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: id });
});

test('a shared-PID pod whose plugin fails: its pod init, started while the plugin ran, is stopped and removed', async () => {
  net.install(daemon, '10-test.conflist', [{ type: 'slowfailnet' }]);
  const before = new Set(podIdsInLogs());
  const failed = daemon.client.runtime('RunPodSandbox', { config: podConfig({}, { pid: 'POD' }) });
  failed.catch(() => undefined);
  // The plugin takes 0.5 s to fail; the init is up before that.
  await waitFor(() => livePodInits(daemon.cgroupParent).length === 1, 5_000, 'the pod init to run while the plugin does');
  const stateRoot = join(daemon.runDir, 'pod-init');
  const initStates = readdirSync(stateRoot).filter((n) => n.startsWith('pod-'));
  expect(initStates).toHaveLength(1);
  await expect(failed).rejects.toThrow(/slow and out of addresses/);
  const ids = podIdsInLogs().filter((id) => !before.has(id));
  expect(ids).toHaveLength(1);
  expect(initStates).toEqual([`pod-${ids[0]}`]);
  expect(livePodInits(daemon.cgroupParent)).toEqual([]);
  expect(existsSync(join(stateRoot, initStates[0]!))).toBe(false);
  expect(podLeaks(daemon, net, ids, ids.map((id) => `${daemon.cgroupParent}/${id}`))).toEqual(NO_LEAKS);
  net.install(daemon);
});

test('a plugin that does not answer is killed after cni.plugin_timeout and everything is undone', async () => {
  net.install(daemon, '10-test.conflist', [{ type: 'hangnet' }]);
  const before = new Set(podIdsInLogs());
  const failed = daemon.client.runtime('RunPodSandbox', { config: podConfig() });
  await expect(failed).rejects.toThrow(/hangnet ADD .* no answer within 2000 ms/);
  const ids = podIdsInLogs().filter((id) => !before.has(id));
  // The kernel may finish removing a veth a little after DEL returns: poll, then assert.
  await waitFor(() => isLeakFree(podLeaks(daemon, net, ids, [])), 20_000, 'the pods to be gone').catch(() => undefined);
  expect(podLeaks(daemon, net, ids, ids.map((id) => `${daemon.cgroupParent}/${id}`))).toEqual(NO_LEAKS);
  net.install(daemon);
});

test('a plugin that cannot be started, with a refused sysctl, fails the pod and leaves nothing', async () => {
  // The plugin's exec fails (its interpreter is missing) and the pinning that would release its
  // config fails too: no plugin acted, so the cache entry goes without a DEL (which could not run
  // either) and the daemon lives on.
  writeFileSync(join(bin, 'noexecnet'), '#!/nonexistent/interpreter\n', { mode: 0o755 });
  net.install(daemon, '10-test.conflist', [{ type: 'noexecnet' }]);
  const before = new Set(podIdsInLogs());
  const config = podConfig({ linux: { sysctls: { 'net.ipv4.ip_unprivileged_port_start': 'not-a-number' } } });
  const failed = daemon.client.runtime('RunPodSandbox', { config });
  await expect(failed).rejects.toThrow(/net\.ipv4\.ip_unprivileged_port_start=not-a-number/);
  await new Promise((r) => setTimeout(r, 200));
  expect((await daemon.client.runtime('Version', {})).runtime_name).toBe('shoal');
  const ids = podIdsInLogs().filter((id) => !before.has(id));
  expect(podLeaks(daemon, net, ids, ids.map((id) => `${daemon.cgroupParent}/${id}`))).toEqual(NO_LEAKS);
  net.install(daemon);
});

test('a dual-stack network gives the pod an IPv4 address first and its IPv6 address as additional', async () => {
  net.install(daemon, '10-test.conflist', [], { dualStack: true });
  const id = (await daemon.client.runtime('RunPodSandbox', { config: podConfig() })).pod_sandbox_id as string;
  const { status } = await daemon.client.runtime('PodSandboxStatus', { pod_sandbox_id: id });
  expect(status.network.ip).toMatch(/^10\.244\./);
  const v6 = (status.network.additional_ips as Array<{ ip: string }>).map((a) => a.ip);
  expect(v6).toHaveLength(1);
  expect(v6[0]).toContain(':');
  expect(v6[0]!.startsWith(net.subnet6.split('::')[0]!)).toBe(true);
  await daemon.client.runtime('StopPodSandbox', { pod_sandbox_id: id });
  await daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: id });
  expect(podLeaks(daemon, net, [id], [`${daemon.cgroupParent}/${id}`])).toEqual(NO_LEAKS);
  net.install(daemon);
});

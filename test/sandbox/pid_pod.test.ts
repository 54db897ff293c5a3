import { readFileSync, readlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, type TestDaemon } from '../helpers/daemon';
import { testNetwork, podConfig, podLeaks, NO_LEAKS, type TestNetwork } from './net_env';

let daemon: TestDaemon;
let net: TestNetwork;

beforeAll(async () => {
  daemon = await startDaemon();
  net = testNetwork(245, daemon.dir);
  net.install(daemon);
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

test('pid POD runs the pod init as PID 1 of a new PID namespace inside the pod namespaces and cgroup', async () => {
  const id = (await daemon.client.runtime('RunPodSandbox', { config: podConfig({}, { pid: 'POD' }) })).pod_sandbox_id as string;
  const res = await daemon.client.runtime('PodSandboxStatus', { pod_sandbox_id: id, verbose: true });
  expect(res.status.linux.namespaces.options.pid).toBe('POD');
  const info = JSON.parse(res.info.info as string) as { podInitPid: number; namespaces: Record<string, string>; cgroupPath: string };
  const pid = info.podInitPid;
  expect(pid).toBeGreaterThan(0);
  expect(info.namespaces.pid).toBe(`/proc/${pid}/ns/pid`);
  // PID 1 in its own namespace, the same net namespace as the pinned one, not the host's pid ns.
  expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/NSpid:\s+\d+\s+1\n/);
  expect(readlinkSync(`/proc/${pid}/ns/pid`)).not.toBe(readlinkSync('/proc/self/ns/pid'));
  const pinnedNet = readlinkSync(`/proc/${pid}/ns/net`);
  expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).toContain(`${info.cgroupPath}/pod-init`);
  expect(pinnedNet).not.toBe(readlinkSync('/proc/self/ns/net'));

  await daemon.client.runtime('StopPodSandbox', { pod_sandbox_id: id });
  expect(existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z').toBe(false);
  await daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: id });
  expect(podLeaks(daemon, net, [id], [info.cgroupPath])).toEqual(NO_LEAKS);
  expect(existsSync(join(daemon.runDir, 'pod-init', `pod-${id}`))).toBe(false);
});

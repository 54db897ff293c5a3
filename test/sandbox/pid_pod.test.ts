import { readFileSync, readlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon';
import { testNetwork, podConfig, podLeaks, NO_LEAKS, type TestNetwork, removeAllPods } from './net_env';

let daemon: TestDaemon;
let net: TestNetwork;

beforeAll(async () => {
  daemon = await startDaemon();
  net = testNetwork(245, daemon.dir);
  net.install(daemon);
});

afterAll(async () => {
  await removeAllPods(daemon);
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

test('after a restart the pod init is kept; a pod whose init died meanwhile is NOTREADY', async () => {
  const keep = (await daemon.client.runtime('RunPodSandbox', { config: podConfig({}, { pid: 'POD' }) })).pod_sandbox_id as string;
  const lose = (await daemon.client.runtime('RunPodSandbox', { config: podConfig({}, { pid: 'POD' }) })).pod_sandbox_id as string;
  const pidOf = async (id: string): Promise<number> =>
    (JSON.parse((await daemon.client.runtime('PodSandboxStatus', { pod_sandbox_id: id, verbose: true })).info.info as string) as { podInitPid: number }).podInitPid;
  const keptPid = await pidOf(keep);
  const lostPid = await pidOf(lose);
  await daemon.kill();
  process.kill(lostPid, 'SIGKILL');
  await waitFor(() => !existsSync(`/proc/${lostPid}`) || readFileSync(`/proc/${lostPid}/stat`, 'utf8').split(' ')[2] === 'Z', 5000, 'the init to die');
  daemon = await startDaemon({ reuse: daemon });
  expect((await daemon.client.runtime('PodSandboxStatus', { pod_sandbox_id: keep })).status.state).toBe('SANDBOX_READY');
  expect(await pidOf(keep)).toBe(keptPid);
  expect(existsSync(`/proc/${keptPid}`)).toBe(true);
  expect((await daemon.client.runtime('PodSandboxStatus', { pod_sandbox_id: lose })).status.state).toBe('SANDBOX_NOTREADY');
  for (const id of [keep, lose]) await daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: id });
  expect(podLeaks(daemon, net, [keep, lose], [`${daemon.cgroupParent}/${keep}`, `${daemon.cgroupParent}/${lose}`])).toEqual(NO_LEAKS);
});

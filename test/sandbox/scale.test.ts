import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon';
import { testNetwork, isLeakFree, podConfig, podLeaks, NO_LEAKS, type TestNetwork, removeAllPods } from './net_env';

let daemon: TestDaemon;
let net: TestNetwork;

beforeAll(async () => {
  daemon = await startDaemon({ logLevel: 'info' });
  net = testNetwork(243, daemon.dir);
  net.install(daemon);
});

afterAll(async () => {
  await removeAllPods(daemon);
  await daemon?.cleanup();
  net?.destroy();
});

test('50 pods created and removed 10 at a time leave nothing behind', async () => {
  const ids: string[] = [];
  const cgroups: string[] = [];
  const ips = new Set<string>();
  for (let batch = 0; batch < 5; batch++) {
    const made = await Promise.all(
      Array.from({ length: 10 }, async (_, n) => {
        const config = podConfig(n % 3 === 0 ? { port_mappings: [{ protocol: 'TCP', container_port: 80, host_port: 30000 + (process.pid % 1000) * 10 + batch * 10 + n }] } : {});
        return (await daemon.client.runtime('RunPodSandbox', { config })).pod_sandbox_id as string;
      }),
    );
    for (const id of made) {
      ids.push(id);
      cgroups.push(`${daemon.cgroupParent}/${id}`);
      ips.add((await daemon.client.runtime('PodSandboxStatus', { pod_sandbox_id: id })).status.network.ip as string);
    }
  }
  expect(ips.size).toBe(50);
  expect((await daemon.client.runtime('ListPodSandbox', {})).items).toHaveLength(50);
  for (let batch = 0; batch < 5; batch++) {
    await Promise.all(
      ids.slice(batch * 10, batch * 10 + 10).map(async (id) => {
        await daemon.client.runtime('StopPodSandbox', { pod_sandbox_id: id });
        await daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: id });
      }),
    );
  }
  // The kernel may finish removing a veth a little after DEL returns: poll, then assert.
  await waitFor(() => isLeakFree(podLeaks(daemon, net, ids, cgroups)), 20_000, 'the pods to be gone').catch(() => undefined);
  expect(podLeaks(daemon, net, ids, cgroups)).toEqual(NO_LEAKS);
  expect((await daemon.client.runtime('ListPodSandbox', {})).items).toEqual([]);
});

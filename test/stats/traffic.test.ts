import { containerEnv, createContainer, waitExited, waitFor, type ContainerEnv } from '../container/env';
import { podConfig, testNetwork, type TestNetwork } from '../sandbox/net_env';

// Pod network stats: two pods on a private CNI bridge; a container in one serves a file of known
// size over HTTP (busybox httpd), a container in the other downloads it (busybox wget). Each pod's
// eth0 counters must account for the bytes.
const SENT = 2 * 1024 * 1024;

let env: ContainerEnv;
let net: TestNetwork;
const pods: Array<{ id: string; config: Record<string, unknown> }> = [];

const n = (v: { value: string } | null | undefined): bigint => BigInt(v?.value ?? '-1');

async function networkPod(): Promise<{ id: string; config: Record<string, unknown>; ip: string }> {
  const config = podConfig();
  const res = await env.daemon.client.runtime('RunPodSandbox', { config });
  const pod = { id: res.pod_sandbox_id as string, config };
  pods.push(pod);
  const st = await env.daemon.client.runtime('PodSandboxStatus', { pod_sandbox_id: pod.id });
  return { ...pod, ip: st.status.network.ip as string };
}

async function podStats(id: string): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return (await env.daemon.client.runtime('PodSandboxStats', { pod_sandbox_id: id })).stats;
}

beforeAll(async () => {
  env = await containerEnv();
  net = testNetwork(243, env.daemon.dir);
  net.install(env.daemon);
});

afterAll(async () => {
  for (const p of pods) await env?.daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: p.id }).catch(() => undefined);
  await env?.cleanup();
  net?.destroy();
});

test('rx/tx of both pods grow by at least the bytes sent between them', async () => {
  const receiver = await networkPod();
  const sender = await networkPod();
  const before = { rx: n((await podStats(receiver.id)).linux.network?.default_interface?.rx_bytes), tx: n((await podStats(sender.id)).linux.network?.default_interface?.tx_bytes) };
  expect(before.rx).toBeGreaterThanOrEqual(0n);

  const server = await createContainer(env, sender, {
    command: ['/bin/busybox', 'sh', '-c', `mkdir /www && busybox dd if=/dev/zero of=/www/blob bs=1024 count=${SENT / 1024} 2>/dev/null && exec busybox httpd -f -p 8080 -h /www`],
  });
  await env.daemon.client.runtime('StartContainer', { container_id: server });
  const client = await createContainer(env, receiver, {
    command: ['/bin/busybox', 'sh', '-c', `for i in $(busybox seq 50); do busybox wget -q -O /tmp/blob http://${sender.ip}:8080/blob && [ $(busybox stat -c %s /tmp/blob) = ${SENT} ] && exit 0; sleep 0.2; done; exit 1`],
  });
  await env.daemon.client.runtime('StartContainer', { container_id: client });
  const st = await waitExited(env.daemon, client, 60_000);
  expect(st.exit_code).toBe(0);

  let rx = 0n;
  await waitFor(async () => {
    rx = n((await podStats(receiver.id)).linux.network.default_interface.rx_bytes);
    return rx - before.rx >= BigInt(SENT);
  }, 10_000, 'receiver rx ≥ bytes sent');
  const senderStats = await podStats(sender.id);
  const eth0 = senderStats.linux.network.default_interface;
  expect(eth0.name).toBe('eth0');
  expect(n(eth0.tx_bytes) - before.tx).toBeGreaterThanOrEqual(BigInt(SENT));
  expect(n(eth0.rx_errors)).toBe(0n);
  expect(n(eth0.tx_errors)).toBe(0n);
  // loopback is internal to the pod and not reported
  expect((senderStats.linux.network.interfaces as Array<{ name: string }>).map((i) => i.name)).toEqual(['eth0']);

  // the same counters as cadvisor-named pod metrics, labelled with the interface
  const metrics = await env.daemon.client.runtime('ListPodSandboxMetrics', {});
  const recv = (metrics.pod_metrics as Array<{ pod_sandbox_id: string; metrics: Array<{ name: string; label_values: string[]; value: { value: string } }> }>)
    .find((p) => p.pod_sandbox_id === receiver.id)!;
  const rxMetric = recv.metrics.find((m) => m.name === 'container_network_receive_bytes_total' && m.label_values.includes('eth0'))!;
  expect(BigInt(rxMetric.value.value)).toBeGreaterThanOrEqual(rx);

  await env.daemon.client.runtime('RemoveContainer', { container_id: server });
  await env.daemon.client.runtime('RemoveContainer', { container_id: client });
});

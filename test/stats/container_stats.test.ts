import { codeOf } from '../helpers/cri_client';
import { readCgroupLayout } from '../../src/cgroup/layout';
import { containerEnv, createContainer, runPod, waitFor, type ContainerEnv } from '../container/env';

// CRI stats of real containers with known load, through the daemon's gRPC socket.
const MiB = 1024 * 1024;

let env: ContainerEnv;
let pod: Awaited<ReturnType<typeof runPod>>;
const started: string[] = [];

async function run(command: string, labels: Record<string, string> = {}): Promise<string> {
  const id = await createContainer(env, pod, { command: ['/bin/sh', '-c', command], labels });
  await env.daemon.client.runtime('StartContainer', { container_id: id });
  started.push(id);
  return id;
}

// proto-loader gives uint64 as strings
const n = (v: { value: string } | null | undefined): bigint => BigInt(v?.value ?? '-1');
const stats = async (id: string) => (await env.daemon.client.runtime('ContainerStats', { container_id: id })).stats;

beforeAll(async () => {
  env = await containerEnv();
  pod = await runPod(env.daemon);
});
afterAll(async () => {
  for (const id of started) await env?.daemon.client.runtime('RemoveContainer', { container_id: id }).catch(() => undefined);
  await env?.cleanup();
});

test('a busy loop: CPU usage grows; usage_nano_cores is its rate, up to one core', async () => {
  const id = await run('while :; do :; done', { load: 'cpu' });
  const first = await stats(id);
  expect(first.attributes.id).toBe(id);
  expect(first.attributes.labels).toEqual({ load: 'cpu' });
  await new Promise((r) => setTimeout(r, 1500));
  const second = await stats(id);
  expect(n(second.cpu.usage_core_nano_seconds)).toBeGreaterThan(n(first.cpu.usage_core_nano_seconds));
  // The rate is the counter's growth over the time between the two samples (the timestamps are
  // wall-clock, ms resolution: within a few percent over 1.5 s). One spinning shell gets up to one
  // core — all of it on an idle host, its share on a busy one — and never more.
  const rate = Number(n(second.cpu.usage_nano_cores));
  const expected = (Number(n(second.cpu.usage_core_nano_seconds) - n(first.cpu.usage_core_nano_seconds)) * 1e9) /
    Number(BigInt(second.cpu.timestamp) - BigInt(first.cpu.timestamp));
  expect(Math.abs(rate - expected) / expected).toBeLessThan(0.05);
  expect(rate).toBeGreaterThan(0);
  // one thread cannot exceed a core; the margin covers scheduling delay between a stamp and its read
  expect(rate / 1e9).toBeLessThan(1.25);
  expect(BigInt(second.cpu.timestamp)).toBeGreaterThan(0n);
  // PSI wherever the host has a cgroup2 hierarchy (hybrid here, v2 in the VM): a spinning shell
  // competing for the CPUs stalls some of the time; the total is in nanoseconds.
  if (readCgroupLayout().v2Root !== undefined) {
    expect(second.cpu.psi.Some).toBeDefined();
    expect(BigInt(second.cpu.psi.Some.Total)).toBeGreaterThanOrEqual(0n);
    expect(second.io.psi.Some).toBeDefined();
  }
});

test('memory held in the container shows in the working set', async () => {
  // 64 MiB written to the pod's /dev/shm (tmpfs): charged to the writer's cgroup as shared memory,
  // which the kernel cannot drop, so it stays in the working set.
  const id = await run(`dd if=/dev/zero of=/dev/shm/held-$$ bs=1M count=64 2>/dev/null && echo done > /tmp/ready; sleep 1000`);
  let s: Record<string, any> = {}; // eslint-disable-line @typescript-eslint/no-explicit-any
  await waitFor(async () => {
    s = await stats(id);
    return s.memory && n(s.memory.working_set_bytes) >= BigInt(64 * MiB);
  }, 20_000, 'working set ≥ 64 MiB');
  expect(n(s.memory.usage_bytes)).toBeGreaterThanOrEqual(n(s.memory.working_set_bytes));
  expect(n(s.memory.available_bytes)).toBeGreaterThan(0n);
  expect(n(s.memory.page_faults)).toBeGreaterThan(0n);
});

test('a file in the writable layer counts at least its size', async () => {
  const id = await run(`dd if=/dev/urandom of=/payload bs=1M count=5 2>/dev/null; sleep 1000`);
  let s: Record<string, any> = {}; // eslint-disable-line @typescript-eslint/no-explicit-any
  await waitFor(async () => {
    s = await stats(id);
    return n(s.writable_layer?.used_bytes) >= BigInt(5 * MiB);
  }, 20_000, 'writable layer ≥ 5 MiB');
  expect(n(s.writable_layer.inodes_used)).toBeGreaterThanOrEqual(2n);
  expect(s.writable_layer.fs_id.mountpoint).toMatch(/^\//);
});

test('ListContainerStats and StreamContainerStats: filters by id, pod and labels', async () => {
  const a = await run('sleep 1000', { role: 'list-a' });
  const b = await run('sleep 1000', { role: 'list-b' });
  const all = (await env.daemon.client.runtime('ListContainerStats', {})).stats as Array<{ attributes: { id: string } }>;
  expect(all.map((s) => s.attributes.id)).toEqual(expect.arrayContaining([a, b]));
  const byLabel = (await env.daemon.client.runtime('ListContainerStats', { filter: { label_selector: { role: 'list-b' } } })).stats;
  expect(byLabel.map((s: { attributes: { id: string } }) => s.attributes.id)).toEqual([b]);
  const byId = (await env.daemon.client.runtime('ListContainerStats', { filter: { id: a } })).stats;
  expect(byId.map((s: { attributes: { id: string } }) => s.attributes.id)).toEqual([a]);
  const byPod = (await env.daemon.client.runtime('ListContainerStats', { filter: { pod_sandbox_id: pod.id } })).stats;
  expect(byPod.length).toBe(all.length);
  const streamed = await env.daemon.client.runtimeStream('StreamContainerStats', {});
  const streamedIds = streamed.flatMap((m) => (m.container_stats as Array<{ attributes: { id: string } }>).map((s) => s.attributes.id));
  expect(streamedIds.sort()).toEqual(all.map((s) => s.attributes.id).sort());
});

test('pod stats: the pod cgroup holds its containers', async () => {
  const s = (await env.daemon.client.runtime('PodSandboxStats', { pod_sandbox_id: pod.id })).stats;
  expect(s.attributes.id).toBe(pod.id);
  expect(s.attributes.metadata.namespace).toBe('ctest');
  expect(n(s.linux.cpu.usage_core_nano_seconds)).toBeGreaterThan(0n);
  expect(n(s.linux.memory.working_set_bytes)).toBeGreaterThanOrEqual(BigInt(64 * MiB));
  expect(n(s.linux.process.process_count)).toBeGreaterThanOrEqual(BigInt(started.length));
  expect((s.linux.containers as Array<{ attributes: { id: string } }>).map((c) => c.attributes.id)).toEqual(expect.arrayContaining(started));
  const listed = (await env.daemon.client.runtime('ListPodSandboxStats', {})).stats as Array<{ attributes: { id: string } }>;
  expect(listed.map((p) => p.attributes.id)).toContain(pod.id);
});

test('pod metrics carry cadvisor names and labels matching the descriptors', async () => {
  const descriptors = (await env.daemon.client.runtime('ListMetricDescriptors', {})).descriptors as Array<{ name: string; label_keys: string[] }>;
  const keys = new Map(descriptors.map((d) => [d.name, d.label_keys]));
  const res = await env.daemon.client.runtime('ListPodSandboxMetrics', {});
  const mine = (res.pod_metrics as Array<Record<string, any>>).find((p) => p.pod_sandbox_id === pod.id)!; // eslint-disable-line @typescript-eslint/no-explicit-any
  expect(mine).toBeDefined();
  const busy = (mine.container_metrics as Array<{ container_id: string; metrics: Array<Record<string, any>> }>).find((c) => c.container_id === started[0])!; // eslint-disable-line @typescript-eslint/no-explicit-any
  const cpu = busy.metrics.find((m) => m.name === 'container_cpu_usage_seconds_total')!;
  expect(cpu.metric_type).toBe('COUNTER');
  const labels = Object.fromEntries((keys.get(cpu.name) ?? []).map((k, i) => [k, cpu.label_values[i]]));
  expect(labels).toMatchObject({ name: started[0], namespace: 'ctest', pod: (pod.config.metadata as { name: string }).name, cpu: 'total', image: env.image });
  for (const m of [...mine.metrics, ...busy.metrics]) expect(m.label_values.length).toBe(keys.get(m.name)?.length);
  expect(busy.metrics.some((m) => m.name === 'container_memory_working_set_bytes')).toBe(true);

  const streamed = await env.daemon.client.runtimeStream('StreamPodSandboxMetrics', {});
  expect(streamed.flatMap((m) => (m.pod_sandbox_metrics as Array<{ pod_sandbox_id: string }>).map((p) => p.pod_sandbox_id))).toContain(pod.id);
  const podStream = await env.daemon.client.runtimeStream('StreamPodSandboxStats', { filter: { id: pod.id } });
  expect(podStream.flatMap((m) => (m.pod_sandbox_stats as Array<{ attributes: { id: string } }>).map((p) => p.attributes.id))).toEqual([pod.id]);
});

test('stats of a removed container: NotFound, and gone from the list', async () => {
  const id = await run('sleep 1000');
  await stats(id);
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
  const err = await stats(id).then(() => undefined, (e: unknown) => e);
  expect(codeOf(err)).toBe('NOT_FOUND');
  const all = (await env.daemon.client.runtime('ListContainerStats', {})).stats as Array<{ attributes: { id: string } }>;
  expect(all.map((s) => s.attributes.id)).not.toContain(id);
});

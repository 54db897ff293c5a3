/**
 * The daemon's pod and container cgroups, read back from the cgroup v2 files themselves. Runs only
 * inside the cgroup2 VM (`make test-cgroup2`; the name keeps it out of the host suite, where the
 * same behaviour is checked through the v1 files by test/container and test/sandbox).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerEnv, createContainer, runPod, runToExit, status, type ContainerEnv } from '../../container/env';

const V2_ROOT = '/sys/fs/cgroup';
const MiB = 1024 * 1024;

let env: ContainerEnv;
let pod: Awaited<ReturnType<typeof runPod>>;
beforeAll(async () => {
  env = await containerEnv();
  pod = await runPod(env.daemon);
});
afterAll(async () => {
  await env?.cleanup();
});

function v2File(cgroupPath: string, file: string): string {
  return readFileSync(join(V2_ROOT, cgroupPath, file), 'utf8').trim();
}

test('container resources land in the v2 files, UpdateContainerResources changes them, remove deletes the cgroup', async () => {
  const id = await createContainer(env, pod, {
    command: ['/bin/sh', '-c', 'sleep 1000'],
    linux: { resources: { cpu_period: '100000', cpu_quota: '50000', cpu_shares: '512', memory_limit_in_bytes: String(64 * MiB), cpuset_cpus: '0' } },
  });
  await env.daemon.client.runtime('StartContainer', { container_id: id });
  const info = JSON.parse((await status(env.daemon, id, true)).info.info as string) as { pid: number; cgroupsPath: string };
  // Seen from the host the process is in the container's cgroup (inside, a cgroup namespace shows "/").
  expect(readFileSync(`/proc/${info.pid}/cgroup`, 'utf8')).toBe(`0::${info.cgroupsPath}\n`);
  expect(v2File(info.cgroupsPath, 'memory.max')).toBe(String(64 * MiB));
  expect(v2File(info.cgroupsPath, 'cpu.max')).toBe('50000 100000');
  expect(v2File(info.cgroupsPath, 'cpu.weight')).toBe('20'); // 1 + (512 - 2) * 9999 / 262142
  expect(v2File(info.cgroupsPath, 'cpuset.cpus')).toBe('0');

  await env.daemon.client.runtime('UpdateContainerResources', {
    container_id: id,
    linux: { memory_limit_in_bytes: String(96 * MiB), cpu_quota: '20000', cpu_period: '100000' },
  });
  expect(v2File(info.cgroupsPath, 'memory.max')).toBe(String(96 * MiB));
  expect(v2File(info.cgroupsPath, 'cpu.max')).toBe('20000 100000');

  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
  expect(existsSync(join(V2_ROOT, info.cgroupsPath))).toBe(false);
});

test('an OOM kill under memory.max is reported as OOMKilled', async () => {
  const limit = String(16 * MiB);
  const r = await runToExit(env, pod, {
    command: ['/bin/sh', '-c', 'tail /dev/zero'],
    linux: { resources: { memory_limit_in_bytes: limit, memory_swap_limit_in_bytes: limit } },
  });
  expect(r.exitCode).toBe(137);
  expect(r.status.reason).toBe('OOMKilled');
  await env.daemon.client.runtime('RemoveContainer', { container_id: r.id });
});

test('the pod cgroup at cgroup_parent carries the pod resources plus overhead, and goes with the pod', async () => {
  const parent = `${env.daemon.cgroupParent}/kubepods/burstable/pod${process.pid}${Date.now()}`;
  const p = await runPod(env.daemon, {
    linux: {
      cgroup_parent: parent,
      resources: { memory_limit_in_bytes: String(256 * MiB), cpu_shares: '512', cpu_quota: '50000', cpu_period: '100000' },
      overhead: { memory_limit_in_bytes: String(16 * MiB), cpu_shares: '10' },
      security_context: { namespace_options: { network: 'NODE', ipc: 'POD', pid: 'CONTAINER' } },
    },
  });
  expect(v2File(parent, 'memory.max')).toBe(String(272 * MiB));
  expect(v2File(parent, 'cpu.max')).toBe('50000 100000');
  expect(v2File(parent, 'cpu.weight')).toBe('20'); // shares 522
  await env.daemon.client.runtime('StopPodSandbox', { pod_sandbox_id: p.id });
  await env.daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: p.id });
  expect(existsSync(join(V2_ROOT, parent))).toBe(false);
});

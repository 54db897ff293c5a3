import { existsSync, readFileSync, renameSync } from 'node:fs';
import { processesWhere } from '../helpers/cleanup';
import { join } from 'node:path';
import { cgroupDir, onCgroupV2, readCgroupFile, weightOfShares } from '../helpers/cgroup_files';
import { codeOf } from '../helpers/cri_client';
import { REPO } from '../helpers/daemon';
import { execSync } from '../../src/container/exec_sync';
import { containerEnv, createContainer, logLines, runPod, runToExit, status, waitExited, waitFor, type ContainerEnv } from './env';

let env: ContainerEnv;
let pod: Awaited<ReturnType<typeof runPod>>;

beforeAll(async () => {
  env = await containerEnv();
  pod = await runPod(env.daemon);
});
afterAll(async () => {
  await env?.cleanup();
});

const res = (over: Record<string, unknown>) => ({ resources: over });

/** The v1 file name; on a cgroup2-only host the equivalent v2 file is read, its value put in v1 terms. */
function cgroupFile(controller: string, cgroupsPath: string, file: string): string {
  if (!onCgroupV2) return readCgroupFile(cgroupsPath, controller, file);
  switch (file) {
    case 'memory.limit_in_bytes':
      return readCgroupFile(cgroupsPath, 'memory', 'memory.max');
    case 'cpu.cfs_quota_us':
      return readCgroupFile(cgroupsPath, 'cpu', 'cpu.max').split(' ')[0];
    case 'cpu.shares': {
      // v2 keeps only the weight; check it is the documented conversion of the shares asked for.
      const weight = Number(readCgroupFile(cgroupsPath, 'cpu', 'cpu.weight'));
      return weight === weightOfShares(512) ? '512' : `weight ${weight}`;
    }
    case 'cpuset.cpus':
      return readCgroupFile(cgroupsPath, 'cpuset', 'cpuset.cpus');
    default:
      throw new Error(`no v2 equivalent known for ${file}`);
  }
}

async function running(spec: Parameters<typeof createContainer>[2]): Promise<{ id: string; info: { pid: number; cgroupsPath: string } }> {
  const id = await createContainer(env, pod, spec);
  await env.daemon.client.runtime('StartContainer', { container_id: id });
  const info = JSON.parse((await status(env.daemon, id, true)).info.info as string) as { pid: number; cgroupsPath: string };
  return { id, info };
}

test('resources land in the cgroup and oom_score_adj in the process; UpdateContainerResources changes the live cgroup', async () => {
  const { id, info } = await running({
    command: ['/bin/sh', '-c', 'cat /proc/self/oom_score_adj; sleep 1000'],
    linux: res({ cpu_period: '100000', cpu_quota: '50000', cpu_shares: '512', memory_limit_in_bytes: String(64 << 20), oom_score_adj: '500', cpuset_cpus: '0' }),
  });
  expect(cgroupFile('memory', info.cgroupsPath, 'memory.limit_in_bytes')).toBe(String(64 << 20));
  expect(cgroupFile('cpu', info.cgroupsPath, 'cpu.cfs_quota_us')).toBe('50000');
  expect(cgroupFile('cpu', info.cgroupsPath, 'cpu.shares')).toBe('512');
  expect(cgroupFile('cpuset', info.cgroupsPath, 'cpuset.cpus')).toBe('0');
  expect(readFileSync(`/proc/${info.pid}/oom_score_adj`, 'utf8').trim()).toBe('500');

  await env.daemon.client.runtime('UpdateContainerResources', { container_id: id, linux: { memory_limit_in_bytes: String(96 << 20), cpu_quota: '20000', cpu_period: '100000' } });
  expect(cgroupFile('memory', info.cgroupsPath, 'memory.limit_in_bytes')).toBe(String(96 << 20));
  expect(cgroupFile('cpu', info.cgroupsPath, 'cpu.cfs_quota_us')).toBe('20000');
  expect((await status(env.daemon, id)).status.resources.linux.memory_limit_in_bytes).toBe(String(96 << 20));
  const bad = await env.daemon.client.runtime('UpdateContainerResources', { container_id: id, linux: { cpuset_cpus: 'zzz' } }).catch((e: unknown) => e);
  expect(codeOf(bad)).toBe('INVALID_ARGUMENT');
  expect(cgroupFile('memory', info.cgroupsPath, 'memory.limit_in_bytes')).toBe(String(96 << 20));
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
});

test('an OOM kill under a tiny memory limit is reported as OOMKilled', async () => {
  const limit = String(16 << 20);
  const r = await runToExit(env, pod, { command: ['/bin/sh', '-c', 'tail /dev/zero'], linux: res({ memory_limit_in_bytes: limit, memory_swap_limit_in_bytes: limit }) });
  expect(r.exitCode).toBe(137);
  expect(r.status.reason).toBe('OOMKilled');
  await env.daemon.client.runtime('RemoveContainer', { container_id: r.id });
});

test('logs: a 40 KiB line is split into P records ending with F; ReopenContainerLog after rotation', async () => {
  const { id } = await running({ command: ['/bin/sh', '-c', 'head -c 40960 /dev/zero | tr "\\0" a; echo; echo first; while [ ! -f /tmp/go ]; do sleep 0.05; done; echo second; sleep 1000'] });
  const logPath = (await status(env.daemon, id)).status.log_path as string;
  await waitFor(() => existsSync(logPath) && readFileSync(logPath, 'utf8').includes(' F first'), 10_000, 'first lines');
  const raw = readFileSync(logPath, 'utf8').split('\n').filter(Boolean);
  const tags = raw.map((l) => l.split(' ')[2]);
  expect(tags.slice(0, 3)).toEqual(['P', 'P', 'F']);
  expect(logLines(raw.join('\n'))[0]).toBe('a'.repeat(40960));
  renameSync(logPath, `${logPath}.1`);
  await env.daemon.client.runtime('ReopenContainerLog', { container_id: id });
  await env.daemon.client.runtime('ExecSync', { container_id: id, cmd: ['/bin/sh', '-c', ': > /tmp/go'], timeout: '10' });
  await waitFor(() => existsSync(logPath) && readFileSync(logPath, 'utf8').includes(' F second'), 10_000, 'the line after reopen');
  expect(logLines(readFileSync(logPath, 'utf8'))).toEqual(['second']);
  await env.daemon.client.runtime('StopContainer', { container_id: id, timeout: '0' });
  const notRunning = await env.daemon.client.runtime('ReopenContainerLog', { container_id: id }).catch((e: unknown) => e);
  expect(codeOf(notRunning)).toBe('FAILED_PRECONDITION');
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
});

test('ExecSync: output, exit code, runs as the container (namespaces, cgroup, user)', async () => {
  const { id, info } = await running({ command: ['/bin/sh', '-c', 'sleep 1000'], linux: { security_context: { run_as_user: { value: '1000' } } } });
  const r = await env.daemon.client.runtime('ExecSync', { container_id: id, cmd: ['/bin/sh', '-c', 'id -u; echo err >&2; cat /proc/1/cmdline | tr "\\0" " "; exit 3'], timeout: '10' });
  expect(r.exit_code).toBe(3);
  expect(Buffer.from(r.stdout).toString()).toBe('1000\nsleep 1000 ');
  expect(Buffer.from(r.stderr).toString()).toBe('err\n');
  // The exec ran in the container's cgroup: seen from the host, a second process joins the
  // container's init there while it runs (works on v1 and v2 alike).
  const procsFile = join(cgroupDir(info.cgroupsPath, 'memory'), 'cgroup.procs');
  const pids = (): string[] => readFileSync(procsFile, 'utf8').split('\n').filter(Boolean);
  expect(pids()).toEqual([String(info.pid)]);
  const exec = env.daemon.client.runtime('ExecSync', { container_id: id, cmd: ['/bin/sh', '-c', 'sleep 2'], timeout: '10' });
  await waitFor(() => pids().length >= 2, 5000);
  expect((await exec).exit_code).toBe(0);
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
});

test('ExecSync: a timeout is DeadlineExceeded and kills the process tree', async () => {
  const { id, info } = await running({ command: ['/bin/sh', '-c', 'sleep 1000'] });
  const err = await env.daemon.client.runtime('ExecSync', { container_id: id, cmd: ['/bin/sh', '-c', 'sleep 777 & sleep 778'], timeout: '1' }).catch((e: unknown) => e);
  expect(codeOf(err)).toBe('DEADLINE_EXCEEDED');
  const leftovers = (): number[] => processesWhere((cmdline) => /sleep\0(777|778)/.test(cmdline));
  await waitFor(() => leftovers().length === 0, 5000, 'exec processes to be gone');
  expect(existsSync(`/proc/${info.pid}`)).toBe(true);
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
});

test('ExecSync: a timed-out command is gone, not even a zombie, when the call answers', async () => {
  // sleep as the container's init reaps no one. Both run as /bin/busybox: comm "busybox".
  const { id } = await running({ command: ['/bin/busybox', 'sleep', '1000'] });
  const err = await env.daemon.client.runtime('ExecSync', { container_id: id, cmd: ['/bin/busybox', 'sleep', '4321'], timeout: '1' }).catch((e: unknown) => e);
  expect(codeOf(err)).toBe('DEADLINE_EXCEEDED');
  // Every process the container's PID namespace holds, zombies included ("pid (comm) state ...").
  const r = await env.daemon.client.runtime('ExecSync', { container_id: id, cmd: ['/bin/sh', '-c', 'for f in /proc/[0-9]*/stat; do read l < $f && echo "$l"; done'], timeout: '10' });
  const stats = Buffer.from(r.stdout).toString().split('\n');
  expect(stats.filter((l) => l.startsWith('1 (busybox)'))).toHaveLength(1);
  expect(stats.filter((l) => / \(busybox\) /.test(l) && !l.startsWith('1 '))).toEqual([]);
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
});

test('ExecSync returns when the process exits even if a background child holds stdout', async () => {
  const { id } = await running({ command: ['/bin/sh', '-c', 'sleep 1000'] });
  const r = await env.daemon.client.runtime('ExecSync', { container_id: id, cmd: ['/bin/sh', '-c', 'sleep 100 & echo started'], timeout: '30' });
  expect(r.exit_code).toBe(0);
  expect(Buffer.from(r.stdout).toString()).toBe('started\n');
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
});

test('ExecSync output is capped at 16 MiB per stream', async () => {
  const { id } = await running({ command: ['/bin/sh', '-c', 'sleep 1000'] });
  // Straight through the exec path (two full 16 MiB streams exceed the daemon's gRPC message
  // limit, which is the server's to set).
  const r = await execSync({
    runtime: { path: join(REPO, 'bin/shoal-runtime') },
    runtimeRoot: join(env.daemon.runDir, 'runtime'),
    containerId: id,
    cmd: ['/bin/sh', '-c', 'head -c 20000000 /dev/zero; head -c 17000000 /dev/zero >&2; exit 4'],
    timeoutMs: 60_000,
    scratchDir: join(env.daemon.dir, 'exec-scratch'),
  });
  expect(r.exitCode).toBe(4);
  expect(r.stdout.length).toBe(16 * 1024 * 1024);
  expect(r.stderr.length).toBe(16 * 1024 * 1024);
  // Over CRI the answer also fits the server's message limit (16 MiB by default): the exit code
  // arrives, the output tails are cut.
  const viaCri = await env.daemon.client.runtime('ExecSync', { container_id: id, cmd: ['/bin/sh', '-c', 'head -c 20000000 /dev/zero; echo err >&2; exit 4'], timeout: '60' });
  expect(viaCri.exit_code).toBe(4);
  expect(Buffer.from(viaCri.stdout).length + Buffer.from(viaCri.stderr).length).toBe(16 * 1024 * 1024 - 1024);
  const stopped = await createContainer(env, pod, { command: ['true'] });
  const e = await env.daemon.client.runtime('ExecSync', { container_id: stopped, cmd: ['true'], timeout: '5' }).catch((x: unknown) => x);
  expect(codeOf(e)).toBe('FAILED_PRECONDITION');
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
  await env.daemon.client.runtime('RemoveContainer', { container_id: stopped });
});

test('stop signal from the image STOPSIGNAL and from the config', async () => {
  const img = await env.addImage('stopsig', { stopSignal: 'SIGUSR1', cmd: ['/bin/sh', '-c', 'trap "exit 11" USR1; trap "exit 12" USR2; echo trapped; while true; do sleep 0.05; done'] });
  // PID 1 ignores a signal it has no handler for: the stop waits until the shell has its traps.
  const trapped = async (id: string): Promise<void> => {
    const logPath = (await status(env.daemon, id)).status.log_path as string;
    await waitFor(() => existsSync(logPath) && readFileSync(logPath, 'utf8').includes(' trapped'), 10_000, 'the traps');
  };
  const a = await createContainer(env, pod, { image: img.ref });
  expect((await status(env.daemon, a)).status.stop_signal).toBe('SIGUSR1');
  await env.daemon.client.runtime('StartContainer', { container_id: a });
  await trapped(a);
  await env.daemon.client.runtime('StopContainer', { container_id: a, timeout: '10' });
  expect((await waitExited(env.daemon, a)).exit_code).toBe(11);
  const b = await createContainer(env, pod, { image: img.ref, stopSignal: 'SIGUSR2' });
  await env.daemon.client.runtime('StartContainer', { container_id: b });
  await trapped(b);
  await env.daemon.client.runtime('StopContainer', { container_id: b, timeout: '10' });
  expect((await waitExited(env.daemon, b)).exit_code).toBe(12);
  await env.daemon.client.runtime('RemoveContainer', { container_id: a });
  await env.daemon.client.runtime('RemoveContainer', { container_id: b });
});

test('/metrics: out-of-memory kills, ExecSync durations by result and live monitors', async () => {
  const limit = String(16 << 20);
  const oom = await runToExit(env, pod, { command: ['/bin/sh', '-c', 'tail /dev/zero'], linux: res({ memory_limit_in_bytes: limit, memory_swap_limit_in_bytes: limit }) });
  expect(oom.status.reason).toBe('OOMKilled');
  await env.daemon.client.runtime('RemoveContainer', { container_id: oom.id });
  const { id } = await running({ command: ['/bin/sh', '-c', 'sleep 1000'] });
  await env.daemon.client.runtime('ExecSync', { container_id: id, cmd: ['/bin/sh', '-c', 'true'], timeout: '10' });
  await env.daemon.client.runtime('ExecSync', { container_id: id, cmd: ['/bin/sh', '-c', 'sleep 5'], timeout: '1' }).catch(() => undefined);
  const text = await (await fetch(`http://${env.daemon.metricsAddress}/metrics`)).text();
  const value = (series: string): number => Number(/ (\S+)$/.exec(text.split('\n').find((l) => l.startsWith(series)) ?? ' 0')![1]);
  expect(value('shoal_container_oom_kills_total')).toBeGreaterThanOrEqual(1);
  expect(value('shoal_exec_sync_duration_seconds_count{result="ok"}')).toBeGreaterThanOrEqual(1);
  expect(value('shoal_exec_sync_duration_seconds_count{result="timeout"}')).toBeGreaterThanOrEqual(1);
  expect(value('shoal_monitors')).toBeGreaterThanOrEqual(1);
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
});

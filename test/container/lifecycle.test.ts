import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { codeOf } from '../helpers/cri_client';
import { containerEnv, containerLeaks, createContainer, logLines, NO_CONTAINER_LEAKS, runPod, runToExit, status, waitExited, waitFor, waitReclaimed, type ContainerEnv } from './env';

let env: ContainerEnv;
let pod: Awaited<ReturnType<typeof runPod>>;

beforeAll(async () => {
  env = await containerEnv();
  pod = await runPod(env.daemon);
});
afterAll(async () => {
  await env?.cleanup();
});

test('create → start → exit 0: states, times, reason Completed, log written', async () => {
  const id = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'echo hello; echo oops >&2'], labels: { app: 'x' }, annotations: { note: 'y' } });
  const created = (await status(env.daemon, id)).status;
  expect(created.state).toBe('CONTAINER_CREATED');
  expect(created.labels).toEqual({ app: 'x' });
  expect(created.annotations).toEqual({ note: 'y' });
  expect(created.image_ref).toBe(env.imageId);
  expect(created.image_id).toBe(env.imageId);
  expect(BigInt(created.created_at)).toBeGreaterThan(0n);
  expect(created.started_at).toBe('0');
  await env.daemon.client.runtime('StartContainer', { container_id: id });
  const st = await waitExited(env.daemon, id);
  expect(st.exit_code).toBe(0);
  expect(st.reason).toBe('Completed');
  expect(BigInt(st.started_at)).toBeGreaterThanOrEqual(BigInt(created.created_at));
  expect(BigInt(st.finished_at)).toBeGreaterThanOrEqual(BigInt(st.started_at));
  expect((st.log_path as string).startsWith(`${pod.logDir}/`)).toBe(true);
  const { readFileSync } = await import('node:fs');
  const log = readFileSync(st.log_path as string, 'utf8');
  expect(logLines(log, 'stdout')).toEqual(['hello']);
  expect(logLines(log, 'stderr')).toEqual(['oops']);
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
  await expect(status(env.daemon, id)).rejects.toThrow(/not found/);
});

test('exit code 1 gives reason Error', async () => {
  const one = await runToExit(env, pod, { command: ['/bin/sh', '-c', 'exit 1'] });
  expect(one.exitCode).toBe(1);
  expect(one.status.reason).toBe('Error');
});

test('StopContainer: SIGTERM honoured; timeout 0 kills at once; stop and remove are idempotent', async () => {
  const id = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'trap "exit 42" TERM; while true; do sleep 0.1; done'] });
  await env.daemon.client.runtime('StartContainer', { container_id: id });
  expect((await status(env.daemon, id)).status.state).toBe('CONTAINER_RUNNING');
  await env.daemon.client.runtime('StopContainer', { container_id: id, timeout: '10' });
  const st = (await status(env.daemon, id)).status;
  expect(st.state).toBe('CONTAINER_EXITED');
  expect(st.exit_code).toBe(42);
  await env.daemon.client.runtime('StopContainer', { container_id: id, timeout: '10' });

  const stubborn = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done'] });
  await env.daemon.client.runtime('StartContainer', { container_id: stubborn });
  await env.daemon.client.runtime('StopContainer', { container_id: stubborn, timeout: '0' });
  const killed = (await status(env.daemon, stubborn)).status;
  expect(killed.exit_code).toBe(137);
  expect(killed.reason).toBe('Error');

  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
  await env.daemon.client.runtime('RemoveContainer', { container_id: stubborn });
  // Gone for good: still stopped, as far as the caller can tell.
  await env.daemon.client.runtime('StopContainer', { container_id: id, timeout: '10' });
  await env.daemon.client.runtime('StopContainer', { container_id: 'f'.repeat(64), timeout: '0' });
});

test('StopContainer right after StartContainer: the stop signal reaches an init that installs its handler later', async () => {
  // As its PID namespace's init, sh is spared a SIGTERM sent before its trap exists: the kernel
  // discards it. Only a SIGTERM sent again once the trap is there ends it with 42; a lost one
  // would end in the SIGKILL (137) after the 30 s grace period.
  const id = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 0.5; trap "exit 42" TERM; while true; do sleep 0.1; done'] });
  await env.daemon.client.runtime('StartContainer', { container_id: id });
  await env.daemon.client.runtime('StopContainer', { container_id: id, timeout: '30' });
  const st = (await status(env.daemon, id)).status;
  expect(st.state).toBe('CONTAINER_EXITED');
  expect(st.exit_code).toBe(42);
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
});

test('RemoveContainer force-stops a running container and removes its rootfs; its hold and directory are reclaimed', async () => {
  const id = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000'] });
  await env.daemon.client.runtime('StartContainer', { container_id: id });
  const info = JSON.parse((await status(env.daemon, id, true)).info.info as string) as { rootfs: string; pid: number };
  expect(existsSync(`/proc/${info.pid}`)).toBe(true);
  expect(existsSync(join(env.daemon.root, 'images', 'holds', `${id}.json`))).toBe(true);
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
  expect(existsSync(info.rootfs)).toBe(false);
  expect(containerLeaks(env.daemon, [id])).toEqual(NO_CONTAINER_LEAKS);
  const list = await env.daemon.client.runtime('ListContainers', {});
  expect((list.containers as Array<{ id: string }>).some((c) => c.id === id)).toBe(false);
  await waitReclaimed(env.daemon, [id]);
});

test('the writable layer is a volatile overlay (its unmount syncs nothing) where the kernel has the option', async () => {
  const id = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000'] });
  try {
    const rootfs = JSON.parse((await status(env.daemon, id, true)).info.info as string).rootfs as string;
    const line = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === rootfs);
    expect(line).toContain(' - overlay overlay ');
    // Shown as `volatile`, or `fsync=volatile` by kernels that have other fsync modes too.
    const [major, minor] = release().split('.').map(Number) as [number, number];
    if (major > 5 || (major === 5 && minor >= 10)) expect(line).toMatch(/[ ,=]volatile(,|$)/);
  } finally {
    await env.daemon.client.runtime('RemoveContainer', { container_id: id });
  }
});

test('SIGKILL of a container with its own PID namespace takes every process of it along', async () => {
  const id = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000 & sleep 1000 & wait'], linux: { security_context: { namespace_options: { pid: 'CONTAINER' } } } });
  await env.daemon.client.runtime('StartContainer', { container_id: id });
  const pid = JSON.parse((await status(env.daemon, id, true)).info.info as string).pid as number;
  const children = (): number[] => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  await waitFor(() => children().length === 2, 10_000, 'the two sleeps');
  const sleeps = children();
  await env.daemon.client.runtime('StopContainer', { container_id: id, timeout: '0' });
  expect((await status(env.daemon, id)).status.exit_code).toBe(137);
  for (const p of [pid, ...sleeps]) expect(existsSync(`/proc/${p}`)).toBe(false);
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
});

test('bad input: unknown image, unknown pod, duplicate name', async () => {
  const e1 = await createContainer(env, pod, { image: 'example.invalid/nope:1' }).catch((e: unknown) => e);
  expect(codeOf(e1)).toBe('NOT_FOUND');
  expect(String(e1)).toContain('example.invalid/nope:1');
  const e2 = await createContainer(env, { id: 'f'.repeat(64), config: pod.config }).catch((e: unknown) => e);
  expect(codeOf(e2)).toBe('NOT_FOUND');
  expect(String(e2)).toContain('f'.repeat(64));
  const first = await createContainer(env, pod, { name: 'dup', command: ['true'] });
  const e3 = await createContainer(env, pod, { name: 'dup', command: ['true'] }).catch((e: unknown) => e);
  expect(codeOf(e3)).toBe('ALREADY_EXISTS');
  expect(String(e3)).toContain(first);
  await env.daemon.client.runtime('RemoveContainer', { container_id: first });
});

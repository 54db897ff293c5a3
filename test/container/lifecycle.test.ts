import { existsSync } from 'node:fs';
import { codeOf } from '../helpers/cri_client';
import { containerEnv, createContainer, logLines, runPod, runToExit, status, waitExited, type ContainerEnv } from './env';

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
});

test('RemoveContainer force-stops a running container and removes its rootfs', async () => {
  const id = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000'] });
  await env.daemon.client.runtime('StartContainer', { container_id: id });
  const info = JSON.parse((await status(env.daemon, id, true)).info.info as string) as { rootfs: string; pid: number };
  expect(existsSync(`/proc/${info.pid}`)).toBe(true);
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
  expect(existsSync(info.rootfs)).toBe(false);
  const list = await env.daemon.client.runtime('ListContainers', {});
  expect((list.containers as Array<{ id: string }>).some((c) => c.id === id)).toBe(false);
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

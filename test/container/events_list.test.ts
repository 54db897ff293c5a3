import type { ClientReadableStream } from '@grpc/grpc-js';
import { codeOf } from '../helpers/cri_client';
import { containerEnv, createContainer, runPod, status, waitExited, waitFor, type ContainerEnv } from './env';

let env: ContainerEnv;
let pod: Awaited<ReturnType<typeof runPod>>;

beforeAll(async () => {
  env = await containerEnv();
  pod = await runPod(env.daemon);
});
afterAll(async () => {
  await env?.cleanup();
});

type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test('GetContainerEvents streams CREATED, STARTED, STOPPED, DELETED with the pod and container statuses', async () => {
  const events: Msg[] = [];
  const call = (env.daemon.client.raw.runtime as unknown as { GetContainerEvents(req: object): ClientReadableStream<Msg> }).GetContainerEvents({});
  call.on('data', (m: Msg) => events.push(m));
  call.on('error', () => undefined);
  // The stream is live once it carries an event: probe containers are made until one shows up.
  await waitFor(async () => {
    const probe = await createContainer(env, pod, { command: ['true'] });
    await env.daemon.client.runtime('RemoveContainer', { container_id: probe });
    return events.some((e) => e.container_id === probe);
  }, 10_000, 'the event stream to be live');
  const id = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'exit 5'] });
  await env.daemon.client.runtime('StartContainer', { container_id: id });
  await waitExited(env.daemon, id);
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
  await waitFor(() => events.filter((e) => e.container_id === id).length >= 4, 10_000, 'four events');
  call.cancel();
  const mine = events.filter((e) => e.container_id === id);
  expect(mine.map((e) => e.container_event_type)).toEqual(['CONTAINER_CREATED_EVENT', 'CONTAINER_STARTED_EVENT', 'CONTAINER_STOPPED_EVENT', 'CONTAINER_DELETED_EVENT']);
  expect(mine[0].pod_sandbox_status.id).toBe(pod.id);
  expect(mine[0].pod_sandbox_status.state).toBe('SANDBOX_READY');
  const stopped = mine[2].containers_statuses.find((s: Msg) => s.id === id);
  expect(stopped.state).toBe('CONTAINER_EXITED');
  expect(stopped.exit_code).toBe(5);
  expect(mine[3].containers_statuses.some((s: Msg) => s.id === id)).toBe(false);
});

test('ListContainers and StreamContainers filter by id prefix, state, pod and labels', async () => {
  const other = await runPod(env.daemon);
  const a = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000'], labels: { tier: 'web', app: 'a' } });
  const b = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000'], labels: { tier: 'db' } });
  const c = await createContainer(env, other, { command: ['/bin/sh', '-c', 'sleep 1000'], labels: { tier: 'web' } });
  await env.daemon.client.runtime('StartContainer', { container_id: a });
  const ids = (res: Msg): string[] => (res.containers as Msg[]).map((x) => x.id as string).sort();
  const list = (filter: Msg) => env.daemon.client.runtime('ListContainers', { filter });
  expect(ids(await list({ id: a.slice(0, 12) }))).toEqual([a]);
  expect(ids(await list({ state: { state: 'CONTAINER_RUNNING' } }))).toEqual([a]);
  expect(ids(await list({ pod_sandbox_id: other.id }))).toEqual([c]);
  expect(ids(await list({ label_selector: { tier: 'web' } }))).toEqual([a, c].sort());
  expect(ids(await list({ label_selector: { tier: 'web' }, pod_sandbox_id: pod.id }))).toEqual([a]);
  const streamed = await env.daemon.client.runtimeStream('StreamContainers', { filter: { state: { state: 'CONTAINER_CREATED' } } });
  expect(streamed.flatMap((m) => (m.containers as Msg[]).map((x) => x.id as string)).sort()).toEqual([b, c].sort());
  const all = await list({});
  const entry = (all.containers as Msg[]).find((x) => x.id === a)!;
  expect(entry).toMatchObject({ pod_sandbox_id: pod.id, image_ref: env.imageId, image_id: env.imageId, labels: { tier: 'web', app: 'a' }, state: 'CONTAINER_RUNNING' });
  expect(entry.image.image).toBe(env.image);
  const st = await status(env.daemon, a, true);
  const info = JSON.parse(st.info.info as string) as { pid: number; runtimeSpec: { process: { args: string[] } }; runtimeState: { status: string; pid: number } };
  expect(info.pid).toBeGreaterThan(0);
  expect(info.runtimeState).toMatchObject({ status: 'running', pid: info.pid });
  expect(info.runtimeSpec.process.args).toEqual(['/bin/sh', '-c', 'sleep 1000']);
  expect(codeOf(await env.daemon.client.runtime('StartContainer', { container_id: a }).catch((e: unknown) => e))).toBe('FAILED_PRECONDITION');
  expect(codeOf(await env.daemon.client.runtime('CheckpointContainer', { container_id: a }).catch((e: unknown) => e))).toBe('UNIMPLEMENTED');
  for (const id of [a, b, c]) await env.daemon.client.runtime('RemoveContainer', { container_id: id });
});

test('StopPodSandbox stops the pod containers; RemovePodSandbox removes them', async () => {
  const p = await runPod(env.daemon);
  const a = await createContainer(env, p, { command: ['/bin/sh', '-c', 'sleep 1000'] });
  const b = await createContainer(env, p, { command: ['/bin/sh', '-c', 'sleep 1000'] });
  await env.daemon.client.runtime('StartContainer', { container_id: a });
  await env.daemon.client.runtime('StopPodSandbox', { pod_sandbox_id: p.id });
  expect((await status(env.daemon, a)).status.state).toBe('CONTAINER_EXITED');
  expect((await status(env.daemon, b)).status.state).toBe('CONTAINER_EXITED');
  const refused = await createContainer(env, p, { command: ['true'] }).catch((e: unknown) => e);
  expect(String(refused)).toContain(p.id);
  await env.daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: p.id });
  const left = await env.daemon.client.runtime('ListContainers', { filter: { pod_sandbox_id: p.id } });
  expect(left.containers).toEqual([]);
});

import { containerEnv, containerLeaks, createContainer, NO_CONTAINER_LEAKS, runPod, type ContainerEnv } from './env';

let env: ContainerEnv;

beforeAll(async () => {
  env = await containerEnv();
});
afterAll(async () => {
  await env?.cleanup();
});

test('100 containers across 10 pods created, started, stopped and removed concurrently leave nothing behind', async () => {
  const pods = await Promise.all(Array.from({ length: 10 }, () => runPod(env.daemon)));
  const ids = (
    await Promise.all(
      pods.map((pod) =>
        Promise.all(
          Array.from({ length: 10 }, async () => {
            const id = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'trap "exit 0" TERM; echo up; sleep 1000 & wait'] });
            await env.daemon.client.runtime('StartContainer', { container_id: id });
            return id;
          }),
        ),
      ),
    )
  ).flat();
  expect(new Set(ids).size).toBe(100);
  const running = await env.daemon.client.runtime('ListContainers', { filter: { state: { state: 'CONTAINER_RUNNING' } } });
  expect(running.containers.length).toBe(100);
  await Promise.all(ids.map((id) => env.daemon.client.runtime('StopContainer', { container_id: id, timeout: '5' })));
  await Promise.all(ids.map((id) => env.daemon.client.runtime('RemoveContainer', { container_id: id })));
  expect((await env.daemon.client.runtime('ListContainers', {})).containers).toEqual([]);
  expect(containerLeaks(env.daemon, ids)).toEqual(NO_CONTAINER_LEAKS);
  await Promise.all(pods.map((p) => env.daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: p.id })));
}, 300_000);

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerEnv, createContainer, runPod, status, waitExited, type ContainerEnv } from './env';

// With runtime.runtime_path naming another executable, start, kill and delete are that program's
// command line (run with posix_spawn, src/native/spawn.ts) rather than libshoal calls in the daemon.
// A script that notes its arguments and execs the bundled runtime is such a program.
let env: ContainerEnv;
let linkDir: string;
let calls: string;

beforeAll(async () => {
  linkDir = mkdtempSync(join(tmpdir(), 'shoal-runtime-path-'));
  const runtime = join(linkDir, 'other-runtime');
  calls = join(linkDir, 'calls');
  writeFileSync(runtime, `#!/bin/sh\necho "$*" >> ${calls}\nexec ${join(__dirname, '../../bin/shoal-runtime')} "$@"\n`, { mode: 0o755 });
  env = await containerEnv({ runtimeToml: `runtime_path = "${runtime}"` });
});
afterAll(async () => {
  await env?.cleanup();
  rmSync(linkDir, { recursive: true, force: true });
});

test('a configured runtime_path runs start, stop and remove through its command line', async () => {
  const pod = await runPod(env.daemon);
  const done = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'exit 7'] });
  await env.daemon.client.runtime('StartContainer', { container_id: done });
  expect((await waitExited(env.daemon, done)).exit_code).toBe(7);

  const running = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'trap "exit 42" TERM; while true; do sleep 0.1; done'] });
  await env.daemon.client.runtime('StartContainer', { container_id: running });
  expect((await status(env.daemon, running)).status.state).toBe('CONTAINER_RUNNING');
  await env.daemon.client.runtime('StopContainer', { container_id: running, timeout: '10' });
  expect((await status(env.daemon, running)).status.exit_code).toBe(42);

  await env.daemon.client.runtime('RemoveContainer', { container_id: running });
  await expect(env.daemon.client.runtime('StartContainer', { container_id: running })).rejects.toThrow(/not found/);
  await env.daemon.client.runtime('RemoveContainer', { container_id: done });
  await env.daemon.client.runtime('StopPodSandbox', { pod_sandbox_id: pod.id });
  await env.daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: pod.id });
  const said = readFileSync(calls, 'utf8');
  for (const id of [done, running]) {
    expect(said).toMatch(new RegExp(`^--root \\S+ start ${id}$`, 'm'));
    expect(said).toMatch(new RegExp(`^--root \\S+ delete .*${id}$`, 'm'));
  }
  expect(said).toMatch(new RegExp(`^--root \\S+ kill ${running} 15$`, 'm'));
});

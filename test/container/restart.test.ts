import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { containerEnv, containerLeaks, createContainer, NO_CONTAINER_LEAKS, runPod, status, waitExited, waitFor, waitReclaimed, type ContainerEnv } from './env';

let env: ContainerEnv;

beforeAll(async () => {
  env = await containerEnv();
});
afterAll(async () => {
  await env?.cleanup();
});

type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test('after kill -9 of shoald, a restarted one lists the same containers and states; exits while down are reported', async () => {
  const pod = await runPod(env.daemon);
  const gate = join(env.daemon.dir, 'gate');
  mkdirSync(gate, { recursive: true });
  const running = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000'] });
  const exited = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'exit 3'] });
  const created = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000'] });
  const exitsLater = await createContainer(env, pod, {
    command: ['/bin/sh', '-c', 'while [ ! -f /gate/go ]; do sleep 0.05; done; exit 7'],
    mounts: [{ container_path: '/gate', host_path: gate }],
  });
  for (const id of [running, exited, exitsLater]) await env.daemon.client.runtime('StartContainer', { container_id: id });
  await waitExited(env.daemon, exited);
  const runningPid = JSON.parse((await status(env.daemon, running, true)).info.info as string).pid as number;
  const before = (await env.daemon.client.runtime('ListContainers', {})).containers as Msg[];

  await env.daemon.kill();
  writeFileSync(join(gate, 'go'), '');
  // The container exits while no daemon runs: its monitor records it.
  await waitFor(() => existsSync(join(env.daemon.runDir, 'exits', exitsLater)), 10_000, 'the exit file');
  await env.restart();

  const after = (await env.daemon.client.runtime('ListContainers', {})).containers as Msg[];
  const states = (l: Msg[]) => Object.fromEntries(l.map((c) => [c.id, c.state]));
  expect(Object.keys(states(after)).sort()).toEqual(Object.keys(states(before)).sort());
  expect(states(after)[running]).toBe('CONTAINER_RUNNING');
  expect(states(after)[created]).toBe('CONTAINER_CREATED');
  expect(states(after)[exited]).toBe('CONTAINER_EXITED');
  expect(states(after)[exitsLater]).toBe('CONTAINER_EXITED');
  const later = (await status(env.daemon, exitsLater)).status;
  expect(later.exit_code).toBe(7);
  expect(BigInt(later.finished_at)).toBeGreaterThan(BigInt(later.started_at));
  expect((await status(env.daemon, exited)).status.exit_code).toBe(3);
  // Not restarted, not killed: the same process.
  expect(JSON.parse((await status(env.daemon, running, true)).info.info as string).pid).toBe(runningPid);
  expect(existsSync(`/proc/${runningPid}`)).toBe(true);
  // And still fully usable.
  const r = await env.daemon.client.runtime('ExecSync', { container_id: running, cmd: ['/bin/sh', '-c', 'echo alive'], timeout: '10' });
  expect(Buffer.from(r.stdout).toString()).toBe('alive\n');
  await env.daemon.client.runtime('StartContainer', { container_id: created });
  await env.daemon.client.runtime('StopContainer', { container_id: running, timeout: '0' });
  expect((await status(env.daemon, running)).status.exit_code).toBe(137);
  const all = [running, exited, created, exitsLater];
  for (const id of all) await env.daemon.client.runtime('RemoveContainer', { container_id: id });
  expect(containerLeaks(env.daemon, all)).toEqual(NO_CONTAINER_LEAKS);
  await waitReclaimed(env.daemon, all);
  await env.daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: pod.id });
});

test('records left mid-create or mid-remove by a killed daemon are torn down completely at the next start', async () => {
  const pod = await runPod(env.daemon);
  const a = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000'] });
  const b = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000'] });
  const c = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000'] });
  await env.daemon.client.runtime('StartContainer', { container_id: b });
  await env.daemon.kill();
  // Killed before CreateContainer wrote the record (it does once the container exists): a
  // directory without one, with a monitor, a mount and a cgroup.
  rmSync(join(env.daemon.root, 'containers', c, 'record.json'));
  // As a daemon leaves them when killed between the steps of RemoveContainer (and as earlier
  // versions left a CreateContainer cut short).
  for (const [id, phase] of [[a, 'creating'], [b, 'removing']] as const) {
    const file = join(env.daemon.root, 'containers', id, 'record.json');
    const rec = JSON.parse(readFileSync(file, 'utf8')) as { phase: string };
    rec.phase = phase;
    writeFileSync(file, JSON.stringify(rec));
  }
  await env.restart();
  expect(containerLeaks(env.daemon, [a, b, c])).toEqual(NO_CONTAINER_LEAKS);
  await waitReclaimed(env.daemon, [a, b, c]);
  expect((await env.daemon.client.runtime('ListContainers', {})).containers.filter((x: Msg) => [a, b, c].includes(x.id))).toEqual([]);
  // The names are free again.
  await env.daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: pod.id });
});

test('a removed container whose layer hold and directory were not reclaimed when the daemon died is reclaimed at the next start', async () => {
  const pod = await runPod(env.daemon);
  const kept = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000'] });
  const removed = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000'] });
  await env.daemon.client.runtime('RemoveContainer', { container_id: removed });
  await waitReclaimed(env.daemon, [removed]);
  await env.daemon.kill();
  // What RemoveContainer leaves between its answer and the reclaim: the hold and the discarded
  // directory (with a writable layer in it).
  const holds = join(env.daemon.root, 'images', 'holds');
  const hold = JSON.parse(readFileSync(join(holds, `${kept}.json`), 'utf8')) as { holderId: string };
  writeFileSync(join(holds, `${removed}.json`), JSON.stringify({ ...hold, holderId: removed }));
  mkdirSync(join(env.daemon.root, 'containers-removed', removed, 'upper', 'etc'), { recursive: true });
  writeFileSync(join(env.daemon.root, 'containers-removed', removed, 'upper', 'etc', 'written'), 'x');
  await env.restart();
  await waitReclaimed(env.daemon, [removed]);
  expect(existsSync(join(holds, `${kept}.json`))).toBe(true);
  expect((await status(env.daemon, kept)).status.state).toBe('CONTAINER_CREATED');
  await env.daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: pod.id });
  await waitReclaimed(env.daemon, [kept]);
});

test('a daemon killed during a burst of CreateContainer and RemoveContainer leaves nothing half-made', async () => {
  const pod = await runPod(env.daemon);
  const old = await Promise.all([0, 1, 2].map(() => createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000'] })));
  const inflight = [
    ...old.map((id) => env.daemon.client.runtime('RemoveContainer', { container_id: id }).catch(() => undefined)),
    ...[0, 1, 2, 3, 4].map(() => createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000'] }).catch(() => undefined)),
  ];
  await new Promise((r) => setTimeout(r, 30));
  await env.daemon.kill();
  await Promise.all(inflight);
  // Every container the killed daemon started is named in its log.
  const pods = ((await env.daemon.client.runtime('ListPodSandbox', {}).catch(() => ({ items: [] }))).items as Msg[]).map((p) => p.id as string);
  const seen = [...new Set([...(env.daemon.stderr().match(/[0-9a-f]{64}/g) ?? []), ...old])].filter((id) => id !== pod.id && !pods.includes(id));
  await env.restart();
  const listed = ((await env.daemon.client.runtime('ListContainers', {})).containers as Msg[]).map((c) => c.id as string);
  // What survived is whole (it can be removed cleanly); what did not left nothing.
  for (const id of listed) await env.daemon.client.runtime('RemoveContainer', { container_id: id });
  const dirs = existsSync(join(env.daemon.root, 'containers')) ? require('node:fs').readdirSync(join(env.daemon.root, 'containers')) as string[] : [];
  expect(containerLeaks(env.daemon, [...new Set([...seen, ...dirs])])).toEqual(NO_CONTAINER_LEAKS);
  await waitReclaimed(env.daemon, [...new Set([...seen, ...dirs])]);
  await env.daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: pod.id });
});

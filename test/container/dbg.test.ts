import { containerEnv, createContainer, runPod } from './env';
test('dbg', async () => {
  const env = await containerEnv();
  try {
    const pod = await runPod(env.daemon);
    const t = () => Number(process.hrtime.bigint() / 1000000n);
    for (let i = 0; i < 5; i++) {
      const t0 = t();
      const id = await createContainer(env, pod, { command: ['/bin/sh', '-c', 'sleep 1000'] });
      const t1 = t();
      await env.daemon.client.runtime('StartContainer', { container_id: id });
      const t2 = t();
      await env.daemon.client.runtime('ExecSync', { container_id: id, cmd: ['/bin/sh', '-c', 'true'], timeout: '5' });
      const t3 = t();
      await env.daemon.client.runtime('StopContainer', { container_id: id, timeout: '0' });
      const t4 = t();
      await env.daemon.client.runtime('RemoveContainer', { container_id: id });
      const t5 = t();
      console.log(`create ${t1 - t0} start ${t2 - t1} exec ${t3 - t2} stop ${t4 - t3} remove ${t5 - t4}`);
    }
    for (const l of env.daemon.logs.filter((x) => x.msg === 'container created')) console.log('steps', JSON.stringify(l.steps));
  } finally { await env.cleanup(); }
});

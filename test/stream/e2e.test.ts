import { writeFileSync } from 'node:fs';
import { processesWhere } from '../helpers/cleanup';
import { join } from 'node:path';
import { codeOf } from '../helpers/cri_client';
import { spdyDial, spdyForwardOnce, spdyRemoteCommand } from '../helpers/spdy_client';
import { wsOpen, wsRemoteCommand } from '../helpers/ws_client';
import { containerEnv, runPod, status, waitFor, type ContainerEnv } from '../container/env';

/**
 * Exec, Attach and PortForward end to end: a real shoald runs busybox containers; the tests speak
 * SPDY/3.1 and WebSocket to its streaming server as kubectl and crictl do.
 */

let env: ContainerEnv;
type Pod = Awaited<ReturnType<typeof runPod>>;
let hostPod: Pod;
let netPod: Pod;
let sleeper: string;
/** A URL issued at the start, presented after it expired (tokens live one minute). */
let expiringUrl: string;
let expiringIssuedAt: number;
let counter = 0;

interface Spec {
  command: string[];
  tty?: boolean;
  stdin?: boolean;
  stdinOnce?: boolean;
}

/** CreateContainer + StartContainer with the stdio flags kubelet sets from the pod spec. */
async function runContainer(pod: Pod, spec: Spec): Promise<string> {
  counter++;
  const nsOptions = ((pod.config.linux as { security_context?: { namespace_options?: Record<string, string> } }).security_context?.namespace_options) ?? {};
  const config = {
    metadata: { name: `s${counter}`, attempt: 0 },
    image: { image: env.image },
    command: spec.command,
    log_path: `s${counter}/0.log`,
    tty: spec.tty ?? false,
    stdin: spec.stdin ?? false,
    stdin_once: spec.stdinOnce ?? false,
    linux: { security_context: { namespace_options: nsOptions } },
  };
  const res = await env.daemon.client.runtime('CreateContainer', { pod_sandbox_id: pod.id, config, sandbox_config: pod.config });
  const id = res.container_id as string;
  await env.daemon.client.runtime('StartContainer', { container_id: id });
  return id;
}

async function execUrl(containerId: string, cmd: string[], o: { stdin?: boolean; tty?: boolean; stderr?: boolean } = {}): Promise<string> {
  const res = await env.daemon.client.runtime('Exec', {
    container_id: containerId,
    cmd,
    stdin: o.stdin ?? false,
    stdout: true,
    stderr: o.stderr ?? !o.tty,
    tty: o.tty ?? false,
  });
  return res.url as string;
}

beforeAll(async () => {
  env = await containerEnv();
  // Pods with their own network namespace need a network: loopback alone is enough here.
  writeFileSync(join(env.daemon.cniConfDir, '10-lo.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'lo-only', plugins: [{ type: 'loopback' }] }));
  hostPod = await runPod(env.daemon);
  sleeper = await runContainer(hostPod, { command: ['/bin/busybox', 'sleep', '100000'] });
  expiringUrl = await execUrl(sleeper, ['true']);
  expiringIssuedAt = Date.now();
});

afterAll(async () => {
  await env?.cleanup();
});

test('exec echo over SPDY', async () => {
  const rc = await spdyRemoteCommand(await execUrl(sleeper, ['/bin/sh', '-c', 'echo hello world']), { stdout: true, stderr: true });
  const res = await rc.done;
  expect(res.stdout).toBe('hello world\n');
  expect(res.stderr).toBe('');
  expect(res.exitCode).toBe(0);
});

test('an exec exiting 3 reports 3 (SPDY v4 and WebSocket v5)', async () => {
  const spdy = await (await spdyRemoteCommand(await execUrl(sleeper, ['/bin/sh', '-c', 'echo to-err >&2; exit 3']), { stdout: true, stderr: true }, ['v4.channel.k8s.io'])).done;
  expect(spdy.exitCode).toBe(3);
  expect(spdy.stderr).toBe('to-err\n');
  expect(JSON.parse(spdy.error)).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
  const ws = await (await wsRemoteCommand(await execUrl(sleeper, ['/bin/sh', '-c', 'exit 3']), { stdout: true, stderr: true })).done;
  expect(ws.exitCode).toBe(3);
});

test('exec with a stdin round trip; closing stdin ends the command', async () => {
  const rc = await spdyRemoteCommand(await execUrl(sleeper, ['/bin/sh', '-c', 'while read l; do echo "got $l"; done; echo eof'], { stdin: true }), { stdin: true, stdout: true, stderr: true });
  rc.write('one\n');
  await rc.waitForOutput('got one\n');
  rc.write('two\n');
  rc.closeStdin();
  const res = await rc.done;
  expect(res.stdout).toBe('got one\ngot two\neof\n');
  expect(res.exitCode).toBe(0);
  // The same over WebSocket v5, where the CLOSE signal ends stdin.
  const ws = await wsRemoteCommand(await execUrl(sleeper, ['cat'], { stdin: true }), { stdin: true, stdout: true, stderr: true });
  ws.write('via ws\n');
  ws.closeStdin();
  expect((await ws.done).stdout).toBe('via ws\n');
});

test('exec with a tty: a resize is seen by stty size', async () => {
  const rc = await spdyRemoteCommand(await execUrl(sleeper, ['/bin/sh', '-c', 'read x; busybox stty size; busybox tty'], { stdin: true, tty: true }), { stdin: true, stdout: true, tty: true });
  rc.resize({ width: 88, height: 27 });
  rc.write('go\n');
  const res = await rc.done;
  expect(res.stdout).toContain('27 88');
  expect(res.stdout).toMatch(/\/dev\/pts\/\d+/);
  expect(res.exitCode).toBe(0);
});

test('attach to a container printing in a loop and reading its stdin; detaching leaves it running', async () => {
  const id = await runContainer(hostPod, {
    command: ['/bin/sh', '-c', '(while true; do echo tick; busybox sleep 0.2; done) & while read line; do echo "got:$line"; done'],
    stdin: true,
  });
  const url = (await env.daemon.client.runtime('Attach', { container_id: id, stdin: true, stdout: true, stderr: true, tty: false })).url as string;
  const rc = await spdyRemoteCommand(url, { stdin: true, stdout: true, stderr: true });
  await rc.waitForOutput('tick\n');
  rc.write('hello\n');
  await rc.waitForOutput('got:hello\n');
  rc.disconnect();
  await new Promise((r) => setTimeout(r, 300));
  expect((await status(env.daemon, id)).status.state).toBe('CONTAINER_RUNNING');
  // A second attach, over WebSocket, still reaches its stdin.
  const again = await wsRemoteCommand((await env.daemon.client.runtime('Attach', { container_id: id, stdin: true, stdout: true, stderr: true, tty: false })).url as string, {
    stdin: true,
    stdout: true,
    stderr: true,
  });
  again.write('again\n');
  await again.waitForOutput('got:again\n');
  again.disconnect();
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
});

test('attach to a terminal: resize, input echoed by the tty, ending stdin detaches and the container keeps running', async () => {
  const id = await runContainer(hostPod, { command: ['/bin/sh'], tty: true, stdin: true });
  const attachUrl = async (): Promise<string> => (await env.daemon.client.runtime('Attach', { container_id: id, stdin: true, stdout: true, stderr: false, tty: true })).url as string;
  const rc = await spdyRemoteCommand(await attachUrl(), { stdin: true, stdout: true, tty: true });
  rc.resize({ width: 101, height: 31 });
  rc.write('busybox stty size\n');
  await rc.waitForOutput('31 101');
  rc.closeStdin();
  const res = await rc.done;
  expect(res.exitCode).toBe(0);
  expect((await status(env.daemon, id)).status.state).toBe('CONTAINER_RUNNING');
  const again = await spdyRemoteCommand(await attachUrl(), { stdin: true, stdout: true, tty: true });
  again.write('echo second-$((6*7))\n');
  await again.waitForOutput('second-42');
  again.disconnect();
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
});

test('port-forward to busybox httpd in a pod: an HTTP GET through SPDY and WebSocket; a closed port reported, the connection still usable', async () => {
  netPod = await runPod(env.daemon, {}, { network: 'POD' });
  await runContainer(netPod, {
    command: ['/bin/sh', '-c', 'busybox mkdir -p /tmp/www && echo hello-from-pod > /tmp/www/index.html && exec busybox httpd -f -p 127.0.0.1:8080 -h /tmp/www'],
  });
  const pfUrl = async (): Promise<string> => (await env.daemon.client.runtime('PortForward', { pod_sandbox_id: netPod.id, port: [8080] })).url as string;
  const { conn } = await spdyDial(await pfUrl(), ['portforward.k8s.io']);
  const get = 'GET /index.html HTTP/1.0\r\nHost: pod\r\n\r\n';
  let reply = { data: '', error: '' };
  let requestId = 0;
  await waitFor(async () => {
    reply = await spdyForwardOnce(conn, 8080, requestId++, get);
    return reply.data.includes('hello-from-pod');
  }, 20_000, 'httpd in the pod to answer');
  expect(reply.data).toMatch(/^HTTP\/1\.[01] 200/);
  expect(reply.error).toBe('');
  const closed = await spdyForwardOnce(conn, 8081, requestId++, get);
  expect(closed.error).toContain('error forwarding port 8081');
  const [a, b] = await Promise.all([spdyForwardOnce(conn, 8080, requestId++, get), spdyForwardOnce(conn, 8080, requestId++, get)]);
  expect(a.data).toContain('hello-from-pod');
  expect(b.data).toContain('hello-from-pod');
  conn.destroy();

  const got: Buffer[] = [];
  const ws = await wsOpen(`${await pfUrl()}?port=8080`, ['v4.channel.k8s.io'], (m) => {
    if (m[0] === 0) got.push(m.subarray(1));
  });
  const wsClosed = new Promise<void>((r) => ws.once('close', () => r()));
  ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(get)]));
  await wsClosed; // httpd closes after the answer, the server then closes the socket
  expect(Buffer.concat(got.slice(1)).toString()).toContain('hello-from-pod');
});

test('a reused token is refused', async () => {
  const url = await execUrl(sleeper, ['true']);
  await (await spdyRemoteCommand(url, { stdout: true, stderr: true })).done;
  await expect(spdyDial(url, ['v4.channel.k8s.io'])).rejects.toMatchObject({ status: 404 });
});

test('exec into a stopped container is refused with a clear message', async () => {
  const id = await runContainer(hostPod, { command: ['/bin/busybox', 'sleep', '100000'] });
  await env.daemon.client.runtime('StopContainer', { container_id: id, timeout: '0' });
  const err = (await env.daemon.client.runtime('Exec', { container_id: id, cmd: ['true'], stdout: true }).catch((e: unknown) => e)) as Error;
  expect(codeOf(err)).toBe('FAILED_PRECONDITION');
  expect(err.message).toContain(`container ${id} is not running (it is exited)`);
  const attachErr = await env.daemon.client.runtime('Attach', { container_id: id, stdout: true }).catch((e: unknown) => e);
  expect(codeOf(attachErr)).toBe('FAILED_PRECONDITION');
  await env.daemon.client.runtime('RemoveContainer', { container_id: id });
});

test('invalid requests are refused naming the problem', async () => {
  const ttyStderr = (await env.daemon.client.runtime('Exec', { container_id: sleeper, cmd: ['true'], stdout: true, stderr: true, tty: true }).catch((e: unknown) => e)) as Error;
  expect(codeOf(ttyStderr)).toBe('INVALID_ARGUMENT');
  expect(ttyStderr.message).toContain('tty and stderr');
  const nothing = (await env.daemon.client.runtime('Exec', { container_id: sleeper, cmd: ['true'] }).catch((e: unknown) => e)) as Error;
  expect(codeOf(nothing)).toBe('INVALID_ARGUMENT');
  expect(nothing.message).toContain('at least one of stdin, stdout and stderr');
  const unknown = (await env.daemon.client.runtime('Exec', { container_id: 'no-such-container', cmd: ['true'], stdout: true }).catch((e: unknown) => e)) as Error;
  expect(codeOf(unknown)).toBe('NOT_FOUND');
  const noPod = await env.daemon.client.runtime('PortForward', { pod_sandbox_id: 'no-such-pod', port: [80] }).catch((e: unknown) => e);
  expect(codeOf(noPod)).toBe('NOT_FOUND');
});

test('a client that disconnects ends its own exec and nothing else', async () => {
  const rc = await spdyRemoteCommand(await execUrl(sleeper, ['/bin/sh', '-c', 'exec busybox sleep 4242']), { stdout: true, stderr: true });
  const ps = async (): Promise<string> =>
    String((await env.daemon.client.runtime('ExecSync', { container_id: sleeper, cmd: ['busybox', 'ps', '-o', 'args'], timeout: '10' })).stdout);
  await waitFor(async () => (await ps()).includes('sleep 4242'), 10_000, 'the exec to run');
  rc.disconnect();
  await waitFor(async () => !(await ps()).includes('sleep 4242'), 10_000, 'the exec to be killed');
  expect(await ps()).toContain('busybox sleep 100000');
});

test('a large output arrives whole', async () => {
  const rc = await spdyRemoteCommand(await execUrl(sleeper, ['busybox', 'seq', '1', '200000']), { stdout: true, stderr: true });
  const res = await rc.done;
  expect(res.exitCode).toBe(0);
  const lines = res.stdout.split('\n');
  expect(lines.length).toBe(200001);
  expect(lines[199999]).toBe('200000');
});

test('a client that stops reading holds the exec back in its pipe, not in the daemon; all bytes arrive after', async () => {
  const total = 512 * 65536;
  const marker = `/paced-${++counter}`;
  const { conn, socket } = await spdyDial(await execUrl(sleeper, ['busybox', 'sh', '-c', `busybox dd if=/dev/zero bs=65536 count=512 2>/dev/null; busybox touch ${marker}`], { stderr: false }), ['v4.channel.k8s.io']);
  try {
    const error = await conn.openStream({ streamtype: 'error' });
    error.end();
    const stdout = await conn.openStream({ streamtype: 'stdout' });
    socket.pause();
    let got = 0;
    const ended = new Promise<void>((resolve) => {
      stdout.on('data', (d: Buffer) => (got += d.length));
      stdout.on('end', resolve);
      stdout.on('close', resolve);
    });
    const finished = async (): Promise<boolean> =>
      Number((await env.daemon.client.runtime('ExecSync', { container_id: sleeper, cmd: ['busybox', 'test', '-e', marker], timeout: '10' })).exit_code) === 0;
    // Paced, the kernel buffers hold about a third of the 32 MiB; unpaced, the daemon would have read
    // all of it into memory within this time and the command would be done.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await finished()).toBe(false);
    socket.resume();
    await ended;
    expect(got).toBe(total);
    expect(await finished()).toBe(true);
  } finally {
    conn.destroy();
  }
});

test('20 concurrent execs', async () => {
  const results = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const rc = await spdyRemoteCommand(await execUrl(sleeper, ['/bin/sh', '-c', `echo exec-${i}; exit ${i % 5}`]), { stdout: true, stderr: true });
      return rc.done;
    }),
  );
  results.forEach((r, i) => {
    expect(r.stdout).toBe(`exec-${i}\n`);
    expect(r.exitCode).toBe(i % 5);
  });
});

test('nothing of the exec sessions is left: no monitor, socket or scratch directory', async () => {
  const { readdirSync, existsSync } = await import('node:fs');
  await waitFor(() => {
    const monitors = processesWhere((cmd) => cmd.includes('--exec-process') && cmd.includes(env.daemon.dir));
    return monitors.length === 0;
  }, 15_000, 'exec monitors to exit');
  const sockets = readdirSync(join(env.daemon.runDir, 'a')).filter((n) => n.startsWith('x'));
  expect(sockets).toEqual([]);
  const runFiles = join(env.daemon.runDir, 'containers', sleeper);
  expect(existsSync(runFiles) ? readdirSync(runFiles).filter((n) => n.startsWith('exec-')) : []).toEqual([]);
});

test('/metrics counts streaming connections by kind and transport', async () => {
  const scrape = async (): Promise<string> => (await fetch(`http://${env.daemon.metricsAddress}/metrics`)).text();
  const text = await scrape();
  expect(text).toMatch(/shoal_stream_connections_total\{kind="exec",transport="spdy"\} [1-9]/);
  expect(text).toMatch(/shoal_stream_connections_total\{kind="portforward",transport="websocket"\} [1-9]/);
  // Sessions close asynchronously once their client is done: the live gauge falls back to 0.
  let live = text;
  for (let i = 0; i < 100 && !/shoal_stream_connections\{kind="exec"\} 0/.test(live); i++) {
    await new Promise((r) => setTimeout(r, 100));
    live = await scrape();
  }
  expect(live).toMatch(/shoal_stream_connections\{kind="exec"\} 0/);
});

test('an expired token is refused', async () => {
  const wait = expiringIssuedAt + 61_000 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const err = await spdyDial(expiringUrl, ['v4.channel.k8s.io']).catch((e: unknown) => e);
  expect(err).toMatchObject({ status: 404 });
}, 90_000);

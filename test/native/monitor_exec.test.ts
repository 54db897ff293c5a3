/** shoal-monitor in exec mode: a process run in a running container with the attach protocol. */
import { AttachClient, Ev, Req, startExec, startMonitored, waitFor, type MonitoredContainer, type MonitoredExec } from './monitor_harness';

function resize(rows: number, cols: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(rows, 0);
  b.writeUInt16BE(cols, 2);
  return b;
}

describe('shoal-monitor exec mode', () => {
  const live: MonitoredContainer[] = [];
  const execs: MonitoredExec[] = [];
  const clients: AttachClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    for (const e of execs.splice(0)) e.cleanup();
    for (const c of live.splice(0)) c.cleanup();
  });
  async function running(): Promise<MonitoredContainer> {
    const c = await startMonitored({ args: ['sleep', '1000'] });
    live.push(c);
    c.start();
    return c;
  }

  test('holds the output until the first client attaches, then streams it with stdin and the exit code', async () => {
    const c = await running();
    const e = await startExec(c, { args: ['sh', '-c', 'echo from-exec; echo err-exec >&2; read x; echo got:$x; exit 5'] }, { stdin: true, stdinOnce: true });
    execs.push(e);
    const a = await AttachClient.connect(e.socketPath);
    clients.push(a);
    expect((await a.request(Req.ATTACH)).type).toBe(Ev.OK);
    await waitFor('the exec output', () => (a.text(Ev.STDOUT).includes('from-exec\n') && a.text(Ev.STDERR) === 'err-exec\n' ? true : undefined));
    a.send(Req.STDIN, 'hi\n');
    await waitFor('the exit frame', () => (a.frames.some((f) => f.type === Ev.EXIT) ? true : undefined));
    expect(a.text(Ev.STDOUT)).toBe('from-exec\ngot:hi\n');
    expect(JSON.parse(a.text(Ev.EXIT))).toEqual(expect.objectContaining({ exit_code: 5, signal: 0 }));
    expect((await e.waitExit()).exit_code).toBe(5);
  });

  test('output of a process that exited before anyone attached is still delivered', async () => {
    const c = await running();
    const e = await startExec(c, { args: ['sh', '-c', 'seq 1 1000; exit 2'] });
    execs.push(e);
    // The exec has exited (its monitor reaped it) but waits for its first client.
    await waitFor('the exec process to exit', () => {
      try {
        process.kill(e.pid, 0);
        return undefined;
      } catch {
        return true;
      }
    });
    const a = await AttachClient.connect(e.socketPath);
    clients.push(a);
    a.send(Req.ATTACH);
    await waitFor('the exit frame', () => (a.frames.some((f) => f.type === Ev.EXIT) ? true : undefined));
    expect(a.text(Ev.STDOUT)).toBe(Array.from({ length: 1000 }, (_, i) => `${i + 1}\n`).join(''));
    expect(JSON.parse(a.text(Ev.EXIT)).exit_code).toBe(2);
  });

  test('with a terminal: resize seen by stty size inside the container', async () => {
    const c = await running();
    const e = await startExec(c, { args: ['sh', '-c', 'read x; stty size'], terminal: true }, { stdin: true });
    execs.push(e);
    const a = await AttachClient.connect(e.socketPath);
    clients.push(a);
    expect((await a.request(Req.ATTACH)).type).toBe(Ev.OK);
    expect((await a.request(Req.RESIZE, resize(27, 88))).type).toBe(Ev.OK);
    a.send(Req.STDIN, 'go\n');
    await waitFor('the exit frame', () => (a.frames.some((f) => f.type === Ev.EXIT) ? true : undefined));
    expect(a.text(Ev.STDOUT)).toContain('27 88');
    expect(JSON.parse(a.text(Ev.EXIT)).exit_code).toBe(0);
  });

  test('a failing exec is reported on the sync pipe with the runtime\'s message', async () => {
    const c = await running();
    await expect(startExec({ ...c, id: `${c.id}-missing` }, { args: ['true'] })).rejects.toThrow(/monitor: .*exec exited with status \d+: .+/);
  });
});

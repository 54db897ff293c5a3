/** shoal-monitor's attach/control socket: live output, stdin, resizes, several and misbehaving clients. */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { AttachClient, Ev, Req, readLog, startMonitored, waitFor, type MonitoredContainer } from './monitor_harness';

function resize(rows: number, cols: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(rows, 0);
  b.writeUInt16BE(cols, 2);
  return b;
}

describe('shoal-monitor attach socket', () => {
  const live: MonitoredContainer[] = [];
  const clients: AttachClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    for (const c of live.splice(0)) c.cleanup();
  });
  async function connect(c: MonitoredContainer): Promise<AttachClient> {
    const client = await AttachClient.connect(c.socketPath);
    clients.push(client);
    return client;
  }

  test('the socket is 0600; STATUS answers with the pids', async () => {
    const c = await startMonitored({ args: ['sleep', '1000'] });
    live.push(c);
    expect(fs.statSync(c.socketPath).mode & 0o777).toBe(0o600);
    const client = await connect(c);
    const st = await client.request(Req.STATUS);
    expect(st.type).toBe(Ev.OK);
    expect(JSON.parse(st.payload.toString())).toEqual({ pid: c.pid, monitor_pid: c.monitorPid, running: true });
  });

  test('attached clients read stdout and stderr live, send stdin, and stdin-once closes it when the client detaches', async () => {
    const c = await startMonitored({
      args: ['sh', '-c', 'echo ready; echo err-ready >&2; while read l; do echo got:$l; done; echo eof'],
      stdin: true,
      stdinOnce: true,
    });
    live.push(c);
    const a = await connect(c);
    const b = await connect(c);
    expect((await a.request(Req.ATTACH)).type).toBe(Ev.OK);
    expect((await b.request(Req.ATTACH)).type).toBe(Ev.OK);
    c.start();
    await waitFor('ready on stdout', () => (a.text(Ev.STDOUT).includes('ready\n') ? true : undefined));
    await waitFor('err-ready on stderr', () => (a.text(Ev.STDERR) === 'err-ready\n' ? true : undefined));
    a.send(Req.STDIN, 'hello\n');
    b.send(Req.STDIN, 'world\n');
    await waitFor('both lines echoed to both clients', () =>
      [a, b].every((x) => x.text(Ev.STDOUT) === 'ready\ngot:hello\ngot:world\n') ? true : undefined);
    expect(fs.existsSync(c.exitFile)).toBe(false);

    // The first attach session ends: with --stdin-once the container sees EOF on stdin.
    a.close();
    const exit = await c.waitExit();
    expect(exit.exit_code).toBe(0);
    await waitFor('the exit frame on the remaining client', () => (b.frames.some((f) => f.type === Ev.EXIT) ? true : undefined));
    expect(b.text(Ev.STDOUT)).toBe('ready\ngot:hello\ngot:world\neof\n');
    expect(JSON.parse(b.text(Ev.EXIT))).toEqual(expect.objectContaining({ exit_code: 0, signal: 0 }));
    await waitFor('the monitor to close the connection', () => (b.closed ? true : undefined));
    expect(readLog(c.logPath).map((r) => r.content)).toEqual(['ready', 'err-ready', 'got:hello', 'got:world', 'eof']);
  });

  test('a terminal resize is seen by stty size, and the pty output reaches the log', async () => {
    const c = await startMonitored({
      args: ['sh', '-c', 'read x; stty size; read y; stty size'],
      tty: true,
      stdin: true,
    });
    live.push(c);
    const a = await connect(c);
    expect((await a.request(Req.ATTACH)).type).toBe(Ev.OK);
    c.start();
    expect((await a.request(Req.RESIZE, resize(31, 97))).type).toBe(Ev.OK);
    a.send(Req.STDIN, 'go\n');
    await waitFor('first stty size', () => (a.text(Ev.STDOUT).includes('31 97') ? true : undefined));
    expect((await a.request(Req.RESIZE, resize(45, 132))).type).toBe(Ev.OK);
    a.send(Req.STDIN, 'again\n');
    const exit = await c.waitExit();
    expect(exit.exit_code).toBe(0);
    await waitFor('second stty size', () => (a.text(Ev.STDOUT).includes('45 132') ? true : undefined));
    expect(a.frames.some((f) => f.type === Ev.STDERR)).toBe(false);
    const logged = readLog(c.logPath).map((r) => r.content.replace(/\r$/, ''));
    expect(logged).toEqual(expect.arrayContaining(['31 97', '45 132']));
  });

  test('resize without a terminal and unknown requests get an error; a bad client is dropped and others go on', async () => {
    const c = await startMonitored({ args: ['sleep', '1000'] });
    live.push(c);
    const a = await connect(c);
    const r = await a.request(Req.RESIZE, resize(10, 10));
    expect(r.type).toBe(Ev.ERROR);
    expect(r.payload.toString()).toMatch(/no terminal/);
    const u = await a.request(0x7f);
    expect(u.type).toBe(Ev.ERROR);
    expect(u.payload.toString()).toMatch(/unknown request type 127/);

    // A frame claiming 1 GiB: the client is told and cut off.
    const bad = await connect(c);
    const hdr = Buffer.from([Req.STDIN, 0x40, 0, 0, 0]);
    bad.sock.write(hdr);
    await waitFor('the bad client to be closed', () => (bad.closed ? true : undefined));
    expect(bad.frames[0]?.type).toBe(Ev.ERROR);

    // A client that connects and vanishes mid-frame, and one that never reads.
    const half = net.createConnection(c.socketPath);
    await new Promise<void>((res) => half.once('connect', () => res()));
    half.write(Buffer.from([Req.STDIN, 0, 0]));
    half.destroy();

    const st = await a.request(Req.STATUS);
    expect(st.type).toBe(Ev.OK);
    expect(JSON.parse(st.payload.toString()).running).toBe(true);
  });

  test('a client that never reads does not hold up the container or the log', async () => {
    const c = await startMonitored({ args: ['sh', '-c', 'seq 1 200000'] });
    live.push(c);
    const stuck = await connect(c);
    expect((await stuck.request(Req.ATTACH)).type).toBe(Ev.OK);
    stuck.sock.pause(); // attached but never reads: its queue fills and output to it is dropped
    c.start();
    const exit = await c.waitExit();
    expect(exit.exit_code).toBe(0);
    const records = readLog(c.logPath);
    expect(records.length).toBe(200000);
    expect(records[199999].content).toBe('200000');
  });
});

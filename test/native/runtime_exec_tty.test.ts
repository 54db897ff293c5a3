/** exec into a running container (namespaces, cgroup, security context, --process, exit codes) and
 *  terminals through --console-socket (the pty master arrives by SCM_RIGHTS; Node cannot receive
 *  descriptors, so a few lines of Debian's python3 play the console-socket server). */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RuntimeHarness, waitFor } from './runtime_harness';

let h: RuntimeHarness;
beforeEach(() => {
  h = new RuntimeHarness();
});
afterEach(() => h.cleanup());

const PYTHON = '/usr/bin/python3';
const CONSOLE_SERVER = `
import json, os, select, socket, sys, time
path, send = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 1024, 1)
master = fds[0]
if send:
    os.write(master, send.encode())
out = b''
deadline = time.time() + 20
while time.time() < deadline:
    r, _, _ = select.select([master], [], [], 0.2)
    if not r:
        continue
    try:
        d = os.read(master, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
print(json.dumps({'name': msg.decode(), 'out': out.decode(errors='replace')}))
`;

/** Starts the console-socket server; resolves with what it read from the pty master. */
function consoleServer(sock: string, send = ''): { ready: Promise<void>; result: Promise<{ name: string; out: string }> } {
  const script = path.join(path.dirname(sock), 'console_server.py');
  fs.writeFileSync(script, CONSOLE_SERVER);
  const p = spawn(PYTHON, [script, sock, send], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const result = new Promise<{ name: string; out: string }>((resolve, reject) =>
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`console server: ${err}`)))),
  );
  // generous: python starts slowly in the emulated cgroup2 VM
  return { ready: waitFor(() => fs.existsSync(sock), 'console socket', 60000), result };
}

test('exec joins the container\'s namespaces and runs with its settings', () => {
  const b = h.bundle({ args: ['sh', '-c', 'echo inside > /marker; sleep 30'], edit: (s) => (s.hostname = 'exec-host') });
  const id = h.id();
  expect(h.run(['run', '-d', '--bundle', b.dir, id]).code).toBe(0);
  const r = h.run(['exec', id, 'sh', '-c', 'hostname; cat /marker; echo $$; ps -o pid,comm | grep -c sleep; echo $(ls /sys/class/net); grep -E "^(CapEff|NoNewPrivs)" /proc/self/status']);
  expect(r.stderr).toBe('');
  const lines = r.stdout.split('\n');
  expect(lines[0]).toBe('exec-host');
  expect(lines[1]).toBe('inside');
  expect(Number(lines[2])).toBeGreaterThan(1); // in the container's pid namespace, not its init
  expect(lines[3]).toBe('1'); // sees the container's sleep
  expect(lines[4]).toBe('lo');
  expect(lines[5]).toBe('CapEff:\t0000000020000420');
  expect(lines[6]).toBe('NoNewPrivs:\t1');
});

test('exec: exit code, --env, --cwd, --user, --process file, error for a stopped container', async () => {
  const b = h.bundle({ args: ['sleep', '30'] });
  const id = h.id();
  expect(h.run(['run', '-d', '--bundle', b.dir, id]).code).toBe(0);
  expect(h.run(['exec', id, 'sh', '-c', 'exit 42']).code).toBe(42);
  const r = h.run(['exec', '--env', 'A=1', '-e', 'B=two', '--cwd', '/tmp', '--user', '1000:1000', id, 'sh', '-c', 'echo $A $B; pwd; id -u']);
  expect(r.stdout).toBe('1 two\n/tmp\n1000\n');

  const proc = path.join(h.tmp, 'process.json');
  fs.writeFileSync(
    proc,
    JSON.stringify({
      args: ['sh', '-c', 'echo from-process-file; id -u; grep CapEff /proc/self/status'],
      env: ['PATH=/bin:/usr/bin'],
      cwd: '/',
      user: { uid: 1000, gid: 1000 },
      capabilities: { bounding: [], effective: [], permitted: [] },
      noNewPrivileges: true,
    }),
  );
  const r2 = h.run(['exec', '--process', proc, id]);
  expect(r2.stderr).toBe('');
  expect(r2.stdout).toBe('from-process-file\n1000\nCapEff:\t0000000000000000\n');

  expect(h.run(['kill', id, 'KILL']).code).toBe(0);
  await waitFor(() => h.state(id).status === 'stopped', 'stopped');
  const r3 = h.run(['exec', id, 'true']);
  expect(r3.code).not.toBe(0);
  expect(r3.stderr).toMatch(/exec: container .* is stopped/);
});

test('terminal: the pty master is sent over --console-socket; consoleSize applied; output arrives', async () => {
  const sock = path.join(h.tmp, 'console.sock');
  const srv = consoleServer(sock);
  await srv.ready;
  const b = h.bundle({
    args: ['sh', '-c', 'stty size; tty; echo hello-from-pty'],
    edit: (s) => {
      s.process.terminal = true;
      s.process.consoleSize = { height: 33, width: 101 };
    },
  });
  const r = h.run(['run', '--console-socket', sock, '--bundle', b.dir, h.id()]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const got = await srv.result;
  expect(got.name).toMatch(/^\/dev\/pts\/\d+$/);
  expect(got.out.replace(/\r/g, '')).toMatch(/^33 101\n\/dev\/pts\/\d+\nhello-from-pty\n$/);
});

test('exec --tty with --console-socket: input and output through the pty', async () => {
  const b = h.bundle({ args: ['sleep', '30'] });
  const id = h.id();
  expect(h.run(['run', '-d', '--bundle', b.dir, id]).code).toBe(0);
  const sock = path.join(h.tmp, 'exec-console.sock');
  const srv = consoleServer(sock, 'typed-line\n');
  await srv.ready;
  const r = h.run(['exec', '--tty', '--console-socket', sock, id, 'sh', '-c', 'read -r x; echo "got:$x"; [ -t 0 ] && echo is-a-tty']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const got = await srv.result;
  expect(got.out.replace(/\r/g, '')).toContain('got:typed-line\nis-a-tty\n');
});

test('terminal without --console-socket: run and exec relay the pty themselves; create refuses', () => {
  const b = h.bundle({ args: ['sh', '-c', 'read -r x; echo "got:$x"; [ -t 1 ] && echo stdout-is-tty; exit 5'], edit: (s) => (s.process.terminal = true) });
  const r = h.run(['run', '--bundle', b.dir, h.id()], { input: 'hello\n' });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(5);
  expect(r.stdout.replace(/\r/g, '')).toContain('got:hello\nstdout-is-tty\n');

  const c = h.bundle({ args: ['sleep', '30'] });
  const id = h.id();
  expect(h.run(['run', '-d', '--bundle', c.dir, id]).code).toBe(0);
  const e = h.run(['exec', '-t', id, 'sh', '-c', 'read -r x; echo "exec-got:$x"; tty'], { input: 'abc\n' });
  expect(e.code).toBe(0);
  expect(e.stdout.replace(/\r/g, '')).toMatch(/exec-got:abc\n\/dev\/pts\/\d+\n/);

  const d = h.bundle({ args: ['true'], edit: (s) => (s.process.terminal = true) });
  const cr = h.run(['create', '--bundle', d.dir, h.id()]);
  expect(cr.code).not.toBe(0);
  expect(cr.stderr).toMatch(/process.terminal needs --console-socket/);
});

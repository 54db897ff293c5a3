/** seccomp user notification: SCMP_ACT_NOTIFY rules, linux.seccomp.listenerPath and listenerMetadata.
 *  A small agent (python3: it can recvmsg SCM_RIGHTS and drive the notify ioctls) receives the
 *  container process state and the listener fd, and answers the notified syscalls itself. */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OciSpec } from '../helpers/bundle';
import { RuntimeHarness, waitFor } from './runtime_harness';

const EXDEV = 18;

/* Accepts connections; for each, reads the container process state until EOF (the fd comes with
 * the first part), records it as one JSON line, and answers every notification on the fd with
 * -EXDEV, recording the syscall number, until the filter has no users left. */
const AGENT = String.raw`
import array, fcntl, json, os, select, socket, struct, sys, threading
sock_path, out_path = sys.argv[1], sys.argv[2]
hold_file = sys.argv[3] if len(sys.argv) > 3 else None  # answer only once this file exists
NOTIF_RECV, NOTIF_SEND, EXDEV = 0xC0502100, 0xC0182101, ${EXDEV}
lock = threading.Lock()
def record(obj):
    with lock, open(out_path, 'a') as f:
        f.write(json.dumps(obj) + '\n')
def answer(nfd, conn_no):
    p = select.poll()
    p.register(nfd, select.POLLIN)
    while True:
        ev = p.poll()
        if any(e & (select.POLLHUP | select.POLLERR) for _, e in ev) and not any(e & select.POLLIN for _, e in ev):
            return
        req = bytearray(80)
        try:
            fcntl.ioctl(nfd, NOTIF_RECV, req, True)
        except OSError:
            continue
        nid, pid, _flags, nr = struct.unpack_from('=QIIi', req, 0)
        record({'conn': conn_no, 'syscall': nr, 'pid': pid})
        while hold_file and not os.path.exists(hold_file):
            select.select([], [], [], 0.01)
        try:
            fcntl.ioctl(nfd, NOTIF_SEND, bytearray(struct.pack('=QqiI', nid, 0, -EXDEV, 0)), True)
            sent = 0
        except OSError as e:
            sent = e.errno
        record({'conn': conn_no, 'answered': nr, 'errno': sent})
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sock_path)
srv.listen(4)
n = 0
while True:
    conn, _ = srv.accept()
    n += 1
    fds, data = array.array('i'), b''
    while True:
        msg, anc, _f, _a = conn.recvmsg(65536, socket.CMSG_SPACE(16))
        for level, kind, d in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(d[:len(d) - len(d) % 4])
        if not msg:
            break
        data += msg
    conn.close()
    record({'conn': n, 'nfds': len(fds), 'fdkind': os.readlink('/proc/self/fd/%d' % fds[0]) if fds else None,
            'cps': json.loads(data)})
    if fds:
        threading.Thread(target=answer, args=(fds[0], n), daemon=True).start()
`;

let h: RuntimeHarness;
let agent: ChildProcess | undefined;
beforeEach(() => {
  h = new RuntimeHarness();
});
afterEach(() => {
  agent?.kill('SIGKILL');
  agent = undefined;
  h.cleanup();
});

interface AgentRecord {
  conn: number;
  pid?: number;
  answered?: number;
  errno?: number;
  nfds?: number;
  fdkind?: string;
  syscall?: number;
  cps?: { ociVersion: string; fds: string[]; pid: number; metadata?: string; state: { id: string; status: string; pid: number; bundle: string; ociVersion: string } };
}

async function startAgent(holdFile?: string): Promise<{ sock: string; records: () => AgentRecord[] }> {
  const script = path.join(h.tmp, 'agent.py');
  const sock = path.join(h.tmp, 'agent.sock');
  const out = path.join(h.tmp, 'agent.out');
  fs.writeFileSync(script, AGENT);
  agent = spawn('python3', [script, sock, out, ...(holdFile ? [holdFile] : [])], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitFor(() => fs.existsSync(sock), 'the seccomp agent socket');
  const records = () =>
    fs.existsSync(out) ? fs.readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AgentRecord) : [];
  return { sock, records };
}

const notifyMkdir = (listenerPath?: string, listenerMetadata?: string) => (s: OciSpec) => {
  s.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    ...(listenerPath !== undefined ? { listenerPath } : {}),
    ...(listenerMetadata !== undefined ? { listenerMetadata } : {}),
    syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
  };
};

/** Where the notify fd would show: the process must not hold it (it could answer itself). */
const LIST_FDS = 'for f in /proc/$$/fd/*; do readlink $f; done | grep -c seccomp';

test('the agent gets the container process state and the listener fd, and answers the notified syscall', async () => {
  const { sock, records } = await startAgent();
  const b = h.bundle({ args: ['sh', '-c', `${LIST_FDS}; mkdir /tmp/made || echo refused; test -d /tmp/made || echo absent`] });
  b.writeConfig(notifyMkdir(sock, 'agent-metadata;x=1'));
  const id = h.id();
  const r = h.run(['run', '--bundle', b.dir, id]);
  expect(r.stdout).toBe('0\nrefused\nabsent\n');
  expect(r.stderr).toContain('Invalid cross-device link'); // the agent's -EXDEV
  await waitFor(() => records().some((x) => x.syscall !== undefined), 'the agent to record the notification');
  const [first, ...rest] = records();
  expect(first.nfds).toBe(1);
  expect(first.fdkind).toBe('anon_inode:seccomp notify');
  expect(first.cps).toMatchObject({
    ociVersion: expect.stringMatching(/^1\./),
    fds: ['seccompFd'],
    metadata: 'agent-metadata;x=1',
    state: { id, status: 'creating', bundle: b.dir, ociVersion: expect.stringMatching(/^1\./) },
  });
  expect(first.cps?.pid).toBeGreaterThan(1);
  expect(first.cps?.state.pid).toBe(first.cps?.pid);
  // mkdir (83) or mkdirat (258) on x86_64, answered on the first connection
  expect(rest.filter((x) => x.syscall !== undefined).map((x) => [x.conn, x.syscall])).toEqual([[1, expect.any(Number)]]);
  expect([83, 258]).toContain(rest.find((x) => x.syscall !== undefined)?.syscall);
});

test('an exec into the container sends its own listener fd on a new connection', async () => {
  const { sock, records } = await startAgent();
  const b = h.bundle({ args: ['sleep', '60'] });
  b.writeConfig(notifyMkdir(sock));
  const id = h.id();
  expect(h.run(['create', '--bundle', b.dir, id]).stderr).toBe('');
  expect(h.run(['start', id]).code).toBe(0);
  const r = h.run(['exec', id, 'sh', '-c', 'mkdir /tmp/e || echo exec-refused']);
  expect(r.stdout).toBe('exec-refused\n');
  expect(r.stderr).toContain('Invalid cross-device link');
  await waitFor(() => records().some((x) => x.conn === 2 && x.syscall !== undefined), 'the exec notification');
  const second = records().find((x) => x.conn === 2 && x.cps);
  expect(second?.cps).toMatchObject({ fds: ['seccompFd'], state: { id, status: 'running' } });
  expect(second?.cps?.metadata).toBeUndefined();
  expect(second?.cps?.pid).not.toBe(second?.cps?.state.pid); // the exec'd process, not the container's first
});

test('SCMP_ACT_NOTIFY without listenerPath, metadata without a path, and an unreachable listener fail create', () => {
  const refused = (edit: (s: OciSpec) => void, field: string) => h.expectCreateRefused(edit, field);
  refused(notifyMkdir(), 'linux.seccomp.listenerPath');
  refused(notifyMkdir('relative.sock'), 'linux.seccomp.listenerPath');
  refused((s) => {
    notifyMkdir()(s);
    (s.linux.seccomp as Record<string, unknown>).syscalls = [];
    (s.linux.seccomp as Record<string, unknown>).listenerMetadata = 'm';
  }, 'linux.seccomp.listenerMetadata');
  refused(notifyMkdir(path.join(h.tmp, 'nobody-listens.sock')), 'linux.seccomp.listenerPath');
  refused((s) => {
    s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'], syscalls: [] };
  }, 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV');
});

/** SIGUSR1 pending for the whole process (ShdPnd) or its thread (SigPnd). */
/** Whether SIGUSR1 is pending for pid; a process that is already gone has nothing pending (without
 *  the flag the shell may take the signal, finish and exit before it is looked at). */
const usr1Pending = (pid: number): boolean => {
  let status: string;
  try {
    status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  return status
    .split('\n')
    .filter((l) => /^(ShdPnd|SigPnd):/.test(l))
    .some((l) => (BigInt(`0x${l.split(/\s+/)[1]}`) & (1n << 9n)) !== 0n);
};

/* The container's shell traps SIGUSR1 and runs its own kill(2) (a builtin), which the agent holds
 * until told to answer; the test signals the shell while the agent holds the notification. */
async function signalWhileHeld(flags: string[]): Promise<{ stdout: string; answer: AgentRecord; pendingWhileHeld: boolean }> {
  const release = path.join(h.tmp, 'release');
  const { sock, records } = await startAgent(release);
  const b = h.bundle({ args: ['sh', '-c', "trap 'echo usr1' USR1; kill -0 1 2>/dev/null || echo refused; echo done"] });
  b.writeConfig((s) => {
    s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerPath: sock, flags, syscalls: [{ names: ['kill'], action: 'SCMP_ACT_NOTIFY' }] };
  });
  const run = h.runAsync(['run', '--bundle', b.dir, h.id()]);
  await waitFor(() => records().some((x) => x.pid !== undefined), 'the agent to receive the kill notification');
  const pid = records().find((x) => x.pid !== undefined)?.pid as number;
  process.kill(pid, 'SIGUSR1');
  let pendingWhileHeld = usr1Pending(pid);
  // Without the flag the signal wakes the shell, which withdraws the notification and runs its trap.
  if (!flags.length) await waitFor(() => !usr1Pending(pid), 'the shell to take SIGUSR1');
  else pendingWhileHeld = pendingWhileHeld && usr1Pending(pid);
  fs.writeFileSync(release, '');
  await waitFor(() => records().some((x) => x.answered !== undefined), 'the agent to answer');
  const r = await run;
  expect(r.code).toBe(0);
  return { stdout: r.stdout, answer: records().find((x) => x.answered !== undefined) as AgentRecord, pendingWhileHeld };
}

test('SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: a received notification survives a non-fatal signal and gets its answer', async () => {
  const r = await signalWhileHeld(['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV']);
  expect(r.pendingWhileHeld).toBe(true); // the shell is not woken by SIGUSR1 while the agent holds its kill
  expect(r.answer.errno).toBe(0); // the agent's answer reached the waiting syscall
  // the agent's -EXDEV reached the shell and the trap ran once the syscall had returned
  expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['done', 'refused', 'usr1']);
});

test('without SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV the same signal withdraws the held notification', async () => {
  const r = await signalWhileHeld([]);
  expect(r.answer.errno).toBe(2); // ENOENT: the notification was gone when the agent answered
  expect(r.stdout).toContain('usr1');
});

/**
 * Runs a busybox container the way the daemon will: shoal-monitor spawned detached with a sync
 * pipe, `shoal-runtime start` once the monitor reported the pid, and everything observed from
 * outside (log file, exit file, attach socket). Used by test/native/monitor_*.test.ts.
 */
import { spawn, spawnSync, type StdioOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeBundle, type Bundle, type OciSpec } from '../helpers/bundle';
import { removeCgroupTree } from '../helpers/cleanup';
import { isLiveProcess, procStatFields } from '../../src/util/proc_stat';

/** The repository (SHOAL_REPO when this file runs compiled elsewhere, e.g. from bench/). */
export const REPO = process.env.SHOAL_REPO ?? path.resolve(__dirname, '../..');
/** SHOAL_MONITOR picks another build of the monitor (the RSS benchmark compares link modes). */
export const MONITOR = process.env.SHOAL_MONITOR ?? path.join(REPO, 'bin/shoal-monitor');
/** The OCI runtime the monitor drives (SHOAL_TEST_RUNTIME lets a peer stand in while developing). */
export const RUNTIME = process.env.SHOAL_TEST_RUNTIME ?? path.join(REPO, 'bin/shoal-runtime');

/** Frame types of the attach/control socket (native/monitor/README.md). */
export const Req = { ATTACH: 0x01, STDIN: 0x02, CLOSE_STDIN: 0x03, RESIZE: 0x04, REOPEN_LOG: 0x05, STATUS: 0x06 } as const;
export const Ev = { STDOUT: 0x01, STDERR: 0x02, EXIT: 0x03, OK: 0x10, ERROR: 0x11 } as const;

export interface ExitRecord {
  exit_code: number;
  signal: number;
  exited_at_ns: string;
  oom_killed: boolean;
}

export interface MonitorOptions {
  args: string[];
  tty?: boolean;
  stdin?: boolean;
  stdinOnce?: boolean;
  edit?: (spec: OciSpec) => void;
  /** Run the monitor from this shell wrapper instead of directly (to kill its parent in a test). */
  viaWrapper?: boolean;
  /** An fd of the runtime's executable, handed to the monitor as fd 4 (`--runtime-fd 4`). */
  runtimeFd?: number;
  /** What `--runtime` names (default RUNTIME). */
  runtimePath?: string;
}

export interface MonitoredContainer {
  id: string;
  dir: string;
  bundle: Bundle;
  logPath: string;
  exitFile: string;
  socketPath: string;
  runtimeRoot: string;
  cgroupsPath: string;
  /** Pid of the container's process and of the detached monitor, from the sync line. */
  pid: number;
  monitorPid: number;
  /** Pid of the process the test spawned (exits right after detaching, or the wrapper). */
  spawnedPid: number;
  start(): void;
  runtime(...args: string[]): { status: number | null; stdout: string; stderr: string };
  waitExit(timeoutMs?: number): Promise<ExitRecord>;
  cleanup(): void;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 20000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return isLiveProcess(pid);
}

export function parentOf(pid: number): number {
  return Number(procStatFields(pid)?.[1]);
}

/** Reads the one sync line the monitor writes (or its error). */
function readSyncLine(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no sync line from the monitor (got ${JSON.stringify(buf)})`)), 30000);
    stream.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, nl));
      }
    });
    stream.on('end', () => {
      clearTimeout(timer);
      if (!buf.includes('\n')) reject(new Error(`monitor closed the sync pipe without a line (got ${JSON.stringify(buf)})`));
    });
  });
}

export async function startMonitored(opts: MonitorOptions): Promise<MonitoredContainer> {
  const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-mon-'));
  const id = `mon-${suffix}`;
  const cgroupsPath = `/shoal-test-${id}`;
  const bundle = makeBundle({
    args: opts.args,
    edit: (spec) => {
      spec.process.terminal = opts.tty ?? false;
      spec.linux.cgroupsPath = cgroupsPath;
      opts.edit?.(spec);
    },
  });
  const runtimeRoot = path.join(dir, 'runtime');
  fs.mkdirSync(path.join(dir, 'logs'));
  const c: MonitoredContainer = {
    id,
    dir,
    bundle,
    logPath: path.join(dir, 'logs', 'ctr.log'),
    exitFile: path.join(dir, 'exit.json'),
    socketPath: path.join(dir, 'attach.sock'),
    runtimeRoot,
    cgroupsPath,
    pid: 0,
    monitorPid: 0,
    spawnedPid: 0,
    runtime(...args: string[]) {
      const r = spawnSync(RUNTIME, ['--root', runtimeRoot, ...args], { encoding: 'utf8', timeout: 30000 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    start() {
      const r = c.runtime('start', id);
      if (r.status !== 0) throw new Error(`runtime start: ${r.stderr}`);
    },
    async waitExit(timeoutMs = 20000) {
      const text = await waitFor('the exit file', () => (fs.existsSync(c.exitFile) ? fs.readFileSync(c.exitFile, 'utf8') : undefined), timeoutMs);
      return JSON.parse(text) as ExitRecord;
    },
    cleanup() {
      for (const pid of [c.pid, c.monitorPid, c.spawnedPid]) {
        if (pid > 0) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      c.runtime('delete', '--force', id);
      removeCgroupTree(cgroupsPath);
      bundle.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    const monArgs = ['--runtime', opts.runtimePath ?? RUNTIME, '--runtime-root', runtimeRoot, '--bundle', bundle.dir, '--id', id,
      '--exit-file', c.exitFile, '--log-path', c.logPath, '--attach-socket', c.socketPath,
      '--monitor-pid-file', path.join(dir, 'monitor.pid'), '--sync-fd', '3'];
    if (opts.stdin) monArgs.push('--stdin');
    if (opts.stdinOnce) monArgs.push('--stdin-once');
    if (opts.tty) monArgs.push('--tty');
    if (opts.runtimeFd !== undefined) monArgs.push('--runtime-fd', '4');
    const started = await spawnMonitor(monArgs, opts.viaWrapper ?? false, (pid) => (c.spawnedPid = pid), opts.runtimeFd);
    c.pid = started.pid;
    c.monitorPid = started.monitorPid;
    return c;
  } catch (e) {
    c.cleanup();
    throw e;
  }
}

/** Spawns the monitor as the daemon does and waits for its sync line. */
async function spawnMonitor(monArgs: string[], viaWrapper: boolean, onSpawn: (pid: number) => void, fd4?: number): Promise<{ pid: number; monitorPid: number }> {
  const stdio: StdioOptions = ['ignore', 'ignore', 'pipe', 'pipe', ...(fd4 !== undefined ? [fd4] : [])];
  const child = viaWrapper
    ? spawn('/bin/sh', ['-c', '"$@"; exec sleep 600', 'wrapper', MONITOR, ...monArgs], { stdio, detached: true })
    : spawn(MONITOR, monArgs, { stdio, detached: true });
  onSpawn(child.pid ?? 0);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.on('error', (e) => (stderr += `spawn: ${e.message}`));
  const sync = child.stdio[3] as NodeJS.ReadableStream;
  let line: string;
  try {
    line = await readSyncLine(sync);
  } catch (e) {
    throw new Error(`${(e as Error).message}; stderr: ${stderr}`);
  }
  (sync as net.Socket).destroy();
  child.unref();
  const msg = JSON.parse(line) as { pid?: number; monitor_pid?: number; error?: string };
  if (msg.error !== undefined) throw new Error(`monitor: ${msg.error}`);
  return { pid: msg.pid ?? 0, monitorPid: msg.monitor_pid ?? 0 };
}

export interface MonitoredExec {
  exitFile: string;
  socketPath: string;
  pid: number;
  monitorPid: number;
  waitExit(timeoutMs?: number): Promise<ExitRecord>;
  cleanup(): void;
}

/** Runs `process` in the running container `c` through a monitor in exec mode (no log file). */
export async function startExec(
  c: MonitoredContainer,
  proc: { args: string[]; terminal?: boolean },
  opts: { stdin?: boolean; stdinOnce?: boolean } = {},
): Promise<MonitoredExec> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-exec-'));
  const processFile = path.join(dir, 'process.json');
  fs.writeFileSync(processFile, JSON.stringify({
    terminal: proc.terminal ?? false,
    user: { uid: 0, gid: 0 },
    args: proc.args,
    env: c.bundle.spec.process.env,
    cwd: '/',
  }));
  const e: MonitoredExec = {
    exitFile: path.join(dir, 'exit.json'),
    socketPath: path.join(dir, 'attach.sock'),
    pid: 0,
    monitorPid: 0,
    async waitExit(timeoutMs = 20000) {
      const text = await waitFor('the exec exit file', () => (fs.existsSync(e.exitFile) ? fs.readFileSync(e.exitFile, 'utf8') : undefined), timeoutMs);
      return JSON.parse(text) as ExitRecord;
    },
    cleanup() {
      for (const pid of [e.pid, e.monitorPid]) {
        if (pid > 0) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    const args = ['--runtime', RUNTIME, '--runtime-root', c.runtimeRoot, '--exec-process', processFile, '--id', c.id,
      '--exit-file', e.exitFile, '--attach-socket', e.socketPath, '--sync-fd', '3'];
    if (opts.stdin) args.push('--stdin');
    if (opts.stdinOnce) args.push('--stdin-once');
    if (proc.terminal) args.push('--tty');
    const started = await spawnMonitor(args, false, () => undefined);
    e.pid = started.pid;
    e.monitorPid = started.monitorPid;
    return e;
  } catch (err) {
    e.cleanup();
    throw err;
  }
}

export interface Frame {
  type: number;
  payload: Buffer;
}

/** A client of the attach/control socket: frames in, frames out. */
export class AttachClient {
  readonly frames: Frame[] = [];
  closed = false;
  private buf = Buffer.alloc(0);

  private constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 5) {
        const len = this.buf.readUInt32BE(1);
        if (this.buf.length < 5 + len) break;
        this.frames.push({ type: this.buf[0], payload: this.buf.subarray(5, 5 + len) });
        this.buf = this.buf.subarray(5 + len);
      }
    });
    sock.on('close', () => (this.closed = true));
    sock.on('error', () => (this.closed = true));
  }

  static connect(socketPath: string): Promise<AttachClient> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection(socketPath);
      s.once('connect', () => resolve(new AttachClient(s)));
      s.once('error', reject);
    });
  }

  send(type: number, payload: Buffer | string = Buffer.alloc(0)): void {
    const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const h = Buffer.alloc(5);
    h[0] = type;
    h.writeUInt32BE(p.length, 1);
    this.sock.write(Buffer.concat([h, p]));
  }

  /** Sends a request and waits for its reply (the next OK/ERROR frame after those seen so far). */
  async request(type: number, payload: Buffer | string = Buffer.alloc(0)): Promise<Frame> {
    const seen = this.frames.filter((f) => f.type === Ev.OK || f.type === Ev.ERROR).length;
    this.send(type, payload);
    return waitFor(`reply to request ${type}`, () => this.frames.filter((f) => f.type === Ev.OK || f.type === Ev.ERROR)[seen]);
  }

  /** All payload bytes of frames of `type` so far, as text. */
  text(type: number): string {
    return Buffer.concat(this.frames.filter((f) => f.type === type).map((f) => f.payload)).toString();
  }

  close(): void {
    this.sock.destroy();
  }
}

/** One CRI log record. */
export interface LogRecord {
  time: string;
  stream: string;
  tag: string;
  content: string;
}

export function readLog(file: string): LogRecord[] {
  if (!fs.existsSync(file)) return [];
  const text = fs.readFileSync(file, 'utf8');
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('log file ends mid-record');
  return text
    .split('\n')
    .slice(0, -1)
    .map((line) => {
      const m = /^(\S+) (stdout|stderr) ([PF]) (.*)$/s.exec(line);
      if (m === null) throw new Error(`not a CRI log record: ${JSON.stringify(line.slice(0, 120))}`);
      return { time: m[1], stream: m[2], tag: m[3], content: m[4] };
    });
}

/** Joins records the way the kubelet reads them: P content as is, F content plus a newline. */
export function joinStream(records: LogRecord[], stream: string): string {
  return records
    .filter((r) => r.stream === stream)
    .map((r) => (r.tag === 'F' ? `${r.content}\n` : r.content))
    .join('');
}

import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { lastErrno, libcHandle, strerror } from './libc';

/**
 * Starting helper processes (shoal-monitor, CNI plugins, shoal-runtime) with posix_spawn(3) rather
 * than Node's spawn. Node forks: the kernel copies the page tables of the whole daemon, and the
 * event loop waits until that copy has exec'd — 8–11 ms per process on a virtualised host, all of
 * it on the event loop. glibc's posix_spawn runs the child in the daemon's memory (clone with
 * CLONE_VM | CLONE_VFORK) with nothing to do but its file actions and the exec, which is what
 * makes it safe in a threaded process and makes its cost independent of the daemon's size.
 *
 * libuv reaps only the children it started (it waits for each by pid), so the exit status of
 * these is collected here with waitpid on their own pid.
 */

/** How one of the child's fds 0–2 is set up: /dev/null, a pipe to us, or a copy of an fd of ours. */
export type ChildFd = 'null' | 'pipe' | number;

export interface SpawnOptions {
  /** argv[0], and the name in messages, when it is not `binary` (a /proc/PID/fd path). */
  argv0?: string;
  stdin?: ChildFd;
  stdout?: ChildFd;
  stderr?: ChildFd;
  /** An extra pipe on the child's fd 3 (the monitor reports readiness there). */
  fd3?: 'pipe';
  /** An fd of ours (at 5 or above: 0–4 are Node's own) handed to the child as its fd 4. */
  fd4?: number;
  /** The complete environment; the daemon's own when absent. */
  env?: Readonly<Record<string, string>>;
  /** setsid: the child outlives the daemon's session (the monitor). */
  newSession?: boolean;
  /** A process group of its own, so `kill` reaches what the child itself started. */
  newProcessGroup?: boolean;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnedProcess {
  pid: number;
  stdin?: Writable;
  stdout?: Readable;
  stderr?: Readable;
  fd3?: Readable;
  /** Settles once the child has exited and been reaped. */
  exited: Promise<ExitStatus>;
  /** Signals the child, or its whole group when it has one; false when it is already gone. */
  kill(signal: NodeJS.Signals): boolean;
}

// Opaque glibc objects, allocated larger than any ABI makes them.
const FILE_ACTIONS_BYTES = 256;
const SPAWNATTR_BYTES = 512;
const SIGSET_BYTES = 128;

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_CLOEXEC = 0o2000000;
const POSIX_SPAWN_SETPGROUP = 0x02;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
const WNOHANG = 1;
const EINTR = 4;
const ECHILD = 10;

const libc = libcHandle;
const posixSpawn = libc.func('int posix_spawn(_Out_ int *pid, const char *path, void *actions, void *attr, const char **argv, const char **envp)') as (
  pid: number[],
  path: string,
  actions: Buffer,
  attr: Buffer,
  argv: (string | null)[],
  envp: (string | null)[],
) => number;
const actionsInit = libc.func('int posix_spawn_file_actions_init(void *actions)') as (a: Buffer) => number;
const actionsDestroy = libc.func('int posix_spawn_file_actions_destroy(void *actions)') as (a: Buffer) => number;
const actionsOpen = libc.func('int posix_spawn_file_actions_addopen(void *actions, int fd, const char *path, int flags, uint32_t mode)') as (
  a: Buffer,
  fd: number,
  path: string,
  flags: number,
  mode: number,
) => number;
const actionsDup2 = libc.func('int posix_spawn_file_actions_adddup2(void *actions, int fd, int newfd)') as (a: Buffer, fd: number, newfd: number) => number;
const actionsCloseFrom = optional(() => libc.func('int posix_spawn_file_actions_addclosefrom_np(void *actions, int from)') as (a: Buffer, from: number) => number);
const attrInit = libc.func('int posix_spawnattr_init(void *attr)') as (a: Buffer) => number;
const attrDestroy = libc.func('int posix_spawnattr_destroy(void *attr)') as (a: Buffer) => number;
const attrSetFlags = libc.func('int posix_spawnattr_setflags(void *attr, short flags)') as (a: Buffer, flags: number) => number;
const attrSetPgroup = libc.func('int posix_spawnattr_setpgroup(void *attr, int pgroup)') as (a: Buffer, pgroup: number) => number;
const attrSetSigMask = libc.func('int posix_spawnattr_setsigmask(void *attr, const void *set)') as (a: Buffer, set: Buffer) => number;
const attrSetSigDefault = libc.func('int posix_spawnattr_setsigdefault(void *attr, const void *set)') as (a: Buffer, set: Buffer) => number;
const sigEmptySet = libc.func('int sigemptyset(void *set)') as (set: Buffer) => number;
const sigFillSet = libc.func('int sigfillset(void *set)') as (set: Buffer) => number;
const pipe2 = libc.func('int pipe2(_Out_ int *fds, int flags)') as (fds: number[], flags: number) => number;
const waitpid = libc.func('int waitpid(int pid, _Out_ int *status, int options)') as (pid: number, status: number[], options: number) => number;

function optional<T>(bind: () => T): T | undefined {
  try {
    return bind();
  } catch {
    return undefined;
  }
}

/** posix_spawn's helpers return an error number (0 on success) rather than setting errno. */
function check(rc: number, what: string): void {
  if (rc !== 0) throw new Error(`${what}: ${strerror(rc)}`);
}

function pipe(what: string): [number, number] {
  const fds = [-1, -1];
  if (pipe2(fds, O_CLOEXEC) !== 0) throw new Error(`${what}: pipe: ${strerror(lastErrno())}`);
  return [fds[0]!, fds[1]!];
}

/**
 * Starts `binary args` with the fds the options ask for and no other fd of the daemon, every signal
 * at its default disposition and none blocked (the daemon ignores SIGPIPE; an exec would keep
 * that). Throws when it cannot be started, the exec's own error included (glibc reports it back).
 */
export function spawnProcess(binary: string, args: readonly string[], opts: SpawnOptions = {}): SpawnedProcess {
  const argv0 = opts.argv0 ?? binary;
  const what = `starting ${argv0}`;
  const toClose: number[] = [];
  /** Our ends of the pipes, kept open past the spawn. */
  const ours = new Set<number>();
  const actions = Buffer.alloc(FILE_ACTIONS_BYTES);
  const attr = Buffer.alloc(SPAWNATTR_BYTES);
  let actionsReady = false;
  let attrReady = false;
  try {
    check(actionsInit(actions), `${what}: file actions`);
    actionsReady = true;
    const setUp = (childFd: number, how: ChildFd | undefined, name: string): number | undefined => {
      if (how === undefined) return undefined;
      const childReads = childFd === 0;
      if (typeof how === 'number') {
        check(actionsDup2(actions, how, childFd), `${what}: ${name}`);
        return undefined;
      }
      if (how === 'null') {
        check(actionsOpen(actions, childFd, '/dev/null', childReads ? O_RDONLY : O_WRONLY, 0), `${what}: ${name}`);
        return undefined;
      }
      const [readEnd, writeEnd] = pipe(what);
      toClose.push(readEnd, writeEnd);
      const theirs = childReads ? readEnd : writeEnd;
      const mine = childReads ? writeEnd : readEnd;
      check(actionsDup2(actions, theirs, childFd), `${what}: ${name}`);
      ours.add(mine);
      return mine;
    };
    const stdin = setUp(0, opts.stdin ?? 'null', 'stdin');
    const stdout = setUp(1, opts.stdout ?? 'null', 'stdout');
    const stderr = setUp(2, opts.stderr ?? 'null', 'stderr');
    const fd3 = setUp(3, opts.fd3, 'fd 3');
    if (opts.fd4 !== undefined) {
      // Below 5 it could be one the dup2s above have replaced already.
      if (opts.fd4 < 5) throw new Error(`${what}: fd ${opts.fd4} cannot be handed over as fd 4`);
      setUp(4, opts.fd4, 'fd 4');
    }
    // The daemon's own fds are close-on-exec already; this is the second line (glibc 2.34+).
    const firstUnused = opts.fd4 !== undefined ? 5 : opts.fd3 ? 4 : 3;
    if (actionsCloseFrom) check(actionsCloseFrom(actions, firstUnused), `${what}: closing inherited fds`);

    check(attrInit(attr), `${what}: attributes`);
    attrReady = true;
    const none = Buffer.alloc(SIGSET_BYTES);
    const all = Buffer.alloc(SIGSET_BYTES);
    sigEmptySet(none);
    sigFillSet(all);
    check(attrSetSigMask(attr, none), `${what}: signal mask`);
    check(attrSetSigDefault(attr, all), `${what}: signal dispositions`);
    let flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    if (opts.newSession) flags |= POSIX_SPAWN_SETSID;
    else if (opts.newProcessGroup) {
      flags |= POSIX_SPAWN_SETPGROUP;
      check(attrSetPgroup(attr, 0), `${what}: process group`);
    }
    check(attrSetFlags(attr, flags), `${what}: flags`);

    const env = Object.entries(opts.env ?? process.env).map(([k, v]) => `${k}=${v ?? ''}`);
    const pidOut = [0];
    check(posixSpawn(pidOut, binary, actions, attr, [argv0, ...args, null], [...env, null]), what);
    const pid = pidOut[0]!;
    // The child has its copies; from here on our ends belong to their streams.
    for (const fd of toClose) if (!ours.has(fd)) closeSync(fd);
    toClose.length = 0;

    const stream = (fd: number | undefined, readable: boolean): Socket | undefined =>
      fd === undefined ? undefined : new Socket({ fd, readable, writable: !readable });
    const child = {
      stdin: stream(stdin, false),
      stdout: stream(stdout, true),
      stderr: stream(stderr, true),
      fd3: stream(fd3, true),
    };
    child.stdin?.on('error', () => {
      /* a child that exits without reading its stdin: its exit status says what happened */
    });
    const ownGroup = opts.newSession === true || opts.newProcessGroup === true;
    // A detached child (the monitor) must not keep a process alive that has nothing else to do.
    const watcher = new ExitWatcher(pid, opts.newSession !== true);
    return {
      pid,
      ...child,
      exited: watcher.exited,
      kill(signal: NodeJS.Signals): boolean {
        if (watcher.reaped) return false;
        try {
          process.kill(ownGroup ? -pid : pid, signal);
        } catch {
          return false;
        }
        return true;
      },
    };
  } finally {
    if (actionsReady) actionsDestroy(actions);
    if (attrReady) attrDestroy(attr);
    for (const fd of toClose) closeSync(fd);
  }
}

/** The started monitor: its pid, and the read ends of its stderr and of its fd 3. */
export interface DetachedChild {
  pid: number;
  stderr: Readable;
  fd3: Readable;
}

/**
 * Starts `binary args` in a session of its own, stdin and stdout on /dev/null, stderr and fd 3 on
 * pipes, fd4 (when given) as its fd 4, with the daemon's environment. The child is reaped here when it exits (the monitor's first
 * process exits once it has detached).
 */
export function spawnDetached(binary: string, args: readonly string[], fd4?: number): DetachedChild {
  const child = spawnProcess(binary, args, { stdin: 'null', stdout: 'null', stderr: 'pipe', fd3: 'pipe', fd4, newSession: true });
  child.exited.catch(() => undefined);
  return { pid: child.pid, stderr: child.stderr!, fd3: child.fd3! };
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(osConstants.signals).map(([name, num]) => [num, name as NodeJS.Signals]));

/** A wait status as Node reports one: exit code, or the signal that ended the process. */
function decodeWaitStatus(status: number): ExitStatus {
  const termSignal = status & 0x7f;
  if (termSignal === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: null, signal: SIGNAL_NAMES.get(termSignal) ?? 'SIGKILL' };
}

/**
 * Reaps children by pid. Each SIGCHLD (the kernel's word that some child changed state; several
 * may arrive as one) makes every pending pid be asked with waitpid(WNOHANG); a slow timer asks too,
 * should anything in the process ever reset SIGCHLD. The listener is registered only while a child
 * is pending, and a pid is asked once right after registration, so an exit before it is not missed.
 */
const pending = new Map<number, ExitWatcher>();
const FALLBACK_POLL_MS = 500;
let fallbackTimer: NodeJS.Timeout | undefined;

function pollPending(): void {
  for (const w of [...pending.values()]) w.poll();
}

class ExitWatcher {
  reaped = false;
  readonly exited: Promise<ExitStatus>;
  private resolve!: (s: ExitStatus) => void;
  private reject!: (e: Error) => void;

  /** keepAlive: whether a process waiting for this child is kept running until it exits. */
  constructor(
    private readonly pid: number,
    readonly keepAlive: boolean,
  ) {
    this.exited = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (pending.size === 0) {
      process.on('SIGCHLD', pollPending);
      fallbackTimer = setInterval(pollPending, FALLBACK_POLL_MS);
    }
    pending.set(pid, this);
    refreshFallback();
    this.poll();
  }

  poll(): void {
    if (this.reaped) return;
    const status = [0];
    for (;;) {
      const r = waitpid(this.pid, status, WNOHANG);
      if (r === 0) return;
      if (r === this.pid) {
        this.settle();
        return this.resolve(decodeWaitStatus(status[0]!));
      }
      const errnum = lastErrno();
      if (errnum === EINTR) continue;
      this.settle();
      return this.reject(new Error(`waiting for process ${this.pid}: ${errnum === ECHILD ? 'reaped elsewhere' : strerror(errnum)}`));
    }
  }

  private settle(): void {
    this.reaped = true;
    pending.delete(this.pid);
    if (pending.size === 0) {
      process.off('SIGCHLD', pollPending);
      clearInterval(fallbackTimer);
      fallbackTimer = undefined;
    } else refreshFallback();
  }
}

/** The fallback timer holds the process open only while someone waits for a child's exit. */
function refreshFallback(): void {
  if (!fallbackTimer) return;
  if ([...pending.values()].some((w) => w.keepAlive)) fallbackTimer.ref();
  else fallbackTimer.unref();
}

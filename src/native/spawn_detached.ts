import { closeSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { lastErrno, libcHandle, strerror } from './libc';

/**
 * Starting shoal-monitor with posix_spawn(3) rather than Node's spawn. Node forks: the kernel
 * copies the page tables of the whole daemon, and the event loop waits until that copy has
 * exec'd — a few milliseconds per CreateContainer, tens on a loaded host. glibc's posix_spawn
 * runs the child in the daemon's memory (clone with CLONE_VM | CLONE_VFORK) with nothing to do but
 * its file actions and the exec, which is what makes it safe in a threaded process and makes its
 * cost independent of the daemon's size.
 */

/** The started process: its pid, and the read ends of its stderr and of its fd 3. */
export interface DetachedChild {
  pid: number;
  stderr: Readable;
  fd3: Readable;
}

// Opaque glibc objects, allocated larger than any ABI makes them.
const FILE_ACTIONS_BYTES = 256;
const SPAWNATTR_BYTES = 512;
const SIGSET_BYTES = 128;

const O_RDONLY = 0;
const O_WRONLY = 1;
const O_CLOEXEC = 0o2000000;
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;
const POSIX_SPAWN_SETSID = 0x80;
const WNOHANG = 1;
const EINTR = 4;

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
 * Starts `binary args` in a session of its own, stdin and stdout on /dev/null, stderr and fd 3 on
 * pipes, every signal at its default disposition and none blocked (the daemon ignores SIGPIPE, an
 * exec would keep that), no other fd of the daemon. The child is reaped here when it exits (the
 * monitor's first process exits once it has detached). Throws when it cannot be started.
 */
export function spawnDetached(binary: string, args: readonly string[]): DetachedChild {
  const what = `starting ${binary}`;
  const fds: number[] = [];
  const actions = Buffer.alloc(FILE_ACTIONS_BYTES);
  const attr = Buffer.alloc(SPAWNATTR_BYTES);
  let actionsReady = false;
  let attrReady = false;
  try {
    const [errRead, errWrite] = pipe(what);
    fds.push(errRead, errWrite);
    const [syncRead, syncWrite] = pipe(what);
    fds.push(syncRead, syncWrite);

    check(actionsInit(actions), `${what}: file actions`);
    actionsReady = true;
    check(actionsOpen(actions, 0, '/dev/null', O_RDONLY, 0), `${what}: stdin`);
    check(actionsOpen(actions, 1, '/dev/null', O_WRONLY, 0), `${what}: stdout`);
    check(actionsDup2(actions, errWrite, 2), `${what}: stderr`);
    check(actionsDup2(actions, syncWrite, 3), `${what}: fd 3`);
    // The daemon's own fds are close-on-exec already; this is the second line (glibc 2.34+).
    if (actionsCloseFrom) check(actionsCloseFrom(actions, 4), `${what}: closing inherited fds`);

    check(attrInit(attr), `${what}: attributes`);
    attrReady = true;
    const none = Buffer.alloc(SIGSET_BYTES);
    const all = Buffer.alloc(SIGSET_BYTES);
    sigEmptySet(none);
    sigFillSet(all);
    check(attrSetSigMask(attr, none), `${what}: signal mask`);
    check(attrSetSigDefault(attr, all), `${what}: signal dispositions`);
    check(attrSetFlags(attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID), `${what}: flags`);

    const env = Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`);
    const pid = [0];
    check(posixSpawn(pid, binary, actions, attr, [binary, ...args, null], [...env, null]), what);
    closeSync(errWrite);
    closeSync(syncWrite);
    fds.length = 0;
    reapWhenExited(pid[0]!);
    return { pid: pid[0]!, stderr: readEnd(errRead), fd3: readEnd(syncRead) };
  } finally {
    if (actionsReady) actionsDestroy(actions);
    if (attrReady) attrDestroy(attr);
    for (const fd of fds) closeSync(fd);
  }
}

function readEnd(fd: number): Readable {
  return new Socket({ fd, readable: true, writable: false });
}

/**
 * Collects the child's exit status so it does not stay a zombie. libuv reaps only the children it
 * started (it waits for each by pid), so this one is left to us; it exits within milliseconds.
 */
function reapWhenExited(pid: number, delayMs = 1): void {
  const status = [0];
  for (;;) {
    const r = waitpid(pid, status, WNOHANG);
    if (r === 0) break;
    // Reaped, or nothing to reap (ECHILD: someone else did); EINTR: ask again.
    if (r < 0 && lastErrno() === EINTR) continue;
    return;
  }
  setTimeout(() => reapWhenExited(pid, Math.min(delayMs * 2, 200)), delayMs).unref();
}

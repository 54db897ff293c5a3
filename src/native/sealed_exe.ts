import { closeSync, openSync, readSync, fstatSync, writeSync } from 'node:fs';
import { lastErrno, libcHandle, syscallError } from './libc';
import { spawnProcess, type SpawnedProcess, type SpawnOptions } from './spawn';

/**
 * An executable the daemon runs often, held as a sealed in-memory copy made once at start.
 *
 * shoal-runtime protects its binary from being overwritten through /proc/PID/exe by a container
 * process (the CVE-2019-5736 class): started from a file, it copies itself into a sealed memfd and
 * executes that copy. Run from a copy that is sealed already, it skips the step — one exec and a
 * 1.3 MB copy per container create and per exec (≈2 ms here). The daemon makes that copy once and
 * starts every `create` and `exec` from it: the monitor gets it as an inherited fd
 * (`--runtime-fd`); ExecSync and the pod init's commands execute it through /proc/PID/fd of the
 * daemon.
 *
 * The copy is taken when the daemon starts: a runtime binary replaced on disk is used from the
 * next daemon start on.
 */
export interface RuntimeExecutable {
  /** The file as configured: argv[0] and the name in messages. */
  path: string;
  /** The sealed copy (a close-on-exec fd of the daemon), when one was made. */
  sealedFd?: number;
}

const MFD_CLOEXEC = 0x1;
const MFD_ALLOW_SEALING = 0x2;
/* Since Linux 6.3; older kernels refuse the flag (EINVAL) and make every memfd executable. */
const MFD_EXEC = 0x10;
const EINVAL = 22;
const F_ADD_SEALS = 1033;
const F_SEAL_SEAL = 0x1;
const F_SEAL_SHRINK = 0x2;
const F_SEAL_GROW = 0x4;
const F_SEAL_WRITE = 0x8;

const memfdCreate = libcHandle.func('int memfd_create(const char *name, unsigned int flags)') as (name: string, flags: number) => number;
const fcntl = libcHandle.func('int fcntl(int fd, int cmd, ...)') as (fd: number, cmd: number, ...variadic: unknown[]) => number;

/** A sealed (no write, no resize, no further seal change) memfd copy of `file`; its fd. */
export function sealedCopy(file: string): number {
  const name = file.slice(file.lastIndexOf('/') + 1);
  let fd = memfdCreate(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (fd < 0 && lastErrno() === EINVAL) fd = memfdCreate(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) throw syscallError(`sealed copy of ${file}: memfd_create`);
  try {
    const src = openSync(file, 'r');
    try {
      const size = fstatSync(src).size;
      const buf = Buffer.allocUnsafe(Math.min(size, 1 << 20));
      let copied = 0;
      while (copied < size) {
        const n = readSync(src, buf, 0, Math.min(buf.length, size - copied), copied);
        if (n === 0) throw new Error(`sealed copy of ${file}: it shrank while being copied`);
        for (let off = 0; off < n; ) off += writeSync(fd, buf, off, n - off);
        copied += n;
      }
    } finally {
      closeSync(src);
    }
    if (fcntl(fd, F_ADD_SEALS, 'int', F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
      throw syscallError(`sealed copy of ${file}: sealing`);
    }
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/**
 * Starts `exe args` (src/native/spawn.ts) from the copy when there is one, through our own fd
 * table (the child closes every fd it does not need before the exec), with the configured path as
 * argv[0] and in messages.
 */
export function spawnExecutable(exe: RuntimeExecutable, args: readonly string[], opts: Omit<SpawnOptions, 'argv0'> = {}): SpawnedProcess {
  const file = exe.sealedFd !== undefined ? `/proc/${process.pid}/fd/${exe.sealedFd}` : exe.path;
  return spawnProcess(file, args, { ...opts, argv0: exe.path });
}

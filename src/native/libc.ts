import koffi from 'koffi';

/**
 * libc calls Node does not offer, bound once through koffi. Thin and general: each function is the
 * syscall wrapper as-is; callers turn a -1 into an error with `lastErrno()` and say what they did.
 * Only calls that do not fork or clone belong here (the daemon has many threads).
 */
const libc = koffi.load('libc.so.6');

export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

export const flock = libc.func('int flock(int fd, int operation)') as (fd: number, op: number) => number;
const strerrorRaw = libc.func('const char *strerror(int errnum)') as (errnum: number) => string;

/** The handle itself, for parts that bind further calls of their own (image unpack: mknod, xattrs). */
export const libcHandle = libc;

/** errno as koffi saved it right after the last call made through it on this thread. */
export function lastErrno(): number {
  return koffi.errno();
}

const EWOULDBLOCK = 11;

/** Non-blocking exclusive flock: true when taken, false when another holder has it. */
export function tryLockExclusive(fd: number, what: string): boolean {
  if (flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
  const errnum = lastErrno();
  if (errnum === EWOULDBLOCK) return false;
  throw syscallError(`locking ${what}`, errnum);
}

export function unlock(fd: number, what: string): void {
  if (flock(fd, LOCK_UN) !== 0) throw syscallError(`unlocking ${what}`);
}

export function strerror(errnum: number): string {
  return strerrorRaw(errnum);
}

/** An Error whose message says what was being done, on which object, and libc's reason. */
export function syscallError(what: string, errnum = lastErrno()): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${what}: ${strerror(errnum)}`);
  err.errno = errnum;
  return err;
}

// --- namespaces and mounts (sandbox pinning); calls act on the calling thread where the kernel says so.
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_NEWPID = 0x20000000;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_PRIVATE = 0x40000;
export const MNT_DETACH = 0x2;

export const unshare = libc.func('int unshare(int flags)') as (flags: number) => number;
export const setns = libc.func('int setns(int fd, int nstype)') as (fd: number, nstype: number) => number;
export const mount = libc.func(
  'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
) as (source: string | null, target: string, fstype: string | null, flags: number, data: string | null) => number;
export const umount2 = libc.func('int umount2(const char *target, int flags)') as (target: string, flags: number) => number;
export const sethostname = libc.func('int sethostname(const char *name, size_t len)') as (name: string, len: number) => number;
export const socket = libc.func('int socket(int domain, int type, int protocol)') as (domain: number, type: number, protocol: number) => number;
/** ioctl with a pointer argument (struct ifreq and the like). */
export const ioctlPtr = libc.func('int ioctl(int fd, unsigned long request, _Inout_ uint8_t *arg)') as (
  fd: number,
  request: number,
  arg: Buffer,
) => number;
export const close = libc.func('int close(int fd)') as (fd: number) => number;

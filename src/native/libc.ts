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
const errnoLocation = libc.func('int *__errno_location()') as () => unknown;
const strerrorRaw = libc.func('const char *strerror(int errnum)') as (errnum: number) => string;

/** errno of the calling thread right after a failed call made through koffi on this thread. */
export function lastErrno(): number {
  return koffi.decode(errnoLocation(), 'int') as number;
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

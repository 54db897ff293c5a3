import koffi from 'koffi';
import { constants as osConstants } from 'node:os';
import { libcHandle } from '../native/libc';

/**
 * The few libc calls image handling needs and Node lacks: mknod (overlay whiteouts, device nodes,
 * fifos), lsetxattr/lgetxattr (opaque dirs, archived xattrs; never following a symlink), bound on the
 * daemon's one libc handle when a layer is first unpacked.
 */
interface Libc {
  mknod: (path: string, mode: number, dev: bigint) => number;
  lsetxattr: (path: string, name: string, value: Buffer, size: number, flags: number) => number;
  lgetxattr: (path: string, name: string, value: Buffer, size: number) => number;
  llistxattr: (path: string, list: Buffer, size: number) => number;
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  const lib = libcHandle;
  libc = {
    mknod: lib.func('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
    lsetxattr: lib.func('int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)'),
    lgetxattr: lib.func('intptr_t lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)'),
    llistxattr: lib.func('intptr_t llistxattr(const char *path, _Out_ void *list, size_t size)'),
  };
  return libc;
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([name, value]) => [value, name]));

export class SyscallError extends Error {
  constructor(
    readonly syscall: string,
    readonly code: string,
    what: string,
  ) {
    super(`${syscall} ${what}: ${code}`);
  }
}

function check(result: number, syscall: string, what: string): number {
  if (result < 0) {
    const errno = koffi.errno();
    throw new SyscallError(syscall, ERRNO_NAMES.get(errno) ?? `errno ${errno}`, what);
  }
  return result;
}

export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

/** Linux's dev_t encoding (the glibc makedev layout). */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

export function mknod(path: string, mode: number, major = 0, minor = 0): void {
  check(load().mknod(path, mode, makedev(major, minor)), 'mknod', path);
}

export function lsetxattr(path: string, name: string, value: Buffer): void {
  check(load().lsetxattr(path, name, value, value.length, 0), 'lsetxattr', `${name} on ${path}`);
}

/** The xattr's value, or undefined when the file does not have it. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const buf = Buffer.alloc(64 * 1024);
  const n = load().lgetxattr(path, name, buf, buf.length);
  if (n < 0) {
    const errno = koffi.errno();
    if (ERRNO_NAMES.get(errno) === 'ENODATA') return undefined;
    throw new SyscallError('lgetxattr', ERRNO_NAMES.get(errno) ?? `errno ${errno}`, `${name} on ${path}`);
  }
  return buf.subarray(0, n);
}

export function llistxattr(path: string): string[] {
  const buf = Buffer.alloc(64 * 1024);
  const n = check(load().llistxattr(path, buf, buf.length), 'llistxattr', path);
  return buf
    .subarray(0, n)
    .toString('utf8')
    .split('\0')
    .filter((s) => s !== '');
}

import koffi, { type LibraryHandle } from 'koffi';
import { bundledBinary } from '../paths';

/**
 * libshoal's cgroup API (native/lib/shoal.h) for the daemon. The library decides the files and the
 * hierarchy (v1, v2, hybrid); the daemon only says which cgroup and which OCI linux.resources.
 * Loaded on first use so a daemon without the library still starts (and says why when asked).
 */
interface LibShoal {
  apply(path: string, resources: string, pid: number, err: Buffer, errlen: number): number;
  update(path: string, resources: string, err: Buffer, errlen: number): number;
  destroy(path: string, err: Buffer, errlen: number): number;
  oomKilled(path: string): number;
}

let lib: LibShoal | undefined;
let handle: LibraryHandle | undefined;

/** The loaded library, for the parts that bind calls of their own (container/runtime_lib.ts). */
export function libshoalHandle(): LibraryHandle {
  handle ??= koffi.load(bundledBinary('libshoal.so'));
  return handle;
}

/** The message libshoal left in `err` (NUL-terminated). */
export function libshoalMessage(err: Buffer): string {
  const nul = err.indexOf(0);
  return err.subarray(0, nul < 0 ? err.length : nul).toString('utf8') || 'unknown error';
}

function load(): LibShoal {
  if (lib) return lib;
  const so = libshoalHandle();
  lib = {
    apply: so.func('int shoal_cgroup_apply(const char *path, const char *res, int pid, _Out_ uint8_t *err, size_t errlen)') as LibShoal['apply'],
    update: so.func('int shoal_cgroup_update(const char *path, const char *res, _Out_ uint8_t *err, size_t errlen)') as LibShoal['update'],
    destroy: so.func('int shoal_cgroup_destroy(const char *path, _Out_ uint8_t *err, size_t errlen)') as LibShoal['destroy'],
    oomKilled: so.func('int shoal_cgroup_oom_killed(const char *path)') as LibShoal['oomKilled'],
  };
  return lib;
}

const ERR_LEN = 1024;

function check(rc: number, err: Buffer, what: string): void {
  if (rc === 0) return;
  throw new Error(`${what}: ${libshoalMessage(err)}`);
}

/** OCI `linux.resources` as the library reads it. */
export type OciResources = Record<string, unknown>;

/** Creates the cgroup `path` (relative to each hierarchy's root) with `resources`; moves `pid` in when > 0. */
export function cgroupApply(path: string, resources: OciResources, pid = 0): void {
  const err = Buffer.alloc(ERR_LEN);
  check(load().apply(path, JSON.stringify(resources), pid, err, ERR_LEN), err, `create cgroup ${path}`);
}

/** Changes the limits of an existing cgroup; nothing is written when any target is refused up front. */
export function cgroupUpdate(path: string, resources: OciResources): void {
  const err = Buffer.alloc(ERR_LEN);
  check(load().update(path, JSON.stringify(resources), err, ERR_LEN), err, `update cgroup ${path}`);
}

/** Kills what is left inside and removes the cgroup (and its children) from every hierarchy. */
export function cgroupDestroy(path: string): void {
  const err = Buffer.alloc(ERR_LEN);
  check(load().destroy(path, err, ERR_LEN), err, `remove cgroup ${path}`);
}

/** OOM kills counted in the cgroup so far (-1 when unreadable). */
export function cgroupOomKills(path: string): number {
  return load().oomKilled(path);
}

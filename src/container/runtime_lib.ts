import { libshoalHandle, libshoalMessage } from '../native/libshoal';

/**
 * The runtime operations that need no new process — start (open the exec fifo), kill, delete —
 * called in libshoal (native/lib/runtime.h) instead of spawning shoal-runtime: a spawn blocks the
 * daemon's event loop for the whole fork+exec of a large process, these take microseconds.
 */
interface RuntimeLib {
  start(root: string, id: string, err: Buffer): number;
  kill(root: string, id: string, signal: string, all: number, err: Buffer): number;
  del(root: string, id: string, force: number, err: Buffer): number;
}

/** sizeof(struct sh_err): one message buffer. */
const ERR_LEN = 512;

let lib: RuntimeLib | null | undefined;

function load(): RuntimeLib | null {
  if (lib !== undefined) return lib;
  try {
    const so = libshoalHandle();
    lib = {
      start: so.func('int sh_start(const char *root, const char *id, _Out_ uint8_t *err)') as RuntimeLib['start'],
      kill: so.func('int sh_kill(const char *root, const char *id, const char *signal, int all, _Out_ uint8_t *err)') as RuntimeLib['kill'],
      del: so.func('int sh_delete(const char *root, const char *id, int force, _Out_ uint8_t *err)') as RuntimeLib['del'],
    };
  } catch {
    lib = null;
  }
  return lib;
}

/** Whether the library offers the calls (else callers use the shoal-runtime command). */
export function runtimeLibAvailable(): boolean {
  return load() !== null;
}

function check(rc: number, err: Buffer): void {
  if (rc === 0) return;
  throw new Error(libshoalMessage(err));
}

export function libStart(root: string, id: string): void {
  const err = Buffer.alloc(ERR_LEN);
  check(load()!.start(root, id, err), err);
}

export function libKill(root: string, id: string, signal: number, all: boolean): void {
  const err = Buffer.alloc(ERR_LEN);
  check(load()!.kill(root, id, String(signal), all ? 1 : 0, err), err);
}

export function libDelete(root: string, id: string, force: boolean): void {
  const err = Buffer.alloc(ERR_LEN);
  check(load()!.del(root, id, force ? 1 : 0, err), err);
}

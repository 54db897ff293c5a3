import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Small readers for the file formats cgroupfs uses. A missing file (cgroup gone, controller not
 * enabled, kernel without the feature) reads as undefined: stats report what exists.
 */

/** The whole file, or undefined when it does not exist (any other error is thrown). */
export function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENODEV: the cgroup was removed while its directory was still open; EINVAL/EOPNOTSUPP: some
    // pressure files refuse reads when PSI is compiled in but disabled.
    if (code === 'ENOENT' || code === 'ENODEV' || code === 'ENOTDIR' || code === 'EINVAL' || code === 'EOPNOTSUPP') return undefined;
    throw err;
  }
}

/** "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control) → map. */
export function parseFlatKeyed(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' ');
    if (sep <= 0) continue;
    const value = line.slice(sep + 1).trim();
    if (!/^\d+$/.test(value)) continue;
    out.set(line.slice(0, sep), BigInt(value));
  }
  return out;
}

/** A file holding one unsigned number; "max" (v2's no-limit) reads as undefined. */
export function parseSingle(text: string): bigint | undefined {
  const value = text.trim();
  if (value === 'max' || !/^\d+$/.test(value)) return undefined;
  return BigInt(value);
}

/** Where file contents come from: `readOptional`, or descriptors kept open (`KeptOpenFiles`). */
export type ReadFile = (path: string) => string | undefined;

/**
 * The values of `keys` only, from a "key value" file: memory.stat has 40-60 lines and a read needs
 * a handful, so each key is looked up by its line start rather than every line being parsed.
 */
export function pickKeyed(text: string, keys: readonly string[]): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const key of keys) {
    const needle = `${key} `;
    let lineStart = 0;
    if (!text.startsWith(needle)) {
      const i = text.indexOf(`\n${needle}`);
      if (i < 0) continue;
      lineStart = i + 1;
    }
    const start = lineStart + needle.length;
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const value = text.slice(start, end).trim();
    if (/^\d+$/.test(value)) out.set(key, BigInt(value));
  }
  return out;
}

export function readFlatKeyed(read: ReadFile, path: string, keys?: readonly string[]): Map<string, bigint> | undefined {
  const text = read(path);
  if (text === undefined) return undefined;
  return keys === undefined ? parseFlatKeyed(text) : pickKeyed(text, keys);
}

/** `readSingle` distinguishes "absent" (undefined) from "max" (null). */
export function readSingle(read: ReadFile, path: string): bigint | null | undefined {
  const text = read(path);
  if (text === undefined) return undefined;
  return parseSingle(text) ?? null;
}

const NEGATIVE_TTL_MS = 30_000;

/**
 * Reads small kernel files through descriptors kept open. Opening and closing dominate the cost
 * of a cgroup read (here ~20 µs against ~2 µs for the read itself), and kernfs regenerates a
 * file's content on every read from offset 0, so a pread at 0 on a kept descriptor is a fresh
 * read. A removed cgroup's descriptors answer ENODEV: they are dropped and the path reopened once
 * (the cgroup may have been made again under the same path). Files missing from an existing
 * cgroup are remembered for a while so absent optional files (swap, PSI) do not cost an open on
 * every read.
 *
 * Every descriptor belongs to an owner (the cgroup it was read for); `retain` closes the ones of
 * owners that are gone.
 */
export class KeptOpenFiles {
  private readonly open = new Map<string, { fd: number; owner: string }>();
  private readonly missing = new Map<string, { until: number; owner: string }>();
  private buf = Buffer.allocUnsafe(16 * 1024);

  read(path: string, owner: string): string | undefined {
    const kept = this.open.get(path);
    if (kept !== undefined) {
      const text = this.pread(kept.fd);
      if (text !== undefined) return text;
      this.drop(path, kept.fd);
    }
    const miss = this.missing.get(path);
    if (miss !== undefined) {
      if (Date.now() < miss.until) return undefined;
      this.missing.delete(path);
    }
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      if (isAbsent(err)) {
        // Only a file missing from an existing cgroup is worth remembering; a missing cgroup may
        // be made any moment (or again, under the same path).
        if (existsSync(dirname(path))) this.missing.set(path, { until: Date.now() + NEGATIVE_TTL_MS, owner });
        return undefined;
      }
      throw err;
    }
    const text = this.pread(fd);
    if (text === undefined) {
      closeSync(fd);
      return undefined;
    }
    this.open.set(path, { fd, owner });
    return text;
  }

  /** Closes the descriptors (and forgets the misses) of owners `alive` rejects. */
  retain(alive: (owner: string) => boolean): void {
    for (const [path, { fd, owner }] of this.open) if (!alive(owner)) this.drop(path, fd);
    for (const [path, { owner }] of this.missing) if (!alive(owner)) this.missing.delete(path);
  }

  closeAll(): void {
    for (const [path, { fd }] of this.open) this.drop(path, fd);
    this.missing.clear();
  }

  get openCount(): number {
    return this.open.size;
  }

  private drop(path: string, fd: number): void {
    this.open.delete(path);
    try {
      closeSync(fd);
    } catch {
      // already invalid: nothing to release
    }
  }

  /** The whole content from offset 0; undefined when the file is gone (ENODEV) or refuses reads. */
  private pread(fd: number): string | undefined {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, this.buf, 0, this.buf.length, 0);
      } catch (err) {
        if (isAbsent(err)) return undefined;
        throw err;
      }
      // A full buffer may mean more: read again, whole, into a bigger one (seq files must be
      // read in one pass to be consistent).
      if (n < this.buf.length) return this.buf.toString('latin1', 0, n);
      this.buf = Buffer.allocUnsafe(this.buf.length * 2);
    }
  }
}

function isAbsent(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENODEV' || code === 'ENOTDIR' || code === 'EINVAL' || code === 'EOPNOTSUPP';
}

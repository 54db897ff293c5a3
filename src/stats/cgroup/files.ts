import { readFileSync } from 'node:fs';

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

export function readFlatKeyed(path: string): Map<string, bigint> | undefined {
  const text = readOptional(path);
  return text === undefined ? undefined : parseFlatKeyed(text);
}

/** `readSingle` distinguishes "absent" (undefined) from "max" (null). */
export function readSingle(path: string): bigint | null | undefined {
  const text = readOptional(path);
  if (text === undefined) return undefined;
  return parseSingle(text) ?? null;
}

import type { ReadFile } from './files';

/** One line of a pressure file: share of time stalled (percent) and the cumulative stall. */
export interface PsiLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** Cumulative stall time in microseconds, as the kernel counts it. */
  totalUs: bigint;
}

/**
 * A cgroup's (or the host's) {cpu,memory,io}.pressure: "some" = at least one task stalled,
 * "full" = all non-idle tasks stalled at once. Older kernels have no "full" line for cpu.
 */
export interface Psi {
  some?: PsiLine;
  full?: PsiLine;
}

/**
 * Parses the kernel's format: `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` (then `full …`).
 * Fields are found by name from each line's start (no splitting: this runs three times per cgroup
 * per stats call).
 */
export function parsePsi(text: string): Psi {
  const out: Psi = {};
  const some = parseLine(text, 'some');
  const full = parseLine(text, 'full');
  if (some) out.some = some;
  if (full) out.full = full;
  return out;
}

function parseLine(text: string, kind: 'some' | 'full'): PsiLine | undefined {
  let start = 0;
  if (!text.startsWith(`${kind} `)) {
    const i = text.indexOf(`\n${kind} `);
    if (i < 0) return undefined;
    start = i + 1;
  }
  let end = text.indexOf('\n', start);
  if (end < 0) end = text.length;
  const line = text.slice(start, end);
  const total = field(line, 'total');
  if (total === undefined || !/^\d+$/.test(total)) return undefined;
  return {
    avg10: Number(field(line, 'avg10') ?? 0),
    avg60: Number(field(line, 'avg60') ?? 0),
    avg300: Number(field(line, 'avg300') ?? 0),
    totalUs: BigInt(total),
  };
}

function field(line: string, name: string): string | undefined {
  const at = line.indexOf(` ${name}=`);
  if (at < 0) return undefined;
  const start = at + name.length + 2;
  const end = line.indexOf(' ', start);
  return line.slice(start, end < 0 ? line.length : end);
}

export function readPsi(read: ReadFile, path: string): Psi | undefined {
  const text = read(path);
  if (text === undefined) return undefined;
  const psi = parsePsi(text);
  return psi.some || psi.full ? psi : undefined;
}

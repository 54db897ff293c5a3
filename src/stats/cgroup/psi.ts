import { readOptional } from './files';

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

/** Parses the kernel's format: `some avg10=0.00 avg60=0.00 avg300=0.00 total=0` (then `full …`). */
export function parsePsi(text: string): Psi {
  const out: Psi = {};
  for (const line of text.split('\n')) {
    const [kind, ...fields] = line.trim().split(/\s+/);
    if (kind !== 'some' && kind !== 'full') continue;
    const values = new Map<string, string>();
    for (const f of fields) {
      const eq = f.indexOf('=');
      if (eq > 0) values.set(f.slice(0, eq), f.slice(eq + 1));
    }
    const total = values.get('total');
    if (total === undefined || !/^\d+$/.test(total)) continue;
    out[kind] = {
      avg10: Number(values.get('avg10') ?? 0),
      avg60: Number(values.get('avg60') ?? 0),
      avg300: Number(values.get('avg300') ?? 0),
      totalUs: BigInt(total),
    };
  }
  return out;
}

export function readPsi(path: string): Psi | undefined {
  const text = readOptional(path);
  if (text === undefined) return undefined;
  const psi = parsePsi(text);
  return psi.some || psi.full ? psi : undefined;
}

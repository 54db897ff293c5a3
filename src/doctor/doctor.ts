import type { Config } from '../config/schema';
import { hostChecks } from './checks';

/** `shoald doctor`: one line per item; exit 1 when something required is missing. */
export function runDoctor(config: Config): number {
  const results = hostChecks(config);
  const width = Math.max(...results.map((r) => r.name.length));
  let requiredMissing = 0;
  for (const r of results) {
    const mark = r.ok ? 'ok     ' : r.required ? 'MISSING' : 'missing';
    const advice = r.ok || !r.fix ? '' : `  → ${r.fix}`;
    process.stdout.write(`${mark} ${r.name.padEnd(width)}  ${r.detail}${advice}\n`);
    if (!r.ok && r.required) requiredMissing++;
  }
  process.stdout.write(requiredMissing === 0 ? 'host is ready for shoal\n' : `${requiredMissing} required item(s) missing\n`);
  return requiredMissing === 0 ? 0 : 1;
}

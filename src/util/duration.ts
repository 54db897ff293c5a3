/** Durations in the config file are written the way operators write them elsewhere ("30s", "4h", "1h30m"). */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number | undefined {
  const whole = /^(\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
  if (!whole.test(text)) return undefined;
  let total = 0;
  for (const part of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(part[1]) * UNIT_MS[part[2]];
  }
  return total;
}

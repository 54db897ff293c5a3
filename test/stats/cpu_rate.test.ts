import { CpuRateTracker } from '../../src/stats/cpu_rate';

const S = 1_000_000_000n;

describe('usage_nano_cores from successive samples', () => {
  test('rate between samples at least a window apart', () => {
    const t = new CpuRateTracker(S);
    expect(t.rate('c', 0n, 10n * S)).toBeUndefined();
    // 1.5 s of CPU over 2 s of wall time = 0.75 core
    expect(t.rate('c', 1_500_000_000n, 12n * S)).toBe(750_000_000n);
  });

  test('a sample too close to the last one answers the last rate and keeps the older base', () => {
    const t = new CpuRateTracker(S);
    t.rate('c', 0n, 0n);
    expect(t.rate('c', 2n * S, 2n * S)).toBe(S);
    expect(t.rate('c', 2n * S + 50_000_000n, 2n * S + 100_000_000n)).toBe(S);
    // next full window measured from the 2 s sample: 0.5 s CPU over 1 s
    expect(t.rate('c', 2n * S + 500_000_000n, 3n * S)).toBe(S / 2n);
  });

  test('before a second sample, the average since start stands in', () => {
    const t = new CpuRateTracker(S);
    // 3 s of CPU over the 4 s since the container started
    expect(t.rate('c', 3n * S, 100n * S, 4n * S)).toBe(750_000_000n);
  });

  test('a counter that goes back starts over', () => {
    const t = new CpuRateTracker(S);
    t.rate('c', 10n * S, 0n);
    expect(t.rate('c', 1n * S, 5n * S)).toBeUndefined();
    expect(t.rate('c', 3n * S, 7n * S)).toBe(S);
  });

  test('retain drops what is gone', () => {
    const t = new CpuRateTracker(S);
    t.rate('a', 0n, 0n);
    t.rate('b', 0n, 0n);
    t.retain(new Set(['a']));
    expect(t.size).toBe(1);
    t.forget('a');
    expect(t.size).toBe(0);
  });
});

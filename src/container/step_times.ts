/**
 * Milliseconds spent in each named step of one operation, for the debug log line the operation
 * ends with (where CreateContainer, StopContainer, RemoveContainer spend their time). A name used
 * twice adds up.
 */
export class StepTimes {
  readonly steps: Record<string, number> = {};
  private mark = process.hrtime.bigint();

  step(name: string): void {
    const now = process.hrtime.bigint();
    this.steps[name] = (this.steps[name] ?? 0) + Math.round(Number(now - this.mark) / 1e3) / 1e3;
    this.mark = now;
  }
}

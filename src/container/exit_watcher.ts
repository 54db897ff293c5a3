import { watch, readFileSync, mkdirSync, type FSWatcher } from 'node:fs';

/** The monitor's exit file (native/monitor: written atomically when the container exits). */
export interface ExitFile {
  exitCode: number;
  signal: number;
  exitedAtNs: string;
  oomKilled: boolean;
}

/** Reads an exit file; undefined while it does not exist (or is not complete JSON). */
export function readExitFile(path: string): ExitFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const j = JSON.parse(text) as { exit_code: number; signal: number; exited_at_ns: string | number; oom_killed: boolean };
    return { exitCode: j.exit_code, signal: j.signal, exitedAtNs: String(j.exited_at_ns), oomKilled: j.oom_killed === true };
  } catch {
    return undefined;
  }
}

/**
 * Watches the exits directory (one inotify watch for every container) and calls `onExit` once
 * per container whose exit file appears. `expect` must be called before the container can exit
 * unobserved; it also checks for a file written before the call.
 */
export class ExitWatcher {
  private watcher: FSWatcher | undefined;
  private readonly waiting = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly fileOf: (id: string) => string,
    private readonly onExit: (id: string, exit: ExitFile) => void,
  ) {}

  start(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.watcher = watch(this.dir, { persistent: false }, (_event, name) => {
      if (name && this.waiting.has(name)) this.check(name);
    });
    this.watcher.on('error', () => {
      // The directory is ours; if the watch breaks, fall back to checking every waiting id.
      for (const id of [...this.waiting]) this.check(id);
    });
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  expect(id: string): void {
    this.waiting.add(id);
    this.check(id);
  }

  forget(id: string): void {
    this.waiting.delete(id);
  }

  /** Checks now (e.g. after a stop signal) rather than waiting for the watch event. */
  check(id: string): boolean {
    if (!this.waiting.has(id)) return false;
    const exit = readExitFile(this.fileOf(id));
    if (!exit) return false;
    this.waiting.delete(id);
    this.onExit(id, exit);
    return true;
  }
}

import { spawn } from 'node:child_process';
import { runProcess, type RunResult } from '../util/process_run';
import { libDelete, libKill, libStart, runtimeLibAvailable } from './runtime_lib';

/** What the runtime reported for a container (`state`), the fields the daemon reads. */
export interface RuntimeState {
  status: string;
  pid: number;
}

export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly result?: RunResult,
  ) {
    super(message);
  }
}

/**
 * shoal-runtime's command line, run with a timeout and its stderr in every error. One instance
 * per daemon, bound to the runtime's state root.
 */
export class RuntimeClient {
  /** start/kill/delete through libshoal (no process) when this is the bundled runtime. */
  private readonly inProcess: boolean;

  constructor(
    readonly binary: string,
    readonly root: string,
    bundled: boolean,
    private readonly timeoutMs = 30_000,
  ) {
    this.inProcess = bundled && runtimeLibAvailable();
  }

  private async run(args: string[], what: string): Promise<RunResult> {
    const result = await runProcess(this.binary, ['--root', this.root, ...args], this.timeoutMs);
    if (result.code !== 0) {
      const said = (result.stderr || result.stdout).trim();
      throw new RuntimeError(`${what}: shoal-runtime ${args[0]} exited ${result.code ?? result.signal}${said ? `: ${said}` : ''}`, result);
    }
    return result;
  }

  async start(id: string): Promise<void> {
    if (this.inProcess) {
      try {
        return libStart(this.root, id);
      } catch (err) {
        throw new RuntimeError(`start container ${id}: ${(err as Error).message}`);
      }
    }
    await this.run(['start', id], `start container ${id}`);
  }

  /** Sends `signal` to the container's process (all its processes with `all`). */
  async kill(id: string, signal: number, all = false): Promise<void> {
    if (this.inProcess) {
      try {
        return libKill(this.root, id, signal, all);
      } catch (err) {
        throw new RuntimeError(`signal ${signal} to container ${id}: ${(err as Error).message}`);
      }
    }
    await this.run(['kill', ...(all ? ['--all'] : []), id, String(signal)], `signal ${signal} to container ${id}`);
  }

  /** Removes the runtime's state (and the container's cgroup); `force` kills what still runs. */
  async delete(id: string, force: boolean): Promise<void> {
    if (this.inProcess) {
      try {
        return libDelete(this.root, id, force);
      } catch (err) {
        if (/does not exist|not found|no such/i.test((err as Error).message)) return;
        throw new RuntimeError(`delete container ${id}: ${(err as Error).message}`);
      }
    }
    try {
      await this.run(['delete', ...(force ? ['--force'] : []), id], `delete container ${id}`);
    } catch (err) {
      // Already gone is what delete wants.
      if (err instanceof RuntimeError && /does not exist|not found|no such/i.test(err.message)) return;
      throw err;
    }
  }

  async state(id: string): Promise<RuntimeState | undefined> {
    try {
      const r = await this.run(['state', id], `state of container ${id}`);
      return JSON.parse(r.stdout) as RuntimeState;
    } catch (err) {
      if (err instanceof RuntimeError && /does not exist|not found|no such/i.test(err.message)) return undefined;
      throw err;
    }
  }

  /** `exec` as a child of the caller (ExecSync), with pipes for stdio. */
  spawnExec(id: string, args: readonly string[], pidFile: string) {
    return spawn(this.binary, ['--root', this.root, 'exec', '--pid-file', pidFile, id, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

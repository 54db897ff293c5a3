import type { Readable } from 'node:stream';
import { spawnProcess, type SpawnedProcess } from '../native/spawn';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** The complete environment; the daemon's own when absent. */
  env?: Readonly<Record<string, string>>;
  /**
   * What the process reads on stdin (/dev/null when absent). A promise holds it back until it
   * resolves; if it rejects, the process is killed unfed and the run rejects with that error once
   * the process is gone.
   */
  input?: string | Promise<string>;
  /** A process group of its own: a timeout then kills what the process started, too. */
  newProcessGroup?: boolean;
  /** How much of stdout and of stderr is kept (64 KiB when absent); the rest is read and dropped. */
  maxCapture?: number;
}

/** The process gave no answer within the timeout and was killed; what it printed until then. */
export class ProcessTimeout extends Error {
  constructor(
    message: string,
    readonly result: RunResult,
  ) {
    super(message);
  }
}

/** The binary could not be started (missing, not executable, out of processes). */
export class ProcessStartError extends Error {}

const DEFAULT_CAPTURE = 64 * 1024;

/**
 * Runs a helper binary (shoal-runtime, a CNI plugin) to completion with a timeout; stdout and
 * stderr are captured (bounded) so a failure can say what the helper said. Resolves once it has
 * exited and closed both pipes, whatever its exit status; rejects with ProcessStartError when it
 * cannot be started, with ProcessTimeout when it had to be killed, or with the input's own rejection.
 */
export async function runProcess(file: string, args: readonly string[], timeoutMs: number, opts: RunOptions = {}): Promise<RunResult> {
  let child: SpawnedProcess;
  try {
    child = spawnProcess(file, args, {
      stdin: opts.input === undefined ? 'null' : 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      env: opts.env,
      newProcessGroup: opts.newProcessGroup,
    });
  } catch (err) {
    // Nothing will read the input now; its rejection must not go unobserved.
    if (opts.input instanceof Promise) opts.input.catch(() => undefined);
    throw new ProcessStartError(`running ${file}: ${(err as Error).message}`);
  }
  const result: RunResult = { code: null, signal: null, stdout: '', stderr: '' };
  const cap = opts.maxCapture ?? DEFAULT_CAPTURE;
  const stdout = capture(child.stdout!, (s) => {
    if (result.stdout.length < cap) result.stdout += s;
  });
  const stderr = capture(child.stderr!, (s) => {
    if (result.stderr.length < cap) result.stderr += s;
  });
  let failure: Error | undefined;
  const stop = (why: Error): void => {
    failure ??= why;
    child.kill('SIGKILL');
    // A grandchild outside the group may still hold the pipes: stop waiting for them.
    child.stdout!.destroy();
    child.stderr!.destroy();
  };
  const timer = setTimeout(() => {
    const said = result.stderr.trim();
    stop(new ProcessTimeout(`${file} ${args.join(' ')}: no answer within ${timeoutMs} ms${said ? `: ${said}` : ''}`, result));
  }, timeoutMs);
  if (opts.input !== undefined) {
    const stdin = child.stdin!;
    Promise.resolve(opts.input).then(
      (text) => stdin.end(text),
      (err: unknown) => {
        stdin.destroy();
        stop(err instanceof Error ? err : new Error(String(err)));
      },
    );
  }
  try {
    const [status] = await Promise.all([child.exited, stdout, stderr]);
    result.code = status.code;
    result.signal = status.signal;
  } finally {
    clearTimeout(timer);
  }
  if (failure) throw failure;
  return result;
}

/** Hands what `stream` says to `take`; settles on close, after a read error too. */
function capture(stream: Readable, take: (s: string) => void): Promise<void> {
  stream.setEncoding('utf8').on('data', take);
  stream.on('error', () => {
    /* a read error ends in 'close' like EOF; the exit status says what happened */
  });
  return new Promise((resolve) => stream.once('close', () => resolve()));
}

import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { deadlineExceeded, internal, CriError } from '../errors';
import { spawnExecutable, type RuntimeExecutable } from '../native/sealed_exe';
import type { SpawnedProcess } from '../native/spawn';
import { killTree } from './process_tree';

/** Each of stdout and stderr is cut here; the rest is read and dropped so the process never blocks. */
export const EXEC_OUTPUT_CAP = 16 * 1024 * 1024;

/** How long a timed-out command's runtime may take to reap it before the runtime is killed too. */
const REAP_WAIT_MS = 2000;

export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

export interface ExecSyncOptions {
  runtime: RuntimeExecutable;
  runtimeRoot: string;
  containerId: string;
  cmd: readonly string[];
  /** 0 means no limit. */
  timeoutMs: number;
  /** Scratch directory for the exec's pid and log files. */
  scratchDir: string;
  signal?: AbortSignal;
}

class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  /** Bytes seen, kept or not: lets the drain see whether anything is still arriving. */
  seen = 0;

  add(chunk: Buffer): void {
    this.seen += chunk.length;
    const room = EXEC_OUTPUT_CAP - this.size;
    if (room <= 0) return;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.chunks.push(part);
    this.size += part.length;
  }

  value(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Reads what the exited process left in its pipes without waiting for their end: a background
 * child that inherited them may keep them open for ever. The event loop polls the pipes every
 * turn, so two turns in a row without new bytes mean the pipe buffers are empty.
 */
async function drain(bufs: CappedBuffer[], closed: () => boolean): Promise<void> {
  let quiet = 0;
  let last = bufs.reduce((n, b) => n + b.seen, 0);
  while (!closed() && quiet < 2) {
    await turn();
    const now = bufs.reduce((n, b) => n + b.seen, 0);
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
}

function runtimeErrors(logFile: string): string[] {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const j = JSON.parse(line) as { level?: string; msg?: string };
      if (j.level === 'error') out.push(j.msg ?? line);
    } catch {
      /* not ours */
    }
  }
  return out;
}

/**
 * Runs a command in a running container through the runtime's `exec` (its namespaces, cgroup and
 * security settings) and returns its output and exit code. On timeout or cancel the command's
 * process tree is killed and DeadlineExceeded is thrown.
 */
export async function execSync(o: ExecSyncOptions): Promise<ExecSyncResult> {
  mkdirSync(o.scratchDir, { recursive: true, mode: 0o700 });
  const tag = randomBytes(6).toString('hex');
  const pidFile = join(o.scratchDir, `exec-${tag}.pid`);
  const logFile = join(o.scratchDir, `exec-${tag}.log`);
  let child: SpawnedProcess;
  try {
    child = spawnExecutable(
      o.runtime,
      ['--root', o.runtimeRoot, '--log', logFile, '--log-format', 'json', 'exec', '--pid-file', pidFile, o.containerId, ...o.cmd],
      { stdin: 'null', stdout: 'pipe', stderr: 'pipe' },
    );
  } catch (e) {
    throw internal(`ExecSync in container ${o.containerId}: running ${o.runtime.path}: ${(e as Error).message}`);
  }
  const out = new CappedBuffer();
  const err = new CappedBuffer();
  let openPipes = 2;
  const onClose = (): void => void openPipes--;
  child.stdout!.on('data', (c: Buffer) => out.add(c)).once('close', onClose);
  child.stderr!.on('data', (c: Buffer) => err.add(c)).once('close', onClose);

  /**
   * Kills the command's process tree and waits until shoal-runtime, its parent, has reaped it and
   * exited: the call must not answer while the process is still there (a `pgrep` in the container
   * finds a zombie too, as critest's ExecSync timeout spec does). Killed together with it, the
   * runtime would leave the zombie to the host's init, to reap whenever it gets to it (1.2 s on
   * this host). Before the command has started (no pid file yet), killing the runtime is enough:
   * its child dies with it.
   */
  const killExec = async (): Promise<void> => {
    let pid = 0;
    try {
      pid = Number(readFileSync(pidFile, 'utf8').trim());
    } catch {
      /* not started yet */
    }
    if (pid > 0) killTree(pid);
    else child.kill('SIGKILL');
    let timer: NodeJS.Timeout | undefined;
    const reaped = await Promise.race([child.exited.then(() => true, () => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), REAP_WAIT_MS)))]);
    clearTimeout(timer);
    if (!reaped) {
      child.kill('SIGKILL');
      await child.exited.catch(() => undefined);
    }
  };

  try {
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let stopping = false;
      const stop = (why: CriError): void => {
        if (stopping) return;
        stopping = true;
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        void killExec().then(() => reject(why));
      };
      if (o.timeoutMs > 0) {
        timer = setTimeout(() => stop(deadlineExceeded(`ExecSync in container ${o.containerId}: ${JSON.stringify(o.cmd)} did not finish within ${o.timeoutMs / 1000} s`)), o.timeoutMs);
      }
      const onAbort = (): void => stop(deadlineExceeded(`ExecSync in container ${o.containerId}: cancelled by the client`));
      o.signal?.addEventListener('abort', onAbort, { once: true });
      child.exited.then(
        (status) => {
          if (stopping) return;
          clearTimeout(timer);
          o.signal?.removeEventListener('abort', onAbort);
          resolve(status);
        },
        (e: unknown) => {
          if (stopping) return;
          clearTimeout(timer);
          o.signal?.removeEventListener('abort', onAbort);
          reject(internal(`ExecSync in container ${o.containerId}: waiting for shoal-runtime: ${(e as Error).message}`));
        },
      );
    });
    await drain([out, err], () => openPipes === 0);
    if (exit.code === null) throw internal(`ExecSync in container ${o.containerId}: shoal-runtime killed by ${exit.signal}`);
    const errors = exit.code !== 0 ? runtimeErrors(logFile) : [];
    if (errors.length > 0) throw internal(`ExecSync in container ${o.containerId}: ${errors.join('; ')}`);
    return { stdout: out.value(), stderr: err.value(), exitCode: exit.code };
  } finally {
    child.stdout?.destroy();
    child.stderr?.destroy();
    rmSync(pidFile, { force: true });
    rmSync(logFile, { force: true });
  }
}

import { once } from 'node:events';
import { spawnProcess, type SpawnedProcess } from '../native/spawn';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const MAX_CAPTURE = 64 * 1024;

/**
 * Runs a helper binary to completion with a timeout; stdout and stderr are captured (bounded) so a
 * failure can say what the helper said. Rejects only when it cannot be run or times out.
 */
export async function runProcess(file: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
  let child: SpawnedProcess;
  try {
    child = spawnProcess(file, args, { stdin: 'null', stdout: 'pipe', stderr: 'pipe' });
  } catch (err) {
    throw new Error(`running ${file}: ${(err as Error).message}`);
  }
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    if (stdout.length < MAX_CAPTURE) stdout += s;
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < MAX_CAPTURE) stderr += s;
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      child.stdout!.destroy();
      child.stderr!.destroy();
      reject(new Error(`${file} ${args.join(' ')}: no answer within ${timeoutMs} ms${stderr ? `: ${stderr.trim()}` : ''}`));
    }, timeoutMs);
  });
  try {
    const [{ code, signal }] = await Promise.race([Promise.all([child.exited, once(child.stdout!, 'close'), once(child.stderr!, 'close')]), timedOut]);
    return { code, signal, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

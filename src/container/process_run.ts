import { spawn, type SpawnOptions } from 'node:child_process';

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
export function runProcess(file: string, args: readonly string[], timeoutMs: number, opts: SpawnOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      if (stdout.length < MAX_CAPTURE) stdout += s;
    });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < MAX_CAPTURE) stderr += s;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} ${args.join(' ')}: no answer within ${timeoutMs} ms${stderr ? `: ${stderr.trim()}` : ''}`));
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`running ${file}: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

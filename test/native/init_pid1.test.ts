/** shoal-init as PID 1 of a fresh PID namespace (util-linux unshare/nsenter put it there). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { procStatFields } from '../../src/util/proc_stat';

const INIT = path.resolve(__dirname, '../../bin/shoal-init');

function childrenOf(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .split(' ')
      .filter((s) => s.trim() !== '')
      .map(Number);
  } catch {
    return [];
  }
}

function state(pid: number): string | undefined {
  return procStatFields(pid)?.[0];
}

async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 20000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** SigCgt of /proc/<pid>/status has SIGTERM (15) and SIGCHLD (17) once the init is ready. */
function initReady(pid: number): boolean {
  try {
    const m = /SigCgt:\s*([0-9a-f]+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m === null) return false;
    const blk = BigInt(`0x${m[1]}`);
    return (blk & (1n << 14n)) !== 0n && (blk & (1n << 16n)) !== 0n;
  } catch {
    return false;
  }
}

interface Pod {
  unshare: ChildProcess;
  init: number;
  exited: Promise<number | null>;
}

/** Starts the init in a new PID namespace; `pods` gets it before anything can fail, for cleanup. */
async function startPodInit(pods: Pod[]): Promise<Pod> {
  const unshare = spawn('unshare', ['--pid', '--fork', '--kill-child', INIT], { stdio: 'ignore' });
  const exited = new Promise<number | null>((res) => unshare.on('exit', (code) => res(code)));
  const pod: Pod = { unshare, init: 0, exited };
  pods.push(pod);
  pod.init = await waitFor('the init to start', () => {
    const kids = childrenOf(unshare.pid ?? 0);
    return kids.length === 1 && initReady(kids[0]) ? kids[0] : undefined;
  }, 10000);
  return pod;
}

describe('shoal-init', () => {
  const pods: Pod[] = [];
  afterEach(() => {
    for (const p of pods.splice(0)) {
      for (const pid of [p.init, p.unshare.pid ?? 0]) {
        if (pid <= 0) continue;
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  });

  test('runs as PID 1 and reaps orphans re-parented to it: no zombie is left', async () => {
    const pod = await startPodInit(pods);
    const nspid = /NSpid:\s*\d+\s+(\d+)/.exec(fs.readFileSync(`/proc/${pod.init}/status`, 'utf8'));
    expect(nspid?.[1]).toBe('1');

    // Each shell backgrounds children and exits at once: they become orphans of the namespace's init.
    for (let i = 0; i < 3; i++) {
      const r = spawnSync('nsenter', ['--target', String(pod.init), '--pid', '--', '/bin/busybox', 'sh', '-c',
        'sleep 0.2 & sleep 0.3 & /bin/busybox true & exit 0'], { stdio: 'ignore' });
      expect(r.status).toBe(0);
    }
    const adopted = childrenOf(pod.init);
    expect(adopted.length).toBeGreaterThan(0);
    await waitFor('every orphan to be reaped', () => (childrenOf(pod.init).length === 0 ? true : undefined));
    expect(adopted.map(state).filter((s) => s === 'Z')).toEqual([]);
    expect(state(pod.init)).toBe('S');
  });

  test('forwards SIGTERM to the processes of its namespace and exits once they are gone', async () => {
    const pod = await startPodInit(pods);
    // A process of the namespace that is not the init's child (like a container's process).
    const worker = spawn('nsenter', ['--target', String(pod.init), '--pid', '--', '/bin/busybox', 'sleep', '1000'], { stdio: 'ignore' });
    const workerDone = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
      worker.on('exit', (code, signal) => res({ code, signal })));
    await waitFor('the worker in the namespace', () => (childrenOf(worker.pid ?? 0).length === 1 ? true : undefined));

    process.kill(pod.init, 'SIGTERM');
    const w = await workerDone;
    // nsenter reports its child's death by SIGTERM by dying of it too (or as 128+15).
    expect(w.signal === 'SIGTERM' || w.code === 143).toBe(true);
    expect(await pod.exited).toBe(0);
  });

  test('SIGUSR1 is passed on and the init keeps running', async () => {
    const pod = await startPodInit(pods);
    const worker = spawn('nsenter', ['--target', String(pod.init), '--pid', '--', '/bin/busybox', 'sleep', '1000'], { stdio: 'ignore' });
    const workerDone = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
      worker.on('exit', (code, signal) => res({ code, signal })));
    await waitFor('the worker in the namespace', () => (childrenOf(worker.pid ?? 0).length === 1 ? true : undefined));
    process.kill(pod.init, 'SIGUSR1');
    const w = await workerDone;
    expect(w.signal === 'SIGUSR1' || w.code === 128 + 10).toBe(true);
    expect(state(pod.init)).toBe('S');
  });
});

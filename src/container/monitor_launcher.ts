import { errorText } from '../errors';
import type { RuntimeExecutable } from '../native/sealed_exe';
import { spawnDetached, type DetachedChild } from '../native/spawn';

export interface MonitorLaunch {
  id: string;
  bundle: string;
  exitFile: string;
  attachSocket: string;
  containerPidFile: string;
  monitorPidFile: string;
  cgroupsPath: string;
  /** "" for no log. */
  logPath: string;
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
}

export interface MonitorStarted {
  pid: number;
  monitorPid: number;
}

/**
 * Starts shoal-monitor (which detaches, runs `shoal-runtime create` and stays as the container's
 * parent) and waits for its one-line report on the sync pipe: the container's pid, or an error.
 */
export class MonitorLauncher {
  constructor(
    private readonly monitorBinary: string,
    private readonly runtime: RuntimeExecutable,
    private readonly runtimeRoot: string,
    private readonly createTimeoutS = 60,
  ) {}

  launch(m: MonitorLaunch): Promise<MonitorStarted> {
    const args = [
      '--runtime-root', this.runtimeRoot,
      '--bundle', m.bundle,
      '--id', m.id,
      '--exit-file', m.exitFile,
      '--attach-socket', m.attachSocket,
      '--container-pid-file', m.containerPidFile,
      '--monitor-pid-file', m.monitorPidFile,
      '--cgroup-path', m.cgroupsPath,
      '--create-timeout', String(this.createTimeoutS),
      '--sync-fd', '3',
    ];
    if (m.logPath !== '') args.push('--log-path', m.logPath);
    if (m.stdin) args.push('--stdin');
    if (m.stdinOnce) args.push('--stdin-once');
    if (m.tty) args.push('--tty');
    return spawnMonitor(this.monitorBinary, this.runtime, args, `container ${m.id}`, (this.createTimeoutS + 10) * 1000);
  }
}

/** The monitor's fd 4 holds the runtime's sealed copy, when there is one. */
const MONITOR_RUNTIME_FD = 4;

/**
 * Starts shoal-monitor (it detaches itself; posix_spawn, see src/native/spawn.ts) and waits for its
 * one-line JSON report on fd 3: the pids, or the error it met. `what` names the operation in every
 * message ("container X", "exec in container X"). Used for containers and for exec sessions alike.
 * The monitor is told to run `runtime` (`--runtime`), from its sealed copy when there is one,
 * handed over as the monitor's fd 4 (`--runtime-fd`); `args` are the rest of its command line.
 */
export function spawnMonitor(binary: string, runtime: RuntimeExecutable, args: string[], what: string, timeoutMs: number): Promise<MonitorStarted> {
  const runtimeArgs = ['--runtime', runtime.path];
  if (runtime.sealedFd !== undefined) runtimeArgs.push('--runtime-fd', String(MONITOR_RUNTIME_FD));
  return new Promise((resolve, reject) => {
    let child: DetachedChild;
    try {
      child = spawnDetached(binary, [...runtimeArgs, ...args], runtime.sealedFd);
    } catch (err) {
      reject(new Error(`${what}: running shoal-monitor: ${errorText(err)}`));
      return;
    }
    const sync = child.fd3;
    let line = '';
    let stderr = '';
    let settled = false;
    const finish = (err: Error | undefined, value?: MonitorStarted): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sync.destroy();
      child.stderr.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(() => finish(new Error(`${what}: shoal-monitor sent no report within ${timeoutMs / 1000} s`)), timeoutMs);
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < 8192) stderr += s;
    });
    child.stderr.on('error', () => undefined); // only what it said matters, and only on failure
    sync.on('error', (err) => finish(new Error(`${what}: reading shoal-monitor's report: ${err.message}`)));
    sync.setEncoding('utf8');
    sync.on('data', (s: string) => {
      line += s;
      const nl = line.indexOf('\n');
      if (nl < 0) return;
      let report: { pid?: number; monitor_pid?: number; error?: string };
      try {
        report = JSON.parse(line.slice(0, nl)) as typeof report;
      } catch {
        return finish(new Error(`${what}: shoal-monitor sent an unreadable report: ${line.slice(0, nl)}`));
      }
      if (report.error !== undefined) return finish(new Error(`${what}: ${report.error}`));
      if (typeof report.pid !== 'number' || typeof report.monitor_pid !== 'number') {
        return finish(new Error(`${what}: shoal-monitor report lacks pids: ${line.slice(0, nl)}`));
      }
      finish(undefined, { pid: report.pid, monitorPid: report.monitor_pid });
    });
    sync.on('end', () => finish(new Error(`${what}: shoal-monitor exited without a report${stderr ? `: ${stderr.trim()}` : ''}`)));
  });
}

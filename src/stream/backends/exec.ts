import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { failedPrecondition } from '../../errors';
import type { ExecRequest } from '../../gen/runtime/v1/api';
import type { ContainerManager } from '../../container/manager';
import { killTree } from '../../container/process_tree';
import type { RemoteSession } from '../session';
import { MonitorSession } from '../monitor_session';
import { bridge } from './bridge';
import { spawnMonitor, type MonitorStarted } from '../../container/monitor_launcher';
import type { RuntimeExecutable } from '../../native/sealed_exe';

/** A unix socket path holds 107 bytes; with a terminal the monitor adds ".cons" beside it. */
const MAX_TTY_SOCKET_PATH = 101;
const START_TIMEOUT_MS = 60_000;

export interface ExecBackendDeps {
  containers: ContainerManager;
  monitorBinary: string;
  runtime: RuntimeExecutable;
}

/**
 * Streaming exec: the command runs in the container through `shoal-runtime exec` under a
 * shoal-monitor in exec mode, which holds its stdio (a pty for tty sessions: Node cannot receive
 * the pty master itself) and serves it on an attach socket. The daemon attaches like for Attach
 * and returns the exit code from the monitor's EXIT frame. A client that goes away gets its
 * command's process tree killed; nothing else is touched.
 */
export async function execInContainer(deps: ExecBackendDeps, req: ExecRequest, session: RemoteSession): Promise<number> {
  const entry = deps.containers.lookup(req.containerId);
  const id = entry.record.id;
  if (entry.record.phase !== 'running') throw failedPrecondition(`container ${id} is not running (${entry.record.phase}): cannot exec in it`);
  const layout = deps.containers.layout;
  const tag = randomBytes(5).toString('hex');
  const dir = join(layout.runFiles(id), `exec-${tag}`);
  const socket = join(layout.socketsDir, `x${tag}.sock`);
  if (socket.length > MAX_TTY_SOCKET_PATH) throw new Error(`exec socket path ${socket} is too long for a unix socket`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let started: MonitorStarted | undefined;
  // The command and its monitor go when the session is over without an exit (client gone).
  const abandon = (): void => {
    if (!started) return;
    killTree(started.pid);
    try {
      process.kill(started.monitorPid, 'SIGKILL');
    } catch {
      /* gone */
    }
    rmSync(socket, { force: true });
  };
  try {
    const processFile = join(dir, 'process.json');
    writeFileSync(processFile, JSON.stringify(execProcess(join(layout.bundle(id), 'config.json'), req)), { mode: 0o600 });
    const args = [
      '--runtime-root', layout.runtimeRoot,
      '--exec-process', processFile,
      '--id', id,
      '--exit-file', join(dir, 'exit.json'),
      '--attach-socket', socket,
      '--cgroup-path', entry.record.cgroupsPath,
      '--sync-fd', '3',
    ];
    if (req.stdin) args.push('--stdin', '--stdin-once');
    if (req.tty) args.push('--tty');
    started = await spawnMonitor(deps.monitorBinary, deps.runtime, args, `exec in container ${id}`, START_TIMEOUT_MS);
    if (session.signal.aborted) {
      abandon();
      return 137;
    }
    const mon = await MonitorSession.connect(socket);
    const exit = await bridge(session, mon, { stdin: req.stdin, tty: req.tty });
    if (exit === undefined) {
      abandon();
      return 137;
    }
    return exit.exit_code;
  } catch (err) {
    abandon();
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The container's own process settings (user, env, cwd, capabilities…) with the exec's command. */
function execProcess(configFile: string, req: ExecRequest): Record<string, unknown> {
  const spec = JSON.parse(readFileSync(configFile, 'utf8')) as { process?: Record<string, unknown> };
  const base = { ...(spec.process ?? {}) };
  delete base.consoleSize;
  const env = Array.isArray(base.env) ? [...(base.env as string[])] : [];
  if (req.tty && !env.some((e) => e.startsWith('TERM='))) env.push('TERM=xterm');
  return { ...base, args: req.cmd, env, terminal: req.tty };
}


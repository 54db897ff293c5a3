import { once } from 'node:events';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { spawnProcess, type SpawnedProcess } from '../native/spawn';

/** What a plugin run gets besides its stdin config (the CNI_* environment). */
export interface PluginInvocation {
  command: 'ADD' | 'DEL' | 'CHECK' | 'VERSION';
  containerId: string;
  netns: string;
  ifName: string;
  /** Already joined "K=V;K=V". */
  args: string;
  binDirs: string[];
  timeoutMs: number;
}

/** A plugin's failure: its CNI error (code/msg/details) or how it died, with its stderr. */
export class PluginError extends Error {
  constructor(
    message: string,
    readonly timedOut = false,
  ) {
    super(message);
  }
}

/** The plugin executable `type` in the first bin dir that has it. */
export function findPlugin(type: string, binDirs: string[]): string {
  if (type.includes('/')) throw new PluginError(`CNI plugin type "${type}" must be a plain name`);
  for (const dir of binDirs) {
    const path = join(dir, type);
    try {
      if (statSync(path).isFile()) return path;
    } catch {
      /* next dir */
    }
  }
  throw new PluginError(`CNI plugin "${type}" not found in ${binDirs.join(', ')}`);
}

/**
 * Runs one plugin with the CNI environment and `config` on stdin, killed after the timeout.
 * Resolves with its stdout parsed as JSON (or undefined when it printed nothing).
 *
 * With `stdinGate`, the config is written only once the gate resolves, and the plugin is killed
 * unstarted if it rejects: a plugin acts on nothing before it has read its config, so its process
 * start overlaps whatever the gate waits for (the sync of the cache entry DEL needs).
 */
export function execPlugin(type: string, config: object, inv: PluginInvocation, stdinGate?: Promise<void>): Promise<unknown> {
  const path = findPlugin(type, inv.binDirs);
  const env: Record<string, string> = {
    CNI_COMMAND: inv.command,
    CNI_CONTAINERID: inv.containerId,
    CNI_NETNS: inv.netns,
    CNI_IFNAME: inv.ifName,
    CNI_ARGS: inv.args,
    CNI_PATH: inv.binDirs.join(':'),
    // Plugins run iptables, ip and the like.
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
  };
  let child: SpawnedProcess;
  try {
    // A group of its own: a timeout kills the plugin together with the iptables or IPAM plugin it
    // is running at that moment.
    child = spawnProcess(path, [], { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', env, newProcessGroup: true });
  } catch (e) {
    return Promise.reject(new PluginError(`CNI plugin ${type} ${inv.command}: cannot run ${path}: ${(e as Error).message}`));
  }
  const stdin = child.stdin!;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => out.push(b));
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  const outputsClosed = Promise.all([once(child.stdout!, 'close'), once(child.stderr!, 'close')]);
  let timedOut = false;
  let gateError: unknown;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
    // A grandchild that escaped the group may still hold the pipes: stop waiting for them.
    child.stdout!.destroy();
    child.stderr!.destroy();
  }, inv.timeoutMs);
  const input = JSON.stringify(config);
  if (!stdinGate) stdin.end(input);
  else {
    stdinGate.then(
      () => stdin.end(input),
      (e: unknown) => {
        gateError = e;
        child.kill('SIGKILL');
        stdin.destroy();
      },
    );
  }
  return Promise.all([child.exited, outputsClosed]).then(
    ([{ code, signal }]) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8').trim();
      const stderr = Buffer.concat(err).toString('utf8').trim();
      const tail = stderr ? ` (stderr: ${stderr.slice(-2000)})` : '';
      if (gateError !== undefined) throw gateError;
      if (timedOut) {
        throw new PluginError(`CNI plugin ${type} ${inv.command} for ${inv.containerId}: no answer within ${inv.timeoutMs} ms, killed${tail}`, true);
      }
      if (code !== 0) {
        throw new PluginError(`CNI plugin ${type} ${inv.command} for ${inv.containerId} failed: ${describeFailure(stdout, code, signal)}${tail}`);
      }
      if (stdout === '') return undefined;
      try {
        return JSON.parse(stdout) as unknown;
      } catch {
        throw new PluginError(`CNI plugin ${type} ${inv.command} for ${inv.containerId}: output is not JSON: ${stdout.slice(0, 500)}`);
      }
    },
    (e: unknown) => {
      clearTimeout(timer);
      throw new PluginError(`CNI plugin ${type} ${inv.command} for ${inv.containerId}: ${(e as Error).message}`);
    },
  );
}

function describeFailure(stdout: string, code: number | null, signal: NodeJS.Signals | null): string {
  try {
    const e = JSON.parse(stdout) as { code?: number; msg?: string; details?: string };
    if (typeof e.msg === 'string') return `${e.msg}${e.details ? `: ${e.details}` : ''} (CNI error ${e.code ?? '?'})`;
  } catch {
    /* not a CNI error object */
  }
  const how = signal ? `killed by ${signal}` : `exit status ${code}`;
  return stdout ? `${how}: ${stdout.slice(0, 500)}` : how;
}

import { join } from 'node:path';
import { statSync } from 'node:fs';
import { ProcessStartError, ProcessTimeout, runProcess } from '../util/process_run';

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
    /** The plugin could not be started at all: it did nothing. */
    readonly notRun = false,
  ) {
    super(message);
  }
}

const PLUGIN_OUTPUT_CAP = 4 * 1024 * 1024;

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
  const input = JSON.stringify(config);
  const tailOf = (stderr: string): string => (stderr.trim() ? ` (stderr: ${stderr.trim().slice(-2000)})` : '');
  // A group of its own: a timeout kills the plugin together with the iptables or IPAM plugin it is
  // running at that moment.
  // Results are small; the cap only keeps a runaway plugin from filling the daemon's memory.
  const options = { env, input: stdinGate ? stdinGate.then(() => input) : input, newProcessGroup: true, maxCapture: PLUGIN_OUTPUT_CAP };
  return runProcess(path, [], inv.timeoutMs, options).then(
    ({ code, signal, stdout: out, stderr }) => {
      const stdout = out.trim();
      if (code !== 0) {
        throw new PluginError(`CNI plugin ${type} ${inv.command} for ${inv.containerId} failed: ${describeFailure(stdout, code, signal)}${tailOf(stderr)}`);
      }
      if (stdout === '') return undefined;
      try {
        return JSON.parse(stdout) as unknown;
      } catch {
        throw new PluginError(`CNI plugin ${type} ${inv.command} for ${inv.containerId}: output is not JSON: ${stdout.slice(0, 500)}`);
      }
    },
    (err: unknown) => {
      if (err instanceof ProcessTimeout) {
        throw new PluginError(`CNI plugin ${type} ${inv.command} for ${inv.containerId}: no answer within ${inv.timeoutMs} ms, killed${tailOf(err.result.stderr)}`, true);
      }
      if (err instanceof ProcessStartError) throw new PluginError(`CNI plugin ${type} ${inv.command}: cannot run ${path}: ${err.message}`, false, true);
      throw err; // the gate's own error: no plugin got its config
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

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { criClient, type CriClient } from './cri_client';
import { killProcessesMentioning, removeCgroupTree, unmountUnder } from './cleanup';

export const REPO = resolve(__dirname, '../..');
export const SHOALD = join(REPO, 'bin/shoald');

/** Inside the cgroup2 VM (test/vm) everything runs 10–15× slower; its runner sets this. */
export const TIMEOUT_SCALE = Number(process.env.SHOAL_VM_TIMEOUT_SCALE ?? '1') || 1;

export interface DaemonOptions {
  /** Extra TOML appended to the generated config (tables other than [metrics], [cni] and [runtime]). */
  configToml?: string;
  /** Extra lines for the [runtime] table (default_cgroup_parent is set by the harness). */
  runtimeToml?: string;
  /** The [cni] table; defaults to an empty conf dir of this daemon's own. */
  cniToml?: string;
  /** Reuse the directories of an earlier daemon (restart tests). */
  reuse?: TestDaemon;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  extraArgs?: string[];
}

export interface TestDaemon {
  readonly dir: string;
  readonly socket: string;
  readonly root: string;
  readonly runDir: string;
  readonly cniConfDir: string;
  readonly configFile: string;
  /** The cgroup parent of this daemon's pods (relative to each hierarchy's root). */
  readonly cgroupParent: string;
  readonly process: ChildProcess;
  readonly client: CriClient;
  /** JSON log lines the daemon wrote on stderr so far. */
  readonly logs: Array<Record<string, unknown>>;
  readonly stderr: () => string;
  /** host:port of /metrics. */
  readonly metricsAddress: string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait: a crash, as far as the daemon can tell. */
  kill(): Promise<void>;
  /** Stops the daemon if running and removes its directories (unless kept for a restart). */
  cleanup(): Promise<void>;
}

/**
 * Starts a real bin/shoald on a private socket, root, run dir and CNI conf dir, and waits until it
 * serves. Each test file gets its own daemon; cleanup() must run in afterAll even when tests fail.
 */
export async function startDaemon(opts: DaemonOptions = {}): Promise<TestDaemon> {
  const dir = opts.reuse?.dir ?? mkdtempSync('/tmp/shoal-test-');
  const socket = join(dir, 'shoal.sock');
  const root = join(dir, 'root');
  const runDir = join(dir, 'run');
  const cniConfDir = join(dir, 'cni');
  mkdirSync(cniConfDir, { recursive: true });
  const configFile = join(dir, 'config.toml');
  const cniToml = opts.cniToml ?? `[cni]\nconf_dir = "${cniConfDir}"\n`;
  const cgroupParent = opts.reuse?.cgroupParent ?? `/shoal-test-${dir.slice(dir.lastIndexOf('-') + 1)}`;
  const runtimeToml = `[runtime]\ndefault_cgroup_parent = "${cgroupParent}"\n${opts.runtimeToml ?? ''}\n`;
  writeFileSync(configFile, `[metrics]\naddress = "127.0.0.1:0"\n${cniToml}\n${runtimeToml}\n${opts.configToml ?? ''}\n`);

  const child = spawn(
    SHOALD,
    ['--config', configFile, '--socket', socket, '--root', root, '--run-dir', runDir, '--log-level', opts.logLevel ?? 'debug', ...(opts.extraArgs ?? [])],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const logs: Array<Record<string, unknown>> = [];
  let stderrText = '';
  let buffered = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderrText += chunk;
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* not a log line (e.g. a fatal message): kept in stderrText */
      }
    }
  });
  let running = true;
  const exited = new Promise<number | null>((res) =>
    child.once('exit', (code) => {
      running = false;
      res(code);
    }),
  );

  const isStarted = (): boolean => logs.some((l) => l.msg === 'shoald started');
  await waitFor(() => isStarted() || !running, 30_000 * TIMEOUT_SCALE, 'shoald to start').catch(() => child.kill('SIGKILL'));
  if (!isStarted()) {
    if (!opts.reuse) {
      // A daemon that got far enough may have pinned namespaces or mounted below dir.
      unmountUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    }
    throw new Error(`shoald did not start: ${stderrText}`);
  }
  const metricsLine = logs.find((l) => l.msg === 'metrics served on /metrics');
  const client = criClient(socket);

  const daemon: TestDaemon = {
    dir,
    socket,
    root,
    runDir,
    cniConfDir,
    configFile,
    cgroupParent,
    process: child,
    client,
    logs,
    stderr: () => stderrText,
    metricsAddress: String(metricsLine?.address ?? ''),
    async stop() {
      client.close();
      if (running) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      client.close();
      if (running) child.kill('SIGKILL');
      await exited;
    },
    async cleanup() {
      if (running) {
        client.close();
        child.kill('SIGKILL');
        await exited;
      }
      // Whatever the daemon started and a failed test did not remove: monitors and containers
      // (their command lines name paths under dir), mounts, cgroups. Only then the files.
      killProcessesMentioning(dir);
      removeCgroupTree(cgroupParent);
      unmountUnder(dir);
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
  return daemon;
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

import { mkdirSync, writeFileSync, readFileSync, openSync, closeSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnExecutable, type RuntimeExecutable } from '../native/sealed_exe';
import type { PodInitLauncher, PodInitRequest } from './pod_init';
import type { PodInitInfo } from './record';
import { isLiveProcess, procStatFields } from '../util/proc_stat';

/** How long one runtime call may take before the pod operation fails. */
const RUNTIME_TIMEOUT_MS = 30_000;

/**
 * The pod init (shoal-init, static) run as a tiny OCI container through shoal-runtime: its rootfs
 * holds nothing but the init, it joins the pod's pinned net/ipc/uts and gets a new PID namespace
 * that the pod's containers then join through /proc/<pid>/ns/pid.
 */
export class RuntimePodInit implements PodInitLauncher {
  constructor(
    private readonly ociRuntime: RuntimeExecutable,
    private readonly initPath: string,
    /** shoal-runtime --root for pod inits (kept apart from the containers' state). */
    private readonly stateRoot: string,
  ) {}

  async start(req: PodInitRequest): Promise<PodInitInfo> {
    const bundle = join(req.dir, 'init');
    const rootfs = join(bundle, 'rootfs');
    mkdirSync(rootfs, { recursive: true, mode: 0o755 });
    writeFileSync(join(rootfs, 'shoal-init'), '', { mode: 0o755 });
    const namespaces: Array<{ type: string; path?: string }> = [{ type: 'pid' }, { type: 'mount' }];
    if (req.namespaces.net) namespaces.push({ type: 'network', path: req.namespaces.net });
    if (req.namespaces.ipc) namespaces.push({ type: 'ipc', path: req.namespaces.ipc });
    if (req.namespaces.uts) namespaces.push({ type: 'uts', path: req.namespaces.uts });
    const spec = {
      ociVersion: '1.0.2',
      process: {
        terminal: false,
        user: { uid: 0, gid: 0 },
        args: ['/shoal-init'],
        env: [],
        cwd: '/',
        capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
        noNewPrivileges: true,
      },
      root: { path: 'rootfs', readonly: true },
      mounts: [{ destination: '/shoal-init', type: 'bind', source: this.initPath, options: ['bind', 'ro'] }],
      linux: { namespaces, cgroupsPath: `${req.cgroupPath}/pod-init`, maskedPaths: [], readonlyPaths: [] },
    };
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
    const pidFile = join(bundle, 'init.pid');
    const runtimeId = req.runtimeId;
    // The init inherits the runtime's stdio: /dev/null, never a pipe the daemon would wait on.
    await this.runtime(['create', '--bundle', bundle, '--pid-file', pidFile, runtimeId]);
    await this.runtime(['start', runtimeId]);
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return { pid, startTime: processStartTime(pid), runtimeId };
  }

  async stop(init: PodInitInfo): Promise<void> {
    await this.runtime(['delete', '--force', init.runtimeId]).catch((err: Error) => {
      if (!/not found|does not exist|no such/i.test(err.message)) throw err;
    });
  }

  /** Whether the init recorded is still the same live process. */
  alive(init: PodInitInfo): boolean {
    return isLiveProcess(init.pid) && processStartTime(init.pid) === init.startTime;
  }

  /**
   * Runs one runtime command. Its stdio are files, not pipes: after `create` the init holds the
   * runtime's stdio, and a pipe would stay open for the life of the pod.
   */
  private async runtime(args: string[], errFile = join(this.stateRoot, `.${args[0]}.${randomBytes(6).toString('hex')}.err`)): Promise<void> {
    mkdirSync(this.stateRoot, { recursive: true, mode: 0o700 });
    const errFd = openSync(errFile, 'w+');
    try {
      const child = spawnExecutable(this.ociRuntime, ['--root', this.stateRoot, ...args], { stdin: 'null', stdout: 'null', stderr: errFd });
      const timer = setTimeout(() => child.kill('SIGKILL'), RUNTIME_TIMEOUT_MS);
      const status = await child.exited.finally(() => clearTimeout(timer));
      const code = status.code ?? status.signal ?? -1;
      if (code !== 0) {
        const stderr = readFileSync(errFile, 'utf8').trim();
        throw new Error(`shoal-runtime ${args[0]} ${args[args.length - 1]}: ${stderr || `exit ${code}`}`);
      }
    } finally {
      closeSync(errFd);
      rmSync(errFile, { force: true });
    }
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks); "" when the process is gone. */
export function processStartTime(pid: number): string {
  return procStatFields(pid)?.[19] ?? '';
}

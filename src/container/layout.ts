import { join } from 'node:path';

const MAX_SOCKET_PATH = 107;
const MIN_SOCKET_ID = 16;

/**
 * Where a container's pieces live. Durable ones under the root (next to the record), volatile
 * ones under the run dir. Socket paths are kept short: a unix socket path has 108 bytes.
 */
export class ContainerLayout {
  constructor(
    private readonly root: string,
    private readonly runDir: string,
  ) {}

  /** `<root>/containers/<id>`: record.json, bundle/config.json, rootfs/, upper/, work/. */
  dir(id: string): string {
    return join(this.root, 'containers', id);
  }
  bundle(id: string): string {
    return join(this.dir(id), 'bundle');
  }
  rootfs(id: string): string {
    return join(this.dir(id), 'rootfs');
  }
  upper(id: string): string {
    return join(this.dir(id), 'upper');
  }
  work(id: string): string {
    return join(this.dir(id), 'work');
  }

  /** The runtime's state root (shoal-runtime --root). */
  get runtimeRoot(): string {
    return join(this.runDir, 'runtime');
  }
  /** Exit files of every container's monitor, one directory so one watch sees them all. */
  get exitsDir(): string {
    return join(this.runDir, 'exits');
  }
  exitFile(id: string): string {
    return join(this.exitsDir, id);
  }
  /** Per-container volatile files: pid files. */
  runFiles(id: string): string {
    return join(this.runDir, 'containers', id);
  }
  containerPidFile(id: string): string {
    return join(this.runFiles(id), 'pid');
  }
  monitorPidFile(id: string): string {
    return join(this.runFiles(id), 'monitor.pid');
  }
  get socketsDir(): string {
    return join(this.runDir, 'a');
  }
  /**
   * The monitor's socket. The id is shortened to fit a unix socket address (107 bytes) when the
   * run dir is long; ids are random, so even the shortest allowed prefix (16 hex digits) is unique.
   */
  attachSocket(id: string): string {
    const room = MAX_SOCKET_PATH - this.socketsDir.length - '/.sock'.length;
    if (room < MIN_SOCKET_ID) throw new Error(`run dir ${this.runDir} is too long for container attach sockets`);
    return join(this.socketsDir, `${id.slice(0, room)}.sock`);
  }
}

import { join } from 'node:path';

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
  attachSocket(id: string): string {
    return join(this.socketsDir, `${id}.sock`);
  }
}

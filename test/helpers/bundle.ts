/**
 * Builds throw-away OCI bundles whose rootfs is Debian's busybox-static, for tests and benchmarks
 * that run a real OCI runtime (shoal-runtime, crun, runc) against a real kernel.
 *
 * Usage:
 *   const b = makeBundle({ args: ['sh', '-c', 'id'] });
 *   b.writeConfig((spec) => { spec.process.user = { uid: 1000, gid: 1000 }; });
 *   ... run the runtime with --bundle b.dir ...
 *   b.cleanup();
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const BUSYBOX = process.env.SHOAL_TEST_BUSYBOX ?? '/bin/busybox';

/** The non-root account every test rootfs carries (uid/gid 1000, "shoal"). */
export const TEST_USER = { name: 'shoal', uid: 1000, gid: 1000, extraGroup: { name: 'extra', gid: 1001 } };

/** The subset of the OCI runtime spec the tests touch; other fields pass through untyped. */
export interface OciSpec {
  ociVersion: string;
  process: {
    terminal?: boolean;
    consoleSize?: { height: number; width: number };
    user: { uid: number; gid: number; umask?: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities?: Partial<Record<'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient', string[]>>;
    rlimits?: { type: string; hard: number; soft: number }[];
    noNewPrivileges?: boolean;
    oomScoreAdj?: number;
    [k: string]: unknown;
  };
  root: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts: { destination: string; type?: string; source?: string; options?: string[] }[];
  hooks?: Record<string, { path: string; args?: string[]; env?: string[]; timeout?: number }[]>;
  annotations?: Record<string, string>;
  linux: {
    namespaces: { type: string; path?: string }[];
    uidMappings?: { containerID: number; hostID: number; size: number }[];
    gidMappings?: { containerID: number; hostID: number; size: number }[];
    devices?: { path: string; type: string; major: number; minor: number; fileMode?: number; uid?: number; gid?: number }[];
    cgroupsPath?: string;
    resources?: Record<string, unknown>;
    sysctl?: Record<string, string>;
    seccomp?: Record<string, unknown>;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    rootfsPropagation?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** Capabilities `runc spec` grants by default. */
export const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

/** A spec close to what `runc spec` writes, with a busybox PATH and `sh` as the default command. */
export function defaultSpec(args: string[] = ['sh']): OciSpec {
  return {
    ociVersion: '1.0.2-dev', // what Debian's runc 1.1 and crun 1.8 accept
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: [...DEFAULT_CAPS],
        effective: [...DEFAULT_CAPS],
        permitted: [...DEFAULT_CAPS],
        ambient: [...DEFAULT_CAPS],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: 'shoal-test',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: [
        '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
        '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

export interface Bundle {
  /** The bundle directory (holds config.json and rootfs/). */
  dir: string;
  rootfs: string;
  spec: OciSpec;
  /** Apply `edit` to the current spec (if given) and write config.json. */
  writeConfig(edit?: (spec: OciSpec) => void): void;
  /** Remove the bundle; safe to call twice. */
  cleanup(): void;
}

export interface BundleOptions {
  args?: string[];
  /** Parent of the temp dir (default os.tmpdir()). */
  parent?: string;
  edit?: (spec: OciSpec) => void;
}

let applets: string[] | undefined;
function busyboxApplets(): string[] {
  applets ??= execFileSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' }).split('\n').filter((l) => l.length > 0);
  return applets;
}

/** Lays out a busybox rootfs: /bin/busybox, one symlink per applet, passwd/group with a non-root user. */
export function buildRootfs(rootfs: string): void {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'home/shoal', 'var', 'run']) {
    fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  }
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  fs.copyFileSync(BUSYBOX, path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  for (const full of busyboxApplets()) {
    const link = path.join(rootfs, full);
    if (full === 'bin/busybox' || fs.existsSync(link)) continue;
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync('/bin/busybox', link);
  }
  const u = TEST_USER;
  fs.writeFileSync(path.join(rootfs, 'etc/passwd'), `root:x:0:0:root:/root:/bin/sh\n${u.name}:x:${u.uid}:${u.gid}:shoal:/home/shoal:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n`);
  fs.writeFileSync(path.join(rootfs, 'etc/group'), `root:x:0:\ntty:x:5:\n${u.name}:x:${u.gid}:\n${u.extraGroup.name}:x:${u.extraGroup.gid}:${u.name}\nnogroup:x:65534:\n`);
  fs.chownSync(path.join(rootfs, 'home/shoal'), u.uid, u.gid);
}

/** Creates a bundle in a fresh temp dir and writes its config.json. */
export function makeBundle(opts: BundleOptions = {}): Bundle {
  const dir = fs.mkdtempSync(path.join(opts.parent ?? os.tmpdir(), 'shoal-bundle-'));
  fs.chmodSync(dir, 0o755);
  const rootfs = path.join(dir, 'rootfs');
  try {
    buildRootfs(rootfs);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const bundle: Bundle = {
    dir,
    rootfs,
    spec: defaultSpec(opts.args),
    writeConfig(edit) {
      if (edit) edit(bundle.spec);
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(bundle.spec, null, 2));
    },
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  bundle.writeConfig(opts.edit);
  return bundle;
}

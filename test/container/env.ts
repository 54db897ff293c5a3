import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { configSchema } from '../../src/config/schema';
import { ImageManager } from '../../src/image/manager';
import { StoreLayout } from '../../src/image/store/layout';
import { closeRegistryConnections } from '../../src/image/registry/client';
import { startDaemon, waitFor, type DaemonOptions, type TestDaemon } from '../helpers/daemon';
import { startRegistry, type TestRegistry } from '../helpers/registry';
import { processesWhere } from '../helpers/cleanup';
import { buildImage, busyboxEntries, pushImage, tarOf, type ImageOptions } from '../helpers/test_images';

/**
 * A container test file's world: a local registry with a busybox image, a shoald on a private
 * directory with that image already in its store, and helpers to make pods and containers.
 */
export interface ContainerEnv {
  registry: TestRegistry;
  daemon: TestDaemon;
  /** The busybox image's reference and id. */
  image: string;
  imageId: string;
  /** Pushes another busybox-based image and pulls it into the daemon's store. */
  addImage(tag: string, options: ImageOptions): Promise<{ ref: string; id: string }>;
  restart(opts?: DaemonOptions): Promise<TestDaemon>;
  cleanup(): Promise<void>;
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nshoal:x:1000:1000::/home/shoal:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n';
const GROUP = 'root:x:0:\nshoal:x:1000:\nextra:x:1001:shoal\nwheel:x:10:shoal\nnogroup:x:65534:\n';

async function busyboxLayer(): Promise<Buffer> {
  return tarOf([
    ...busyboxEntries().filter((e) => e.name !== 'etc/passwd'),
    { name: 'etc/passwd', content: PASSWD },
    { name: 'etc/group', content: GROUP },
    { name: 'home/', type: 'directory' },
    { name: 'home/shoal/', type: 'directory', uid: 1000, gid: 1000 },
    { name: 'root/', type: 'directory', mode: 0o700 },
    { name: 'proc/', type: 'directory' },
    { name: 'sys/', type: 'directory' },
    { name: 'dev/', type: 'directory' },
    { name: 'usr/', type: 'directory' },
    { name: 'usr/bin/', type: 'directory' },
    { name: 'var/', type: 'directory' },
  ]);
}

async function pullInto(daemon: TestDaemon, registryHost: string, ref: string): Promise<string> {
  const config = configSchema.parse({ root: daemon.root, registry: { insecure: [registryHost] } });
  const images = await ImageManager.open({ root: daemon.root, config, log: pino({ level: 'silent' }) }, { collect: false });
  try {
    return (await images.pull(ref, undefined)).id;
  } finally {
    await images.close();
  }
}

export async function containerEnv(opts: DaemonOptions = {}): Promise<ContainerEnv> {
  const registry = await startRegistry();
  const repo = `ctest/busybox-${randomBytes(3).toString('hex')}`;
  const layer = await busyboxLayer();
  const image = buildImage([{ tar: layer, compression: 'gzip' }], { env: ['PATH=/bin:/usr/bin', 'FROM_IMAGE=yes'], cmd: ['/bin/sh'], stopSignal: 'SIGTERM' });
  await pushImage(registry, repo, 'v1', image);
  const registryToml = `[registry]\ninsecure = ["${registry.host}"]\n`;
  let daemon: TestDaemon;
  try {
    daemon = await startDaemon({ ...opts, configToml: `${registryToml}${opts.configToml ?? ''}` });
  } catch (err) {
    await registry.stop();
    throw err;
  }
  const ref = `${registry.host}/${repo}:v1`;
  const env: ContainerEnv = {
    registry,
    daemon,
    image: ref,
    imageId: await pullInto(daemon, registry.host, ref),
    async addImage(tag, options) {
      const img = buildImage([{ tar: layer, compression: 'gzip' }], options);
      await pushImage(registry, repo, tag, img);
      const r = `${registry.host}/${repo}:${tag}`;
      return { ref: r, id: await pullInto(env.daemon, registry.host, r) };
    },
    async restart(more = {}) {
      env.daemon = await startDaemon({ ...opts, ...more, reuse: env.daemon, configToml: `${registryToml}${opts.configToml ?? ''}` });
      return env.daemon;
    },
    async cleanup() {
      closeRegistryConnections();
      await env.daemon.cleanup();
      await registry.stop();
    },
  };
  return env;
}

let counter = 0;

/** A host-network pod (no CNI needed) with its own ipc and uts-less setup, and a log directory. */
export async function runPod(daemon: TestDaemon, extra: Record<string, unknown> = {}, nsOptions: Record<string, string> = {}): Promise<{ id: string; logDir: string; config: Record<string, unknown> }> {
  counter++;
  const suffix = `${process.pid}-${counter}-${randomBytes(2).toString('hex')}`;
  const logDir = join(daemon.dir, 'logs', suffix);
  mkdirSync(logDir, { recursive: true });
  const config = {
    metadata: { name: `pod-${suffix}`, namespace: 'ctest', uid: `uid-${suffix}`, attempt: 0 },
    hostname: `pod-${counter}`,
    log_directory: logDir,
    linux: { security_context: { namespace_options: { network: 'NODE', ipc: 'POD', pid: 'CONTAINER', ...nsOptions } } },
    ...extra,
  };
  const res = await daemon.client.runtime('RunPodSandbox', { config });
  return { id: res.pod_sandbox_id as string, logDir, config };
}

export interface ContainerSpec {
  name?: string;
  command?: string[];
  args?: string[];
  image?: string;
  envs?: Array<{ key: string; value: string }>;
  linux?: Record<string, unknown>;
  mounts?: unknown[];
  devices?: unknown[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  logPath?: string;
  stopSignal?: string;
  workingDir?: string;
  tty?: boolean;
}

/** CreateContainer with kubelet-like defaults; returns the id. */
export async function createContainer(env: ContainerEnv, pod: { id: string; config: Record<string, unknown> }, spec: ContainerSpec = {}): Promise<string> {
  counter++;
  const name = spec.name ?? `c${counter}`;
  const nsOptions = ((pod.config.linux as Record<string, any>)?.security_context?.namespace_options ?? {}) as Record<string, string>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const linux = spec.linux ?? {};
  const sc = (linux.security_context ?? {}) as Record<string, unknown>;
  const config = {
    metadata: { name, attempt: 0 },
    image: { image: spec.image ?? env.image },
    command: spec.command ?? [],
    args: spec.args ?? [],
    working_dir: spec.workingDir ?? '',
    envs: (spec.envs ?? []).map((e) => ({ key: e.key, value: Buffer.from(e.value) })),
    mounts: spec.mounts ?? [],
    devices: spec.devices ?? [],
    labels: spec.labels ?? {},
    annotations: spec.annotations ?? {},
    log_path: spec.logPath ?? `${name}/0.log`,
    tty: spec.tty ?? false,
    stop_signal: spec.stopSignal ?? 'RUNTIME_DEFAULT',
    linux: { ...linux, security_context: { namespace_options: { ...nsOptions }, ...sc } },
  };
  const res = await env.daemon.client.runtime('CreateContainer', { pod_sandbox_id: pod.id, config, sandbox_config: pod.config });
  return res.container_id as string;
}

export async function status(daemon: TestDaemon, id: string, verbose = false): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return daemon.client.runtime('ContainerStatus', { container_id: id, verbose });
}

export async function waitExited(daemon: TestDaemon, id: string, timeoutMs = 20_000): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  let last: Record<string, any> = {}; // eslint-disable-line @typescript-eslint/no-explicit-any
  await waitFor(async () => {
    last = (await status(daemon, id)).status;
    return last.state === 'CONTAINER_EXITED';
  }, timeoutMs, `container ${id} to exit`);
  return last;
}

/** Runs a command to completion in a fresh container and returns its exit code and log. */
export async function runToExit(env: ContainerEnv, pod: { id: string; logDir: string; config: Record<string, unknown> }, spec: ContainerSpec): Promise<{ id: string; exitCode: number; log: string; status: Record<string, any> }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const id = await createContainer(env, pod, spec);
  await env.daemon.client.runtime('StartContainer', { container_id: id });
  const st = await waitExited(env.daemon, id);
  const { readFileSync } = await import('node:fs');
  let log = '';
  try {
    log = readFileSync(st.log_path as string, 'utf8');
  } catch {
    /* no log */
  }
  return { id, exitCode: st.exit_code as number, log, status: st };
}

/** The content lines of a CRI log ("<time> <stream> <P|F> <content>"), full lines joined. */
export function logLines(log: string, stream?: 'stdout' | 'stderr'): string[] {
  const out: string[] = [];
  let partial = '';
  for (const line of log.split('\n')) {
    if (line === '') continue;
    const m = /^(\S+) (stdout|stderr) ([PF]) (.*)$/.exec(line);
    if (!m) continue;
    if (stream && m[2] !== stream) continue;
    partial += m[4];
    if (m[3] === 'F') {
      out.push(partial);
      partial = '';
    }
  }
  return out;
}

export { waitFor };

/** What is left on the host of containers `ids` (all empty = nothing leaked). */
export function containerLeaks(daemon: TestDaemon, ids: string[]): Record<string, string[]> {
  const fs = require('node:fs') as typeof import('node:fs');
  const { readCgroupLayout } = require('../../src/cgroup/layout') as typeof import('../../src/cgroup/layout');
  const mentions = (s: string): boolean => ids.some((id) => s.includes(id));
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(mentions);
  const monitors = processesWhere(mentions).map(String);
  const layout = readCgroupLayout();
  const roots = [...new Set([...Object.values(layout.v1), ...(layout.v2Root ? [layout.v2Root] : [])])];
  const cgroupDirs: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (depth > 6 || !fs.existsSync(dir)) return;
    for (const name of fs.readdirSync(dir)) {
      const p = join(dir, name);
      try {
        if (!fs.statSync(p).isDirectory()) continue;
      } catch {
        continue;
      }
      if (ids.includes(name)) cgroupDirs.push(p);
      walk(p, depth + 1);
    }
  };
  for (const r of roots) walk(join(r, daemon.cgroupParent), 0);
  const listed = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).filter(mentions).map((n) => join(dir, n)) : []);
  return {
    mounts,
    monitors,
    cgroupDirs,
    records: listed(join(daemon.root, 'containers')),
    runtimeState: listed(join(daemon.runDir, 'runtime')),
    exitFiles: listed(join(daemon.runDir, 'exits')),
    sockets: fs.existsSync(join(daemon.runDir, 'a')) ? fs.readdirSync(join(daemon.runDir, 'a')).filter((n) => ids.some((id) => id.startsWith(n.replace(/\.sock$/, '')))) : [],
    runFiles: listed(join(daemon.runDir, 'containers')),
  };
}

/**
 * Everything of the daemon's containers on the host, whoever they belong to: monitor processes,
 * rootfs mounts, container directories, run files and attach sockets. A failed CreateContainer
 * (its id never returned) must leave this as it found it.
 */
export function containersFootprint(daemon: TestDaemon): Record<string, string[]> {
  const fs = require('node:fs') as typeof import('node:fs');
  const monitors = processesWhere((cmd) => cmd.includes('shoal-monitor') && cmd.includes(daemon.runDir)).map(String);
  const list = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);
  return {
    monitors: monitors.sort(),
    mounts: fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(join(daemon.root, 'containers'))).sort(),
    containerDirs: list(join(daemon.root, 'containers')),
    runFiles: list(join(daemon.runDir, 'containers')),
    sockets: list(join(daemon.runDir, 'a')),
  };
}

/**
 * What RemoveContainer leaves to reclaim after it answers — the hold on the image's layers and the
 * discarded directory (record, bundle, writable layer): waits until none of `ids` has either.
 */
export async function waitReclaimed(daemon: TestDaemon, ids: string[]): Promise<void> {
  const holds = new StoreLayout(join(daemon.root, 'images')).holdsDir;
  const removed = join(daemon.root, 'containers-removed');
  const left = (): string[] => ids.filter((id) => existsSync(join(removed, id)) || existsSync(join(holds, `${id}.json`)));
  await waitFor(() => left().length === 0, 20_000, `the layer holds and directories of ${ids.join(', ')} to be reclaimed`);
}

export const NO_CONTAINER_LEAKS = { mounts: [], monitors: [], cgroupDirs: [], records: [], runtimeState: [], exitFiles: [], sockets: [], runFiles: [] };

import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, existsSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Gauge, type Registry } from 'prom-client';
import type { Config } from '../config/schema';
import type { Logger } from '../log';
import {
  NamespaceMode,
  PodSandboxConfig,
  type ContainerStatus,
  type LinuxContainerResources,
  type NamespaceOption,
  type PodSandboxMetadata,
  type RunPodSandboxRequest,
} from '../gen/runtime/v1/api';
import { errorText, failedPrecondition, internal, invalidArgument, CriError } from '../errors';
import { KeyedLock } from '../util/keyed_lock';
import type { PodNetwork } from '../cni/pod_network';
import { cgroupApply, cgroupDestroy, cgroupUpdate } from '../native/libshoal';
import { NamespacePinner, unpinNamespaces, type PinnedKind, type PinResult } from './namespaces';
import { SandboxStore, type SandboxRecord, type SandboxState, type SandboxNamespaces, type PodFiles } from './record';
import { NameReservations, podNameKey } from './names';
import { planSysctls } from './sysctls';
import { podCgroupPath, cgroupExists, podResources } from './pod_cgroup';
import { readCgroupLayout } from '../cgroup/layout';
import { ensurePrivateMount, mountPodShm, unmountAndRemove, mountPoints } from './mounts';
import { effectiveModes, podHostname, capabilityArgs } from './pod_config';
import { podFilePaths, writeResolvConf, writeHostname, writeHosts, copyHostHosts } from './pod_files';
import type { PodInitLauncher } from './pod_init';
import { RuntimePodInit } from './pod_init_runtime';
import { bundledBinary, runtimeExecutable } from '../paths';
import type { RuntimeExecutable } from '../native/sealed_exe';
import { settleable } from '../util/settleable';

/**
 * What the container part registers so pod operations reach the pod's containers. The hooks run
 * while the pod's lock is held (StopPodSandbox, RemovePodSandbox): they must not take it again
 * through `withPodLock` for the same pod.
 */
export interface ContainerHooks {
  /** Force-stops every container of the pod (StopPodSandbox). */
  stopPodContainers(podId: string, reason: string): Promise<void>;
  /** Removes every container of the pod (RemovePodSandbox). */
  removePodContainers(podId: string): Promise<void>;
  /** The pod's container statuses for PodSandboxStatus (evented PLEG); optional. */
  containerStatuses?(podId: string): Promise<ContainerStatus[]>;
}

/** A read-only snapshot of one sandbox, for handlers and the container part. */
export interface Sandbox {
  readonly id: string;
  readonly state: SandboxState;
  readonly createdAt: bigint;
  readonly runtimeHandler: string;
  readonly metadata: PodSandboxMetadata;
  readonly config: PodSandboxConfig;
  /** The effective modes (network, pid, ipc). */
  readonly namespaceOptions: NamespaceOption;
  /** Paths to join; an absent kind means the host's namespace. */
  readonly namespaces: SandboxNamespaces;
  /** Relative to each cgroup hierarchy's root; containers go below it. */
  readonly cgroupPath: string;
  readonly files: PodFiles;
  readonly network: { ip: string; additionalIps: string[] };
  /** The pod's directory under the run dir. */
  readonly dir: string;
  readonly podInitPid: number | undefined;
}

export interface SandboxManagerDeps {
  config: Config;
  log: Logger;
  network: PodNetwork;
  registry?: Registry;
  podInit?: PodInitLauncher;
  /** The OCI runtime the default pod init runs under (the configured one when absent). */
  runtime?: RuntimeExecutable;
}

interface Entry {
  record: SandboxRecord;
  config: PodSandboxConfig;
}

const NO_HOOKS: ContainerHooks = {
  stopPodContainers: async () => undefined,
  removePodContainers: async () => undefined,
};

/**
 * Pod sandboxes: pinned namespaces (no process per pod), the pod cgroup, CNI, and the files the
 * containers bind-mount. Every operation on one pod runs under its key in `locks`; records are on
 * disk before an RPC answers, and `open` reconciles them with what exists after a restart.
 */
export class SandboxManager {
  readonly locks = new KeyedLock();
  private readonly entries = new Map<string, Entry>();
  private readonly names = new NameReservations();
  private readonly pinner = new NamespacePinner();
  private readonly store: SandboxStore;
  private readonly podsDir: string;
  /** How cgroups are mounted does not change while the daemon runs: read once, not per pod. */
  private readonly cgroupLayout = readCgroupLayout();
  private hooks: ContainerHooks = NO_HOOKS;

  private constructor(private readonly deps: SandboxManagerDeps) {
    this.store = new SandboxStore(deps.config.root);
    this.podsDir = join(deps.config.run_dir, 'pods');
    if (deps.registry) {
      const entries = this.entries;
      new Gauge({
        name: 'shoal_pods',
        help: 'Pod sandboxes known to the daemon, by state.',
        labelNames: ['state'],
        registers: [deps.registry],
        collect() {
          const counts: Record<SandboxState, number> = { creating: 0, ready: 0, notready: 0 };
          for (const e of entries.values()) counts[e.record.state]++;
          for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
        },
      });
    }
  }

  /** Loads the records and reconciles them with the host (see `reconcile`). */
  static async open(deps: SandboxManagerDeps): Promise<SandboxManager> {
    const m = new SandboxManager({ ...deps, podInit: deps.podInit ?? defaultPodInit(deps.config, deps.runtime) });
    ensurePrivateMount(m.podsDir);
    await m.reconcile();
    return m;
  }

  setContainerHooks(hooks: ContainerHooks): void {
    this.hooks = hooks;
  }

  /** The hooks' container statuses for a pod (empty when the container part gives none). */
  async containerStatuses(podId: string): Promise<ContainerStatus[]> {
    return this.hooks.containerStatuses ? this.hooks.containerStatuses(podId) : [];
  }

  get(id: string): Sandbox | undefined {
    const e = this.entries.get(id);
    return e && e.record.state !== 'creating' ? view(e) : undefined;
  }

  /** By full id or a unique id prefix; an ambiguous prefix → InvalidArgument. */
  find(idOrPrefix: string): Sandbox | undefined {
    if (idOrPrefix === '') return undefined;
    const exact = this.get(idOrPrefix);
    if (exact) return exact;
    const matches = this.list().filter((s) => s.id.startsWith(idOrPrefix));
    if (matches.length > 1) throw invalidArgument(`pod sandbox id prefix "${idOrPrefix}" matches ${matches.length} sandboxes`);
    return matches[0];
  }

  /** Every sandbox past creation. */
  list(): Sandbox[] {
    return [...this.entries.values()].filter((e) => e.record.state !== 'creating').map(view);
  }

  /** Runs `work` serialized with every other operation on the pod. */
  withPodLock<T>(podId: string, work: () => Promise<T>): Promise<T> {
    return this.locks.run(podId, work);
  }

  async run(req: RunPodSandboxRequest): Promise<string> {
    const config = req.config;
    const md = config?.metadata;
    if (!config || !md) throw invalidArgument('RunPodSandbox: config.metadata is required');
    if (md.name === '' || md.namespace === '' || md.uid === '') {
      throw invalidArgument(`RunPodSandbox: config.metadata needs name, namespace and uid (got name "${md.name}", namespace "${md.namespace}", uid "${md.uid}")`);
    }
    const handler = req.runtimeHandler;
    if (handler !== '' && handler !== this.deps.config.runtime.default_handler) {
      throw invalidArgument(`runtime handler "${handler}" is not configured (known: "", "${this.deps.config.runtime.default_handler}")`);
    }
    const modes = effectiveModes(config);
    const own = { net: modes.network === NamespaceMode.POD, ipc: modes.ipc === NamespaceMode.POD, uts: modes.network === NamespaceMode.POD };
    const sysctls = planSysctls(config.linux?.sysctls ?? {}, own);
    if (modes.pid === NamespaceMode.POD && !this.deps.podInit) {
      throw failedPrecondition(`pod "${md.namespace}/${md.name}": pid namespace mode POD needs the pod init (shoal-init and shoal-runtime), which is not available`);
    }
    const id = randomBytes(32).toString('hex');
    const cgroupPath = podCgroupPath(config.linux?.cgroupParent ?? '', this.deps.config.runtime.default_cgroup_parent, id);
    const nameKey = podNameKey(md);
    this.names.reserve(nameKey, id);
    try {
      return await this.locks.run(id, async () => {
        await this.create(id, config, handler, nameKey, cgroupPath, modes, own, sysctls);
        return id;
      });
    } catch (err) {
      this.names.release(nameKey, id);
      throw err;
    }
  }

  private async create(
    id: string,
    config: PodSandboxConfig,
    handler: string,
    nameKey: string,
    cgroupPath: string,
    modes: NamespaceOption,
    own: Record<PinnedKind, boolean>,
    sysctls: ReturnType<typeof planSysctls>,
  ): Promise<void> {
    const md = config.metadata!;
    const dir = join(this.podsDir, id);
    const shm = own.ipc ? join(dir, 'shm') : '/dev/shm';
    const hostname = podHostname(config, own.uts);
    const record: SandboxRecord = {
      id,
      state: 'creating',
      createdAt: nowNs().toString(),
      runtimeHandler: handler,
      config: Buffer.from(PodSandboxConfig.encode(config).finish()).toString('base64'),
      nameKey,
      dir,
      namespaces: {},
      cgroupPath,
      cgroupCreated: !cgroupExists(cgroupPath, this.cgroupLayout),
      files: podFilePaths(dir, shm),
      network: { ip: '', additionalIps: [] },
      sharedPid: modes.pid === NamespaceMode.POD,
    };
    const entry: Entry = { record, config };
    this.entries.set(id, entry);
    const timings = new StepTimer();
    // The cache sync and the ADD settle before any teardown, which must never race them.
    let inFlight: Promise<unknown> = Promise.resolve();
    try {
      // ADD's first plugin is started first of all, then the CNI cache entry is written (the one
      // write RunPodSandbox syncs, PodNetwork.add): the plugin gets its config only once that entry
      // is on disk and the namespaces are pinned, so its process start and the sync run while the
      // pod directory is made and the namespaces pinned, and the cgroup and files are made while
      // the plugins run.
      const prepared = own.net
        ? this.deps.network.prepare({
            containerId: id,
            netns: join(dir, 'net'),
            podName: md.name,
            podNamespace: md.namespace,
            podUid: md.uid,
            capabilityArgs: capabilityArgs(config),
          })
        : undefined;
      const netns = settleable();
      const adding = prepared
        ? this.deps.network.add(prepared, netns.promise).then(
            (attachment) => {
              timings.done('cni-added');
              return attachment;
            },
            (err: unknown) => {
              throw internal(`pod "${md.namespace}/${md.name}" (${id}): network setup failed: ${errorText(err)}`);
            },
          )
        : Promise.resolve(undefined);
      inFlight = adding.catch(() => undefined);
      timings.done('cni-started');
      let pinned: PinResult;
      try {
        mkdirSync(dir, { mode: 0o711 });
        // The cgroup is named in the pod directory before it is made, so a crash before the record
        // is written still leaves enough for the start-up reconcile to remove it.
        writeFileSync(join(dir, CGROUP_MARKER), JSON.stringify({ path: cgroupPath, created: record.cgroupCreated }));
        this.store.write(record);
        pinned = this.pinner.pin({ dir, kinds: (['net', 'ipc', 'uts'] as const).filter((k) => own[k]), hostname, sysctls });
      } catch (err) {
        netns.reject(err);
        throw err;
      }
      netns.resolve();
      record.namespaces = { ...pinned.paths };
      timings.done('pinned');
      cgroupApply(cgroupPath, podResources(config.linux?.resources, config.linux?.overhead));
      if (own.ipc) mountPodShm(shm);
      writeResolvConf(record.files.resolvConf, config.dnsConfig);
      writeHostname(record.files.hostname, hostname);
      timings.done('cgroup+shm+files');
      // The pod init needs only the pinned namespaces and the pod cgroup, so it starts while the
      // plugins run rather than after them, where its runtime create and start added 6–7 ms to a
      // shared-PID pod's RunPodSandbox (bench/README.md, seventh session).
      const initStarted =
        modes.pid === NamespaceMode.POD && this.deps.podInit
          ? this.deps.podInit.start({ podId: id, runtimeId: podInitId(id), dir, namespaces: record.namespaces, cgroupPath }).then((init) => {
              record.podInit = init;
              timings.done('pod-init');
            })
          : Promise.resolve();
      inFlight = Promise.all([inFlight, initStarted.catch(() => undefined)]);
      const attachment = await adding;
      if (prepared && attachment) {
        this.deps.network.commit(prepared, attachment);
        record.network = { ip: attachment.addresses.primary, additionalIps: attachment.addresses.additional };
        if (pinned.deferredSysctls.length > 0) this.applySysctlsLate(record.namespaces, pinned.deferredSysctls);
        writeHosts(record.files.hosts, hostname, [record.network.ip, ...record.network.additionalIps].filter(Boolean));
      } else {
        copyHostHosts(record.files.hosts);
      }
      await initStarted;
      if (record.podInit) record.namespaces.pid = `/proc/${record.podInit.pid}/ns/pid`;
      record.state = 'ready';
      // On disk (not synced: see SandboxStore.write) before the answer.
      this.store.write(record);
      timings.done('ready');
      this.deps.log.debug({ podId: id, ms: timings.steps }, 'pod sandbox ready');
    } catch (err) {
      await inFlight;
      record.state = 'creating';
      await this.teardown(record).catch((cleanupErr: unknown) => {
        this.deps.log.error({ podId: id, err: errorText(cleanupErr) }, 'cleaning up a failed RunPodSandbox');
      });
      this.entries.delete(id);
      if (err instanceof CriError) throw err;
      throw internal(`RunPodSandbox "${md.namespace}/${md.name}" (${id}): ${errorText(err)}`);
    }
  }

  private applySysctlsLate(namespaces: SandboxNamespaces, writes: ReturnType<typeof planSysctls>): void {
    const { net, ipc, uts } = namespaces;
    this.pinner.enter({ net, ipc, uts }, () => {
      for (const s of writes) {
        try {
          writeFileSync(s.file, s.value);
        } catch (err) {
          throw invalidArgument(`sysctl ${s.name}=${s.value}: ${errorText(err)}`);
        }
      }
    });
  }

  /** Force-stops the containers and releases the network. Unknown id → nothing to do. */
  async stop(idOrPrefix: string): Promise<void> {
    const found = this.find(idOrPrefix);
    if (!found) return;
    await this.locks.run(found.id, async () => {
      const e = this.entries.get(found.id);
      if (!e) return;
      const timings = new StepTimer();
      await this.hooks.stopPodContainers(e.record.id, 'pod sandbox stopped');
      if (e.record.podInit) await this.deps.podInit?.stop(e.record.podInit);
      timings.done('containers');
      await this.deps.network.detach(e.record.id).catch((err: unknown) => {
        throw internal(`StopPodSandbox ${e.record.id}: releasing the network failed: ${errorText(err)}`);
      });
      timings.done('cni');
      if (e.record.state !== 'notready') {
        e.record.state = 'notready';
        this.store.write(e.record);
      }
      this.deps.log.debug({ podId: e.record.id, ms: timings.steps }, 'pod sandbox stopped');
    });
  }

  /** Removes the containers and everything the pod owns. Unknown id → nothing to do. */
  async remove(idOrPrefix: string): Promise<void> {
    const found = this.find(idOrPrefix);
    if (!found) return;
    await this.locks.run(found.id, async () => {
      const e = this.entries.get(found.id);
      if (!e) return;
      const timings = new StepTimer();
      await this.hooks.removePodContainers(e.record.id);
      timings.done('containers');
      await this.teardown(e.record, timings);
      this.deps.log.debug({ podId: e.record.id, ms: timings.steps }, 'pod sandbox removed');
      this.entries.delete(e.record.id);
      this.names.release(e.record.nameKey, e.record.id);
    });
  }

  async updateResources(idOrPrefix: string, resources: LinuxContainerResources | undefined, overhead: LinuxContainerResources | undefined): Promise<void> {
    const found = this.find(idOrPrefix);
    if (!found) throw notFoundPod(idOrPrefix);
    await this.locks.run(found.id, async () => {
      const e = this.entries.get(found.id);
      if (!e) throw notFoundPod(idOrPrefix);
      const linux = e.config.linux;
      const nextResources = resources ?? linux?.resources;
      const nextOverhead = overhead ?? linux?.overhead;
      try {
        cgroupUpdate(e.record.cgroupPath, podResources(nextResources, nextOverhead));
      } catch (err) {
        throw invalidArgument(`UpdatePodSandboxResources ${e.record.id}: ${errorText(err)}`);
      }
      if (linux) {
        linux.resources = nextResources;
        linux.overhead = nextOverhead;
        e.record.config = Buffer.from(PodSandboxConfig.encode(e.config).finish()).toString('base64');
        this.store.write(e.record);
      }
    });
  }

  /** The CNI result cached for the pod, for verbose status. */
  cniResult(id: string): unknown {
    return this.deps.network.cached(id)?.result;
  }

  /**
   * Releases everything a record names, in reverse order of creation; every step is idempotent so
   * this also finishes a teardown a crash interrupted.
   */
  private async teardown(record: SandboxRecord, timings?: StepTimer): Promise<void> {
    const errors: string[] = [];
    const step = async (what: string, fn: () => void | Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        errors.push(`${what}: ${errorText(err)}`);
      }
      timings?.done(what);
    };
    // Also without a recorded init: a crash may have come between starting it and recording it.
    const podInit = record.podInit ?? (record.sharedPid && this.deps.podInit ? { pid: 0, startTime: '', runtimeId: podInitId(record.id) } : undefined);
    if (podInit) await step('stop the pod init', () => this.deps.podInit?.stop(podInit));
    await step('release the network', () => this.deps.network.detach(record.id));
    await step('unmount the pod /dev/shm', () => unmountAndRemove(join(record.dir, 'shm')));
    await step('unpin the namespaces', () => unpinNamespaces(record.dir));
    if (record.cgroupCreated) await step('remove the pod cgroup', () => cgroupDestroy(record.cgroupPath));
    await step('remove the pod directory', () => rmSync(record.dir, { recursive: true, force: true }));
    if (errors.length > 0) {
      // Keep the record so a later RemovePodSandbox (or restart) retries what is left.
      throw internal(`pod sandbox ${record.id}: cleanup incomplete: ${errors.join('; ')}`);
    }
    this.store.remove(record.id);
  }

  /**
   * After a restart: half-made sandboxes (killed mid-RunPodSandbox) are torn down; ready and
   * stopped ones are kept, a ready one whose network namespace is gone (host reboot) turns
   * NOTREADY; CNI attachments and pod directories without a record are released.
   */
  private async reconcile(): Promise<void> {
    const { log } = this.deps;
    const records = this.store.loadAll((file, err) => log.error({ file, err: errorText(err) }, 'unreadable pod sandbox record skipped'));
    const mounts = mountPoints();
    for (const record of records) {
      if (record.state === 'creating') {
        log.warn({ podId: record.id }, 'cleaning up a pod sandbox whose creation was interrupted');
        await this.teardown(record).catch((err: unknown) => log.error({ podId: record.id, err: errorText(err) }, 'cleanup of an interrupted pod sandbox failed'));
        continue;
      }
      const config = PodSandboxConfig.decode(Buffer.from(record.config, 'base64'));
      if (record.state === 'ready' && record.namespaces.net && !mounts.has(record.namespaces.net)) {
        log.warn({ podId: record.id }, 'pod network namespace is gone; marking the sandbox NOTREADY');
        record.state = 'notready';
        this.store.write(record);
      }
      if (record.state === 'ready' && record.podInit && this.deps.podInit && !this.deps.podInit.alive(record.podInit)) {
        // Its PID namespace died with it: the pod's containers can no longer share one.
        log.warn({ podId: record.id, pid: record.podInit.pid }, 'pod init is gone; marking the sandbox NOTREADY');
        record.state = 'notready';
        this.store.write(record);
      }
      this.entries.set(record.id, { record, config });
      this.names.reserve(record.nameKey, record.id);
    }
    for (const id of this.deps.network.cachedIds()) {
      if (this.entries.has(id)) continue;
      await this.deps.network.detach(id).catch((err: unknown) => log.error({ podId: id, err: errorText(err) }, 'releasing an orphaned CNI attachment failed'));
    }
    if (existsSync(this.podsDir)) {
      for (const name of readdirSync(this.podsDir)) {
        if (this.entries.has(name)) continue;
        const dir = join(this.podsDir, name);
        try {
          const cgroup = readCgroupMarker(dir);
          if (cgroup?.created) cgroupDestroy(cgroup.path);
          unmountAndRemove(join(dir, 'shm'));
          unpinNamespaces(dir);
          rmSync(dir, { recursive: true, force: true });
        } catch (err) {
          log.error({ dir, err: errorText(err) }, 'removing an orphaned pod directory failed');
        }
      }
    }
    log.info({ pods: this.entries.size }, 'pod sandboxes loaded');
  }
}

/** The pod init through shoal-runtime when both binaries are installed; else pid POD is refused. */
function defaultPodInit(config: Config, runtime: RuntimeExecutable = { path: runtimeExecutable(config) }): PodInitLauncher | undefined {
  const init = bundledBinary('shoal-init');
  if (!existsSync(runtime.path) || !existsSync(init)) return undefined;
  return new RuntimePodInit(runtime, init, join(config.run_dir, 'pod-init'));
}

/**
 * For the debug log: when each step of an operation finished, in milliseconds since it began
 * (steps overlap, so these are points in time, not durations).
 */
class StepTimer {
  readonly steps: Record<string, number> = {};
  private readonly start = process.hrtime.bigint();

  done(step: string): void {
    this.steps[step] = Math.round(Number(process.hrtime.bigint() - this.start) / 1e4) / 100;
  }
}

/** File in the pod directory naming its cgroup (see `create`). */
const CGROUP_MARKER = 'cgroup.json';

function readCgroupMarker(dir: string): { path: string; created: boolean } | undefined {
  try {
    const m = JSON.parse(readFileSync(join(dir, CGROUP_MARKER), 'utf8')) as { path?: unknown; created?: unknown };
    return typeof m.path === 'string' ? { path: m.path, created: m.created === true } : undefined;
  } catch {
    return undefined;
  }
}

function podInitId(podId: string): string {
  return `pod-${podId}`;
}

function notFoundPod(id: string): CriError {
  return new CriError('NotFound', `pod sandbox "${id}" not found`);
}

function view(e: Entry): Sandbox {
  const r = e.record;
  return {
    id: r.id,
    state: r.state,
    createdAt: BigInt(r.createdAt),
    runtimeHandler: r.runtimeHandler,
    metadata: e.config.metadata!,
    config: e.config,
    namespaceOptions: effectiveModes(e.config),
    namespaces: { ...r.namespaces },
    cgroupPath: r.cgroupPath,
    files: { ...r.files },
    network: { ip: r.network.ip, additionalIps: [...r.network.additionalIps] },
    dir: r.dir,
    podInitPid: r.podInit?.pid,
  };
}

function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

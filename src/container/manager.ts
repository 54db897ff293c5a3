import { randomBytes } from 'node:crypto';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, isAbsolute } from 'node:path';
import type { Registry } from 'prom-client';
import {
  ContainerEventType,
  LinuxContainerResources,
  NamespaceMode,
  type ContainerEventResponse,
  type ContainerFilter,
  type ContainerStatus,
  type CreateContainerRequest,
} from '../gen/runtime/v1/api';
import { CriError, errorText, failedPrecondition, internal, invalidArgument, notFound, unavailable } from '../errors';
import type { Logger } from '../log';
import { KeyedLock } from '../util/keyed_lock';
import { cgroupUpdate } from '../native/libshoal';
import { ContainerMetrics } from './metrics';
import { ContainerEvents, type Subscription } from './events';
import { ExitWatcher, readExitFile, type ExitFile } from './exit_watcher';
import { ContainerLayout } from './layout';
import { MonitorLauncher, type MonitorStarted } from './monitor_launcher';
import { monitorRequest, REQ_REOPEN_LOG } from './monitor_client';
import { ContainerNames } from './names';
import { podSandboxStatusOf, podViewOf, type PodDirectory } from './pod_view';
import { ContainerStore, decodeConfig, decodeResources, encodeConfig, encodeResources, type ContainerRecord } from './record';
import { mountRootfs } from './rootfs';
import { ExitWaiters } from './exit_waiters';
import { StepTimes } from './step_times';
import { Reclaimer } from './reclaimer';
import { isMonitorOf, teardownContainer } from './teardown';
import { verboseInfo } from './status_info';
import { readFileInRoot } from './rootfs_file';
import { RuntimeClient } from './runtime_client';
import { stopSignal } from './signals';
import { reachesNamespaceInit, resendWhenCaught, signalDisposition } from './stop_signal';
import { buildSpec, containerCgroupPath } from './spec/build';
import { containerPidMode } from './spec/namespaces';
import type { HostFacts, ImageDefaults } from './spec/input';
import { ociResources } from './spec/resources';
import { resolveUser } from './spec/user';
import { exitReason, filterEntries, toCriContainer, toCriStatus, type ContainerEntry } from './status';
import { execSync, type ExecSyncResult } from './exec_sync';
import { recoverContainers } from './recovery';
import type { RuntimeExecutable } from '../native/sealed_exe';
import { bundledBinary } from '../paths';

/** The image part's surface the container part uses (ImageManager satisfies it). */
export interface ImageSource {
  resolve(text: string): Promise<{ id: string; config: ImageDefaults }>;
  layerDirs(imageId: string): Promise<string[]>;
  holdLayers(holderId: string, imageId: string): Promise<void>;
  releaseLayers(holderId: string): Promise<void>;
}

export interface ContainerManagerDeps {
  root: string;
  runDir: string;
  log: Logger;
  images: ImageSource;
  pods: PodDirectory;
  /** The OCI runtime; ours comes with a sealed copy to start it from (src/native/sealed_exe.ts). */
  runtime: RuntimeExecutable;
  monitorBinary: string;
  host: HostFacts;
  registry?: Registry;
}

/** How long a SIGKILLed container may take to be reported dead by its monitor. */
const KILL_WAIT_MS = 30_000;

/** Wall-clock nanoseconds with the monotonic clock's resolution (the offset is taken once). */
const WALL_OFFSET_NS = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
export const nowNs = (): string => (WALL_OFFSET_NS + process.hrtime.bigint()).toString();

/**
 * Containers: creation on an overlay rootfs with an OCI spec, lifecycle through shoal-runtime and
 * one shoal-monitor per container, exit observation, status, events, ExecSync and recovery.
 * Every operation on one container runs under its key in `locks`; records are written before an
 * RPC answers and reconciled with the host at start-up.
 */
export class ContainerManager {
  readonly locks = new KeyedLock();
  readonly layout: ContainerLayout;
  readonly events: ContainerEvents;
  private readonly entries = new Map<string, ContainerEntry>();
  private readonly names = new ContainerNames();
  private readonly store: ContainerStore;
  readonly runtime: RuntimeClient;
  private readonly launcher: MonitorLauncher;
  private readonly watcher: ExitWatcher;
  private readonly exitWaiters = new ExitWaiters((id) => this.readExit(id));
  private readonly metrics: ContainerMetrics;
  private readonly reclaimer: Reclaimer;

  private constructor(private readonly deps: ContainerManagerDeps) {
    this.layout = new ContainerLayout(deps.root, deps.runDir);
    this.store = new ContainerStore(deps.root);
    this.runtime = new RuntimeClient(deps.runtime.path, this.layout.runtimeRoot, deps.runtime.path === bundledBinary('shoal-runtime'));
    this.launcher = new MonitorLauncher(deps.monitorBinary, deps.runtime, this.layout.runtimeRoot);
    this.events = new ContainerEvents(deps.registry);
    this.watcher = new ExitWatcher(this.layout.exitsDir, (id) => this.layout.exitFile(id), (id, exit) => this.onExitFile(id, exit));
    this.metrics = new ContainerMetrics(deps.registry, () => [...this.entries.values()].map((e) => e.record), monitorAlive);
    this.reclaimer = new Reclaimer({ releaseLayers: (id) => deps.images.releaseLayers(id), purge: (id) => this.store.purge(id), log: deps.log });
  }

  static async open(deps: ContainerManagerDeps): Promise<ContainerManager> {
    const m = new ContainerManager(deps);
    for (const d of [m.layout.runtimeRoot, m.layout.exitsDir, m.layout.socketsDir, join(deps.runDir, 'containers')]) {
      mkdirSync(d, { recursive: true, mode: 0o700 });
    }
    m.watcher.start();
    // Containers removed before a restart whose hold or bytes were not reclaimed yet.
    for (const id of m.store.discarded()) m.reclaimer.reclaim(id);
    await recoverContainers({
      records: m.store.loadAll((dir, err) => deps.log.warn({ dir, err: errorText(err) }, 'unreadable container record; leaving it alone')),
      log: deps.log,
      adopt: (r) => m.adopt(r),
      teardown: (r) => m.teardown(r),
      exitOf: (id) => m.readExit(id),
      monitorAlive: (r) => monitorAlive(r),
      applyExit: (r, exit, message) => m.applyExit(r.id, exit, message),
    });
    return m;
  }

  close(): void {
    this.watcher.stop();
  }

  // ---- queries ----

  private entry(id: string): ContainerEntry {
    if (id === '') throw invalidArgument('container id is empty');
    const exact = this.entries.get(id);
    if (exact && exact.record.phase !== 'creating') return exact;
    const hits = [...this.entries.values()].filter((e) => e.record.phase !== 'creating' && e.record.id.startsWith(id));
    if (hits.length > 1) throw invalidArgument(`container id prefix "${id}" matches ${hits.length} containers`);
    if (hits.length === 0) throw notFound(`container "${id}" not found`);
    return hits[0];
  }

  /** As `entry`, but undefined for an unknown id: for the calls that are idempotent (stop, remove). */
  private entryIfKnown(id: string): ContainerEntry | undefined {
    try {
      return this.entry(id);
    } catch (err) {
      if (err instanceof CriError && err.kind === 'NotFound') return undefined;
      throw err;
    }
  }

  /** The container for streaming and stats: its record (a copy) and config. */
  lookup(id: string): ContainerEntry {
    const e = this.entry(id);
    return { record: { ...e.record }, config: e.config, resources: e.resources };
  }

  attachSocket(id: string): string {
    return this.layout.attachSocket(this.entry(id).record.id);
  }

  list(filter: ContainerFilter | undefined) {
    return this.listEntries(filter).map(toCriContainer);
  }

  listEntries(filter: ContainerFilter | undefined): ContainerEntry[] {
    return filterEntries([...this.entries.values()], filter);
  }

  async status(id: string, verbose: boolean): Promise<{ status: ContainerStatus; info: Record<string, string> }> {
    const e = this.entry(id);
    return { status: toCriStatus(e), info: verbose ? { info: await verboseInfo(this.layout, this.runtime, e) } : {} };
  }

  /** Statuses of every container of a pod (PodSandboxStatus and events). */
  podStatuses(podId: string): ContainerStatus[] {
    return [...this.entries.values()].filter((e) => e.record.podId === podId && e.record.phase !== 'creating').map(toCriStatus);
  }

  // ---- create ----

  async create(req: CreateContainerRequest): Promise<string> {
    const config = req.config;
    const md = config?.metadata;
    if (!config || !md || md.name === '') throw invalidArgument('CreateContainer: config.metadata.name is required');
    if (req.podSandboxId === '') throw invalidArgument('CreateContainer: pod_sandbox_id is empty');
    const sandbox = this.deps.pods.get(req.podSandboxId);
    if (!sandbox) throw notFound(`pod sandbox "${req.podSandboxId}" not found`);
    if (sandbox.state !== 'ready') throw failedPrecondition(`pod sandbox ${sandbox.id} is not ready (state ${sandbox.state}): no new containers`);
    const imageName = config.image?.image ?? '';
    if (imageName === '') throw invalidArgument('CreateContainer: config.image.image is empty');
    const image = await this.deps.images.resolve(imageName);

    const id = randomBytes(32).toString('hex');
    const nameKey = ContainerNames.key(sandbox.id, md.name, md.attempt);
    this.names.reserve(nameKey, id);
    const pod = podViewOf(sandbox);
    const logPath = pod.logDirectory !== '' && config.logPath !== '' ? join(pod.logDirectory, config.logPath) : '';
    if (logPath !== '' && !isAbsolute(logPath)) {
      this.names.release(nameKey, id);
      throw invalidArgument(`log path ${logPath} (log_directory + log_path) is not absolute`);
    }
    const record: ContainerRecord = {
      id,
      podId: sandbox.id,
      phase: 'creating',
      config: encodeConfig(config),
      imageName,
      imageId: image.id,
      createdAt: nowNs(),
      startedAt: '0',
      logPath,
      user: { uid: 0, gid: 0, additionalGids: [] },
      stopSignal: stopSignal(config.stopSignal, image.config.StopSignal),
      cgroupsPath: containerCgroupPath(pod.cgroupParent, id),
      resources: encodeResources(config.linux?.resources),
    };
    const entry: ContainerEntry = { record, config, resources: config.linux?.resources ?? LinuxContainerResources.fromPartial({}) };
    this.entries.set(id, entry);
    try {
      await this.locks.run(id, async () => {
        try {
          await this.createLocked(entry, pod, image);
        } catch (err) {
          await this.teardown(record).catch((e: unknown) => this.deps.log.error({ id, err: errorText(e) }, 'cleaning up a failed CreateContainer'));
          throw err;
        }
      });
    } catch (err) {
      this.entries.delete(id);
      this.names.release(nameKey, id);
      throw err;
    }
    this.publish(entry, ContainerEventType.CONTAINER_CREATED_EVENT);
    return id;
  }

  private async createLocked(entry: ContainerEntry, pod: ReturnType<typeof podViewOf>, image: { id: string; config: ImageDefaults }): Promise<void> {
    const id = entry.record.id;
    const t = new StepTimes();
    // The directory alone marks the container for a restart (RecordStore.loadAll: a directory
    // without a record is torn down by its id): the record is written once there is a container.
    mkdirSync(this.layout.dir(id), { recursive: true, mode: 0o700 });
    t.step('dir');
    // The layer hold (a durable write on the image side) is made while the rootfs is mounted and
    // the monitor launched. The image record names the layers meanwhile; an image removed in
    // between fails the hold, and with it the create. One removed, collected and pulled again
    // within that time would leave the hold good but the mount on the deleted directories: the
    // lower directories' identities, taken before the mount, are checked once the hold is made.
    const lowers = await this.deps.images.layerDirs(image.id);
    const lowerIds = dirIdentities(lowers);
    t.step('layers');
    const held = this.deps.images.holdLayers(id, image.id);
    held.catch(() => undefined); // a failure meanwhile is met by the await below, not unhandled
    try {
      const started = await this.launchLocked(entry, pod, image, lowers, t);
      await held;
      if (dirIdentities(lowers) !== lowerIds) throw unavailable(`CreateContainer ${id}: the layers of image ${image.id} were replaced while the container was being created; retry`);
      t.step('hold');
      const record = entry.record;
      record.pid = started.pid;
      record.monitorPid = started.monitorPid;
      record.phase = 'created';
      await this.store.write(record, false);
      t.step('record');
    } catch (err) {
      // The teardown that follows releases the hold: it must come after it.
      await held.catch(() => undefined);
      throw err;
    }
    this.watcher.expect(id);
    this.deps.log.debug({ id, steps: t.steps }, 'container created');
  }

  /** Mounts the rootfs, writes the bundle and launches the monitor (`create`): the container's pids. */
  private async launchLocked(entry: ContainerEntry, pod: ReturnType<typeof podViewOf>, image: { id: string; config: ImageDefaults }, lowers: string[], t: StepTimes) {
    const { record, config } = entry;
    const id = record.id;
    const L = this.layout;
    const step = (name: string): void => t.step(name);
    mountRootfs(L.rootfs(id), lowers, L.upper(id), L.work(id));
    step('mount');
    const rootfs = L.rootfs(id);
    const sc = config.linux?.securityContext;
    const user = resolveUser(sc, image.config.User, { passwd: readFileInRoot(rootfs, '/etc/passwd'), group: readFileInRoot(rootfs, '/etc/group') });
    record.user = user;

    let targetPid: number | undefined;
    if (sc?.namespaceOptions?.pid === NamespaceMode.TARGET) {
      const target = this.entries.get(sc.namespaceOptions.targetId);
      if (!target || target.record.podId !== record.podId) {
        throw invalidArgument(`namespace_options.target_id: container "${sc.namespaceOptions.targetId}" not found in pod ${record.podId}`);
      }
      if (target.record.phase !== 'running') throw failedPrecondition(`namespace_options.target_id: container ${target.record.id} is not running`);
      targetPid = target.record.pid;
    }
    const spec = buildSpec({ id, config, pod, image: image.config, rootfs, user, targetPid, host: this.deps.host });
    record.ownPidNamespace = containerPidMode(sc?.namespaceOptions, pod) === NamespaceMode.CONTAINER;
    mkdirSync(L.bundle(id), { recursive: true, mode: 0o700 });
    writeFileSync(join(L.bundle(id), 'config.json'), JSON.stringify(spec));
    mkdirSync(L.runFiles(id), { recursive: true, mode: 0o700 });
    if (record.logPath !== '') mkdirSync(dirname(record.logPath), { recursive: true, mode: 0o755 });
    step('spec');

    const started: MonitorStarted = await this.launcher.launch({
      id,
      bundle: L.bundle(id),
      exitFile: L.exitFile(id),
      attachSocket: L.attachSocket(id),
      containerPidFile: L.containerPidFile(id),
      monitorPidFile: L.monitorPidFile(id),
      cgroupsPath: record.cgroupsPath,
      logPath: record.logPath,
      stdin: config.stdin,
      stdinOnce: config.stdinOnce,
      tty: config.tty,
    });
    step('monitor');
    return started;
  }

  /** Re-registers a recovered record (restart): in memory, its name, and the exit watch. */
  private adopt(record: ContainerRecord): void {
    const config = decodeConfig(record.config);
    this.entries.set(record.id, { record, config, resources: decodeResources(record.resources) });
    const md = config.metadata;
    if (md) this.names.reserve(ContainerNames.key(record.podId, md.name, md.attempt), record.id);
    if (record.phase === 'created' || record.phase === 'running') this.watcher.expect(record.id);
  }

  // ---- start / stop ----

  async start(id: string): Promise<void> {
    const e = this.entry(id);
    await this.locks.run(e.record.id, async () => {
      const r = e.record;
      if (r.phase !== 'created') throw failedPrecondition(`container ${r.id} is ${r.phase}, not created: it cannot be started`);
      // The process may run (and even exit) before start answers: the time is taken before.
      const startedAt = nowNs();
      try {
        await this.runtime.start(r.id);
      } catch (err) {
        throw internal(`StartContainer ${r.id}: ${errorText(err)}`);
      }
      r.startedAt = startedAt;
      // An exit seen meanwhile is applied after this, on the same lock.
      r.phase = 'running';
      await this.store.write(r, false);
      this.publish(e, ContainerEventType.CONTAINER_STARTED_EVENT);
    });
  }

  /**
   * Signals the stop signal, SIGKILL after `timeoutS` (0: at once), and waits for the exit. An
   * unknown container counts as stopped: the call is idempotent, as kubelet and critest expect.
   */
  async stop(id: string, timeoutS: number): Promise<void> {
    const e = this.entryIfKnown(id);
    if (e) await this.locks.run(e.record.id, () => this.stopLocked(e, timeoutS));
  }

  private async stopLocked(e: ContainerEntry, timeoutS: number): Promise<void> {
    const r = e.record;
    if (r.phase !== 'running' && r.phase !== 'created') return;
    if (this.watcher.check(r.id) || (r.phase as string) === 'exited') return;
    // In a PID namespace of its own the process is the namespace's init: the kernel takes every
    // other process of it along, and spares it the signals it has no handler for.
    const ownPidNamespace = r.ownPidNamespace ?? (e.config.linux?.securityContext?.namespaceOptions?.pid ?? NamespaceMode.CONTAINER) === NamespaceMode.CONTAINER;
    if (timeoutS > 0) {
      const init = ownPidNamespace && r.phase === 'running' ? r.pid : undefined;
      const lost = init !== undefined && !reachesNamespaceInit(signalDisposition(init, r.stopSignal));
      await this.signal(r, r.stopSignal, false);
      const stopResending = lost ? resendWhenCaught(init, r.stopSignal, () => this.signal(r, r.stopSignal, false)) : undefined;
      const exit = await this.exitWaiters.wait(r.id, timeoutS * 1000);
      await stopResending?.();
      if (exit) return this.applyExit(r.id, exit);
    }
    const t = new StepTimes();
    // Shared with the pod, the host or another container, each process of the cgroup is signalled.
    await this.signal(r, 9, !ownPidNamespace);
    t.step('kill');
    const exit = await this.exitWaiters.wait(r.id, KILL_WAIT_MS);
    t.step('exit');
    if (!exit) throw internal(`StopContainer ${r.id}: still running ${KILL_WAIT_MS / 1000} s after SIGKILL`);
    await this.applyExit(r.id, exit);
    t.step('record');
    this.deps.log.debug({ id: r.id, steps: t.steps }, 'container killed');
  }

  private async signal(r: ContainerRecord, signal: number, all: boolean): Promise<void> {
    try {
      await this.runtime.kill(r.id, signal, all);
    } catch (err) {
      // The process may be gone already; the exit file says so, else the failure stands.
      if (this.readExit(r.id)) return;
      throw internal(`StopContainer ${r.id}: ${errorText(err)}`);
    }
  }

  private readExit(id: string): ExitFile | undefined {
    return readExitFile(this.layout.exitFile(id));
  }

  private onExitFile(id: string, exit: ExitFile): void {
    this.exitWaiters.notify(id, exit);
    void this.locks.run(id, () => this.applyExit(id, exit)).catch((err: unknown) => this.deps.log.error({ id, err: errorText(err) }, 'recording a container exit'));
  }

  /** Records the exit once (idempotent): EXITED with code, time and reason; STOPPED event. */
  private async applyExit(id: string, exit: ExitFile, message = ''): Promise<void> {
    const e = this.entries.get(id);
    if (!e) return;
    const r = e.record;
    if (r.phase !== 'created' && r.phase !== 'running') return;
    this.watcher.forget(id);
    r.phase = 'exited';
    r.exit = {
      exitCode: exit.exitCode,
      signal: exit.signal,
      // The monitor's clock reading, never before the start the daemon recorded.
      finishedAt: maxNs(exit.exitedAtNs !== '0' ? exit.exitedAtNs : nowNs(), r.startedAt),
      oomKilled: exit.oomKilled,
      reason: exitReason(exit.exitCode, exit.oomKilled),
      message,
    };
    if (exit.oomKilled) this.metrics.oomKilled();
    await this.store.write(r);
    this.publish(e, ContainerEventType.CONTAINER_STOPPED_EVENT);
  }

  // ---- remove ----

  async remove(id: string): Promise<void> {
    const e = this.entryIfKnown(id);
    if (e) await this.removeEntry(e);
  }

  /** Removal of a known entry, whatever its phase (one still being created is waited for). */
  private async removeEntry(e: ContainerEntry): Promise<void> {
    await this.locks.run(e.record.id, async () => {
      if (this.entries.get(e.record.id) !== e) return;
      const t = new StepTimes();
      await this.stopLocked(e, 0);
      t.step('stop');
      const r = e.record;
      r.phase = 'removing';
      await this.store.write(r, false);
      t.step('record');
      await this.teardown(r, t);
      this.deps.log.debug({ id: r.id, steps: t.steps }, 'container removed');
      this.entries.delete(r.id);
      const md = e.config.metadata;
      if (md) this.names.release(ContainerNames.key(r.podId, md.name, md.attempt), r.id);
      this.publish(e, ContainerEventType.CONTAINER_DELETED_EVENT);
    });
  }

  private async teardown(r: ContainerRecord, t?: StepTimes): Promise<void> {
    this.watcher.forget(r.id);
    await teardownContainer({ layout: this.layout, runtime: this.runtime, store: this.store }, r, t);
    this.reclaimer.reclaim(r.id);
  }

  // ---- pod hooks ----

  /**
   * Force-stops every container of the pod. Containers still being created are included: their
   * stop queues behind the create on the container's lock.
   */
  async stopPodContainers(podId: string): Promise<void> {
    const mine = [...this.entries.values()].filter((e) => e.record.podId === podId);
    await Promise.all(mine.map((e) => this.locks.run(e.record.id, () => (this.entries.get(e.record.id) === e ? this.stopLocked(e, 0) : Promise.resolve()))));
  }

  async removePodContainers(podId: string): Promise<void> {
    const mine = [...this.entries.values()].filter((e) => e.record.podId === podId);
    await Promise.all(mine.map((e) => this.removeEntry(e)));
  }

  // ---- resources, logs, exec ----

  async updateResources(id: string, resources: LinuxContainerResources | undefined): Promise<void> {
    const e = this.entry(id);
    if (!resources) return;
    const oci = ociResources(resources);
    await this.locks.run(e.record.id, async () => {
      const r = e.record;
      if (r.phase !== 'created' && r.phase !== 'running') throw failedPrecondition(`container ${r.id} is ${r.phase}: resources can only change while it exists`);
      try {
        cgroupUpdate(r.cgroupsPath, oci as Record<string, unknown>);
      } catch (err) {
        throw invalidArgument(`UpdateContainerResources ${r.id}: ${errorText(err)}`);
      }
      e.resources = resources;
      r.resources = encodeResources(resources);
      await this.store.write(r);
    });
  }

  async reopenLog(id: string): Promise<void> {
    const e = this.entry(id);
    if (e.record.phase !== 'running') throw failedPrecondition(`container ${e.record.id} is not running: its log cannot be reopened`);
    try {
      await monitorRequest(this.layout.attachSocket(e.record.id), REQ_REOPEN_LOG);
    } catch (err) {
      throw internal(`ReopenContainerLog ${e.record.id}: ${errorText(err)}`);
    }
  }

  async execSync(id: string, cmd: string[], timeoutS: number, signal?: AbortSignal): Promise<ExecSyncResult> {
    const e = this.entry(id);
    if (cmd.length === 0) throw invalidArgument('ExecSync: cmd is empty');
    if (e.record.phase !== 'running') throw failedPrecondition(`container ${e.record.id} is not running (${e.record.phase}): cannot exec in it`);
    return this.metrics.timeExecSync(() =>
      execSync({
        runtime: this.deps.runtime,
        runtimeRoot: this.layout.runtimeRoot,
        containerId: e.record.id,
        cmd,
        timeoutMs: timeoutS * 1000,
        scratchDir: this.layout.runFiles(e.record.id),
        signal,
      }),
    );
  }

  // ---- events ----

  subscribe(): Subscription {
    return this.events.subscribe();
  }

  private publish(e: ContainerEntry, type: ContainerEventType): void {
    if (this.events.subscriberCount === 0) return;
    const sandbox = this.deps.pods.get(e.record.podId);
    const event: ContainerEventResponse = {
      containerId: e.record.id,
      containerEventType: type,
      createdAt: BigInt(nowNs()),
      podSandboxStatus: sandbox ? podSandboxStatusOf(sandbox) : undefined,
      containersStatuses: this.podStatuses(e.record.podId),
    };
    this.events.publish(event, ContainerEventType[type]);
  }
}

const maxNs = (a: string, b: string): string => (BigInt(a) >= BigInt(b) ? a : b);

function monitorAlive(r: ContainerRecord): boolean {
  return r.monitorPid !== undefined && isMonitorOf(r.monitorPid, r.id);
}

/** Which directories these paths are now (device and inode), "" for one that is gone. */
function dirIdentities(dirs: readonly string[]): string {
  return dirs
    .map((d) => {
      const st = statSync(d, { throwIfNoEntry: false });
      return st ? `${st.dev}:${st.ino}` : '';
    })
    .join(',');
}

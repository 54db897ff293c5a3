import { mkdirSync, chmodSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Server as HttpServer } from 'node:http';
import type { Config } from '../config/schema';
import type { Logger } from '../log';
import { Metrics } from '../metrics/metrics';
import { serveMetrics } from '../metrics/http';
import { CriServer } from '../server/grpc';
import { runtimeHandlers } from '../server/runtime_service';
import { RuntimeServiceService, ImageServiceService, type RuntimeServiceServer, type ImageServiceServer } from '../gen/runtime/v1/api';
import { NetworkConfigWatcher } from '../cni/network_config';
import { PodNetwork } from '../cni/pod_network';
import { CniResultCache } from '../cni/cache';
import { SandboxManager } from '../sandbox/manager';
import { sandboxHandlers } from '../server/sandbox_handlers';
import { createStatsService } from '../stats';
import { ManagedStatsSource } from '../server/stats/source';
import { statsHandlers } from '../server/stats_handlers';
import { containerStatsViews } from '../server/stats/container_views';
import { ImageManager } from '../image/manager';
import { imageHandlers } from '../server/image_service';
import { ContainerManager } from '../container/manager';
import { readHostFacts } from '../container/host_facts';
import { containerHandlers } from '../server/container_handlers';
import { bundledBinary, PACKAGE_VERSION, runtimeExecutable } from '../paths';
import { sealedCopy, type RuntimeExecutable } from '../native/sealed_exe';
import { errorText } from '../errors';
import { StreamServer } from '../stream/server';
import { daemonBackends } from '../stream/backends';
import { streamHandlers } from '../server/stream_handlers';
import { RuntimeConfigStore } from './runtime_config_store';
import { PidLock } from './lock';

/** How long in-flight calls may run after SIGTERM before they are cut. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface RunningDaemon {
  stop(): Promise<void>;
}

/**
 * The composition root: builds every part from the config and hands each its dependencies.
 * Nothing here owns containers: stopping the daemon leaves them running under their monitors.
 */
export async function startDaemon(config: Config, configSource: string, log: Logger): Promise<RunningDaemon> {
  if (config.runtime.cgroup_driver === 'systemd') {
    throw new Error('config runtime.cgroup_driver: "systemd" is not supported yet; use "cgroupfs"');
  }
  prepareDir(config.root, 0o700);
  prepareDir(config.run_dir, 0o711);
  mkdirSync(dirname(config.socket), { recursive: true, mode: 0o711 });

  const locks: PidLock[] = [];
  const releaseLocks = (): void => locks.splice(0).forEach((l) => l.release());
  try {
    locks.push(PidLock.acquire(join(config.root, 'shoald.lock'), `root ${config.root}`));
    locks.push(PidLock.acquire(`${config.socket}.lock`, `socket ${config.socket}`));
  } catch (err) {
    releaseLocks();
    throw err;
  }

  const metrics = new Metrics();
  const server = new CriServer({ log, metrics, maxMessageBytes: config.grpc_max_message_bytes });
  let metricsServer: HttpServer | undefined;
  let streamServer: StreamServer | undefined;
  let streamBackends: ReturnType<typeof daemonBackends> | undefined;
  let images: ImageManager | undefined;
  const runtime = runtimeToRun(runtimeExecutable(config), log);
  try {
    const network = new NetworkConfigWatcher(config.cni.conf_dir, config.cni.bin_dirs);
    const podNetwork = new PodNetwork(network, config.cni.bin_dirs, config.cni.plugin_timeout, new CniResultCache(join(config.root, 'cni')), metrics.registry);
    const sandboxes = await SandboxManager.open({ config, log, network: podNetwork, registry: metrics.registry, runtime });
    const statsSource = new ManagedStatsSource(sandboxes);
    images = await ImageManager.open({ root: config.root, config, log, metrics });
    const containers = await ContainerManager.open({
      root: config.root,
      runDir: config.run_dir,
      log,
      images,
      pods: sandboxes,
      runtime,
      monitorBinary: bundledBinary('shoal-monitor'),
      host: readHostFacts(),
      registry: metrics.registry,
    });
    sandboxes.setContainerHooks({
      stopPodContainers: (podId) => containers.stopPodContainers(podId),
      removePodContainers: (podId) => containers.removePodContainers(podId),
      containerStatuses: async (podId) => containers.podStatuses(podId),
    });
    statsSource.setContainers(containerStatsViews(containers));
    streamBackends = daemonBackends({
      containers,
      sandboxes,
      monitorBinary: bundledBinary('shoal-monitor'),
      runtime,
    });
    streamServer = await StreamServer.start({
      address: config.stream.address,
      tlsCertFile: config.stream.tls_cert_file,
      tlsKeyFile: config.stream.tls_key_file,
      idleTimeoutMs: config.stream.idle_timeout,
      backends: streamBackends,
      log,
      registry: metrics.registry,
    });
    server.addService<RuntimeServiceServer>(
      'RuntimeService',
      RuntimeServiceService,
      runtimeHandlers({
        config,
        configSource,
        network,
        runtimeVersion: PACKAGE_VERSION,
        runtimeConfigStore: new RuntimeConfigStore(config.root),
        handlerFeatures: { recursiveReadOnlyMounts: true, userNamespaces: false },
        supplementalGroupsPolicy: true,
      }, sandboxHandlers(sandboxes), statsHandlers(createStatsService(statsSource)), containerHandlers(containers, config.grpc_max_message_bytes), streamHandlers(containers, sandboxes, streamServer)),
    );
    server.addService<ImageServiceServer>('ImageService', ImageServiceService, imageHandlers(images));
    if (config.metrics.address !== '') metricsServer = await serveMetrics(config.metrics.address, metrics, log);
    await server.listen(config.socket);
  } catch (err) {
    metricsServer?.close();
    await streamServer?.close();
    streamBackends?.close();
    await server.shutdown(0);
    await images?.close();
    releaseLocks();
    closeSealedCopy(runtime);
    throw err;
  }
  log.info(
    { version: PACKAGE_VERSION, socket: config.socket, root: config.root, runDir: config.run_dir, config: configSource },
    'shoald started',
  );

  return {
    async stop() {
      log.info('shoald stopping: no new calls, waiting for in-flight ones');
      await server.shutdown(SHUTDOWN_GRACE_MS);
      await streamServer?.close();
      streamBackends?.close();
      await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
      await images?.close();
      releaseLocks();
      closeSealedCopy(runtime);
      log.info('shoald stopped; containers keep running under their monitors');
    },
  };
}

/**
 * Our own runtime is started from a sealed copy made here, once (src/native/sealed_exe.ts); a
 * runtime named by runtime.runtime_path is run as it is. Without the copy (no memfd support) ours
 * still makes one of its own per call, only slower.
 */
function runtimeToRun(path: string, log: Logger): RuntimeExecutable {
  if (path !== bundledBinary('shoal-runtime')) return { path };
  try {
    return { path, sealedFd: sealedCopy(path) };
  } catch (err) {
    log.warn({ err: errorText(err) }, `${path} runs without a sealed copy held by the daemon`);
    return { path };
  }
}

function closeSealedCopy(runtime: RuntimeExecutable): void {
  if (runtime.sealedFd !== undefined) closeSync(runtime.sealedFd);
}

function prepareDir(path: string, mode: number): void {
  mkdirSync(path, { recursive: true, mode });
  chmodSync(path, mode);
}

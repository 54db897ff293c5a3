import { Counter, Histogram, type Registry } from 'prom-client';
import type { NetworkConfigList, NetworkConfigWatcher } from './network_config';
import { execPlugin, PluginError, type PluginInvocation } from './plugin_exec';
import type { CachedAttachment, CapabilityArgs, CniResultCache } from './cache';
import { podAddresses, type PodAddresses } from './result';
import { settleable } from '../util/settleable';

export interface AttachRequest {
  containerId: string;
  netns: string;
  /** Kubernetes pod identity for CNI_ARGS. */
  podName: string;
  podNamespace: string;
  podUid: string;
  capabilityArgs: CapabilityArgs;
}

/** The cache entry ADD will write and sync before any plugin gets its config. */
export interface PreparedAttachment {
  entry: CachedAttachment;
}

export interface Attachment {
  result: unknown;
  addresses: PodAddresses;
}

const IF_NAME = 'eth0';

/**
 * Pod networking the standard CNI way: ADD runs the list's plugins in order (each gets the previous
 * result), DEL in reverse with the cached ADD result. The cache entry is written before ADD so that
 * a crash mid-ADD can still be undone with the same config and arguments.
 */
export class PodNetwork {
  private readonly ops: Counter<'command' | 'result'>;
  private readonly duration: Histogram<'command'>;

  constructor(
    private readonly watcher: NetworkConfigWatcher,
    private readonly binDirs: string[],
    private readonly timeoutMs: number,
    private readonly cache: CniResultCache,
    registry?: Registry,
  ) {
    this.ops = new Counter({
      name: 'shoal_cni_operations_total',
      help: 'CNI list operations (ADD, DEL) by outcome.',
      labelNames: ['command', 'result'],
      registers: registry ? [registry] : [],
    });
    this.duration = new Histogram({
      name: 'shoal_cni_operation_duration_seconds',
      help: 'Time to run a CNI list operation over all plugins of the config list.',
      labelNames: ['command'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: registry ? [registry] : [],
    });
  }

  /** The cache entry DEL will need (config, arguments, netns); nothing is written yet. */
  prepare(req: AttachRequest): PreparedAttachment {
    const state = this.watcher.current();
    if (!state.ready || !state.config) throw new PluginError(`network not ready: ${state.message}`);
    return {
      entry: {
        containerId: req.containerId,
        netns: req.netns,
        ifName: IF_NAME,
        cniArgs: cniArgs(req),
        capabilityArgs: req.capabilityArgs,
        network: state.config,
      },
    };
  }

  /**
   * ADD over the list; on failure what the earlier plugins made is released again (DEL).
   *
   * The first plugin's process is started at once, then the cache entry is written and its sync
   * begun: the only synced write of RunPodSandbox, because plugins' allocations (host-local's
   * address store) survive a power loss and must be releasable after it. The plugin gets its
   * config only when that sync is done and `netnsReady` (the namespace it will enter exists) has
   * resolved, so its process start overlaps both and it acts on nothing before the entry is on
   * disk; if either fails it is killed unfed and nothing is released. The returned promise settles
   * only after the sync has.
   */
  async add(prepared: PreparedAttachment, netnsReady: Promise<void> = Promise.resolve()): Promise<Attachment> {
    const { entry } = prepared;
    const synced = settleable();
    let heldBack = false;
    const gate = Promise.all([synced.promise, netnsReady]).then(
      () => undefined,
      (err: unknown) => {
        heldBack = true;
        throw err;
      },
    );
    // Observed here too: when the first plugin is gone from its bin dir by the time it is run, nothing
    // else awaits the gate, and an unobserved rejection would end the daemon.
    gate.catch(() => undefined);
    const end = this.duration.startTimer({ command: 'ADD' });
    const progress = { acted: false };
    // runAdd starts the first plugin before its first await; the entry is written after that.
    const running = this.runAdd(entry, gate, progress, () => heldBack);
    this.cache.writeEntry(entry).then(synced.resolve, (err: unknown) => {
      synced.reject(new PluginError(`syncing the CNI cache entry of ${entry.containerId}: ${(err as Error).message}`));
    });
    let result: unknown;
    try {
      result = await running;
    } catch (err) {
      this.ops.inc({ command: 'ADD', result: 'error' });
      await synced.promise.catch(() => undefined);
      // Undo what the plugins before the failing one set up; the ADD error is the one to report.
      // When no plugin acted (the gate held the config back, the first plugin could not be
      // started, the entry's sync failed) there is nothing to release and the entry is dropped.
      if (progress.acted) await this.detach(entry.containerId).catch(() => undefined);
      else this.cache.remove(entry.containerId);
      throw err;
    } finally {
      end();
    }
    this.ops.inc({ command: 'ADD', result: 'ok' });
    return { result, addresses: podAddresses(result) };
  }

  /** Stores the ADD result for DEL's prevResult and for status after a restart (not synced). */
  commit(prepared: PreparedAttachment, attachment: Attachment): void {
    this.cache.writeResult(prepared.entry.containerId, attachment.result);
  }

  /**
   * Releases the attachment cached for `containerId` with one DEL over the list; nothing cached →
   * nothing to do. An entry torn by a crash before its sync finished is dropped: ADD never ran.
   */
  async detach(containerId: string): Promise<void> {
    const found = this.cache.lookup(containerId);
    if (found.kind === 'unreadable') this.cache.remove(containerId);
    if (found.kind !== 'entry') return;
    const entry = found.entry;
    const end = this.duration.startTimer({ command: 'DEL' });
    try {
      await this.runDel(entry);
    } catch (err) {
      this.ops.inc({ command: 'DEL', result: 'error' });
      throw err;
    } finally {
      end();
    }
    this.ops.inc({ command: 'DEL', result: 'ok' });
    this.cache.remove(containerId);
  }

  cached(containerId: string): CachedAttachment | undefined {
    return this.cache.read(containerId);
  }

  cachedIds(): string[] {
    return this.cache.ids();
  }

  /**
   * Runs the list's ADDs in order; `progress.acted` tells whether any plugin may have acted on its
   * config (one that could not be started, or whose config the gate held back, did nothing).
   */
  private async runAdd(entry: CachedAttachment, firstGate: Promise<void>, progress: { acted: boolean }, heldBack: () => boolean): Promise<unknown> {
    let prev: unknown;
    let gate: Promise<void> | undefined = firstGate;
    for (const plugin of entry.network.plugins) {
      if (isNoOpAdd(plugin, entry.capabilityArgs)) continue;
      try {
        prev = await execPlugin(plugin.type, pluginConfig(entry.network, plugin, entry.capabilityArgs, prev), this.invocation('ADD', entry), gate);
      } catch (err) {
        if (!(err instanceof PluginError && err.notRun) && !heldBack()) progress.acted = true;
        throw err;
      }
      progress.acted = true;
      gate = undefined; // later plugins start after the first has finished
    }
    if (gate) await gate; // no plugin ran: the entry is still to be on disk before ADD "succeeds"
    return prev;
  }

  private async runDel(entry: CachedAttachment): Promise<void> {
    const withPrev = versionAtLeast(entry.network.cniVersion, 0, 4);
    const errors: string[] = [];
    // Every plugin gets its DEL even when one fails, so one broken plugin leaks only its own part.
    for (const plugin of [...entry.network.plugins].reverse()) {
      // A plugin whose ADD was skipped made nothing to delete.
      if (isNoOpAdd(plugin, entry.capabilityArgs)) continue;
      const config = pluginConfig(entry.network, plugin, entry.capabilityArgs, withPrev ? entry.result : undefined);
      try {
        await execPlugin(plugin.type, config, this.invocation('DEL', entry));
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (errors.length > 0) throw new PluginError(errors.join('; '));
  }

  private invocation(command: PluginInvocation['command'], entry: CachedAttachment): PluginInvocation {
    return {
      command,
      containerId: entry.containerId,
      netns: entry.netns,
      ifName: entry.ifName,
      args: entry.cniArgs,
      binDirs: this.binDirs,
      timeoutMs: this.timeoutMs,
    };
  }
}

/**
 * portmap's ADD without port mappings only echoes its prevResult (the plugin returns at once in
 * that case), so the exec is skipped, and with it the DEL of a pod it never touched.
 */
function isNoOpAdd(plugin: NetworkConfigList['plugins'][number], capabilityArgs: CapabilityArgs): boolean {
  return plugin.type === 'portmap' && (capabilityArgs.portMappings ?? []).length === 0;
}

function cniArgs(req: AttachRequest): string {
  return [
    'IgnoreUnknown=1',
    `K8S_POD_NAMESPACE=${req.podNamespace}`,
    `K8S_POD_NAME=${req.podName}`,
    `K8S_POD_INFRA_CONTAINER_ID=${req.containerId}`,
    `K8S_POD_UID=${req.podUid}`,
  ].join(';');
}

/** One plugin's stdin: its own keys, the list's name and version, the previous result, and the
 *  capability arguments it declared it wants. */
function pluginConfig(
  list: NetworkConfigList,
  plugin: NetworkConfigList['plugins'][number],
  capabilityArgs: CapabilityArgs,
  prevResult: unknown,
): Record<string, unknown> {
  const config: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  if (prevResult !== undefined) config.prevResult = prevResult;
  const wants = (plugin.capabilities ?? {}) as Record<string, unknown>;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(capabilityArgs)) {
    if (wants[key] === true && value !== undefined) runtimeConfig[key] = value;
  }
  if (Object.keys(runtimeConfig).length > 0) config.runtimeConfig = runtimeConfig;
  return config;
}

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const [a = 0, b = 0] = version.split('.').map((n) => Number.parseInt(n, 10) || 0);
  return a > major || (a === major && b >= minor);
}

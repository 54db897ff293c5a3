import { spawnSync, execFileSync } from 'node:child_process';
import { writeFileSync, readdirSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { readCgroupLayout } from '../../src/cgroup/layout';
import type { TestDaemon } from '../helpers/daemon';
import { isLiveProcess } from '../../src/util/proc_stat';
import { processesWhere } from '../helpers/cleanup';

/**
 * A test file's private CNI network: its own bridge, subnet, host-local store and network name, so
 * jest workers never share state; `destroy` removes the bridge and every iptables rule and per-pod chain
 * that names the network, even after a failed test.
 */
export interface TestNetwork {
  readonly name: string;
  readonly bridge: string;
  readonly subnet: string;
  readonly ipamDir: string;
  /** A unique IPv6 /64 for dual-stack tests. */
  readonly subnet6: string;
  conflist(extraPlugins?: object[], opts?: ConflistOptions): string;
  /** Writes the conflist into the daemon's conf dir. */
  install(daemon: TestDaemon, file?: string, extraPlugins?: object[], opts?: ConflistOptions): void;
  destroy(): void;
}

export interface ConflistOptions {
  /** The main plugin's type (a wrapper around bridge in crash tests). */
  pluginType?: string;
  /** Adds an IPv6 range next to the IPv4 one. */
  dualStack?: boolean;
}

export function testNetwork(secondOctet: number, dir: string): TestNetwork {
  const rand = randomBytes(3).toString('hex');
  const name = `shoaltest-${rand}`;
  const bridge = `shb${rand}`;
  const subnet = `10.${secondOctet}.${randomBytes(1)[0]}.0/24`;
  // No group may start with 0: addresses come back with leading zeros dropped.
  const subnet6 = `fd${randomBytes(1).toString('hex')}:1${rand.slice(0, 3)}:${secondOctet}::/64`;
  const ipamDir = join(dir, 'ipam');
  const conflist = (extraPlugins: object[] = [], opts: ConflistOptions = {}): string =>
    JSON.stringify({
      cniVersion: '1.0.0',
      name,
      plugins: [
        {
          type: opts.pluginType ?? 'bridge',
          bridge,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: opts.dualStack ? [[{ subnet }], [{ subnet: subnet6 }]] : [[{ subnet }]],
            routes: opts.dualStack ? [{ dst: '0.0.0.0/0' }, { dst: '::/0' }] : [{ dst: '0.0.0.0/0' }],
            dataDir: ipamDir,
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
        ...extraPlugins,
      ],
    });
  return {
    name,
    bridge,
    subnet,
    subnet6,
    ipamDir,
    conflist,
    install(daemon, file = '10-test.conflist', extraPlugins = [], opts = {}) {
      writeFileSync(join(daemon.cniConfDir, file), conflist(extraPlugins, opts));
    },
    destroy() {
      // portmap's shared top-level chains (CNI-HOSTPORT-*) stay, as on any node: another test file
      // running at the same time may be adding its rules to them right now.
      removeIptablesMentioning(name);
      spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
    },
  };
}

type Family = 'iptables' | 'ip6tables';

function iptablesSave(table: string, family: Family = 'iptables'): string[] {
  const r = spawnSync(`${family}-save`, ['-t', table], { encoding: 'utf8' });
  return (r.stdout ?? '').split('\n');
}

/** Deletes every rule whose text names `needle` and the per-pod CNI chains those rules jump to (IPv4 and IPv6). */
export function removeIptablesMentioning(needle: string): void {
  for (const family of ['iptables', 'ip6tables'] as const) {
    for (const table of ['nat', 'filter', 'mangle']) {
      const chains = new Set<string>();
      for (const line of iptablesSave(table, family)) {
        if (!line.startsWith('-A ') || !line.includes(needle)) continue;
        const target = / -j (\S+)/.exec(line)?.[1];
        if (target && target.startsWith('CNI-') && !target.startsWith('CNI-HOSTPORT')) chains.add(target);
        spawnSync('sh', ['-c', `${family} -t ${table} ${line.replace(/^-A /, '-D ')}`], { stdio: 'ignore' });
      }
      for (const chain of chains) {
        spawnSync(family, ['-t', table, '-F', chain], { stdio: 'ignore' });
        spawnSync(family, ['-t', table, '-X', chain], { stdio: 'ignore' });
      }
    }
  }
}

/** Runs a command inside a pinned network namespace (and uts/ipc when given). */
export function inPod(ns: { net?: string; uts?: string; ipc?: string }, cmd: string[], timeoutMs = 10_000): { code: number; out: string } {
  const args = [...(ns.net ? [`--net=${ns.net}`] : []), ...(ns.uts ? [`--uts=${ns.uts}`] : []), ...(ns.ipc ? [`--ipc=${ns.ipc}`] : []), '--', ...cmd];
  const r = spawnSync('nsenter', args, { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

export interface PodLeaks {
  namespaceFiles: string[];
  mounts: string[];
  cgroupDirs: string[];
  ipamEntries: string[];
  bridgePorts: string[];
  iptables: string[];
  records: string[];
}

/** Whatever is left on the host of the pods `ids` (empty lists = nothing leaked). */
export function podLeaks(daemon: TestDaemon, net: TestNetwork, ids: string[], cgroupPaths: string[]): PodLeaks {
  const podsRun = join(daemon.runDir, 'pods');
  const namespaceFiles = existsSync(podsRun) ? readdirSync(podsRun).filter((n) => ids.includes(n)) : [];
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => ids.some((id) => p.includes(id)));
  const layout = readCgroupLayout();
  const roots = [...new Set([...Object.values(layout.v1), ...(layout.v2Root ? [layout.v2Root] : [])])];
  const cgroupDirs = roots.flatMap((r) => cgroupPaths.map((p) => join(r, p))).filter((p) => existsSync(p));
  const store = join(net.ipamDir, net.name);
  const ipamEntries = existsSync(store)
    ? readdirSync(store).filter((f) => /^\d/.test(f) || f.includes(':')).filter((f) => ids.some((id) => readFileSync(join(store, f), 'utf8').includes(id)))
    : [];
  const brif = `/sys/class/net/${net.bridge}/brif`;
  const bridgePorts = existsSync(brif) ? readdirSync(brif) : [];
  const iptables = (['iptables', 'ip6tables'] as const)
    .flatMap((f) => ['nat', 'filter'].flatMap((t) => iptablesSave(t, f)))
    .filter((l) => ids.some((id) => l.includes(id)));
  const recordsDir = join(daemon.root, 'pods');
  const records = existsSync(recordsDir) ? readdirSync(recordsDir).filter((n) => ids.some((id) => n.startsWith(id))) : [];
  return { namespaceFiles, mounts, cgroupDirs, ipamEntries, bridgePorts, iptables, records };
}

export const NO_LEAKS: PodLeaks = { namespaceFiles: [], mounts: [], cgroupDirs: [], ipamEntries: [], bridgePorts: [], iptables: [], records: [] };

export function isLeakFree(leaks: PodLeaks): boolean {
  return Object.values(leaks).every((list: string[]) => list.length === 0);
}

/**
 * Live pod inits (shoal-init) in cgroups under `cgroupParent`. A stopped one may stay a zombie
 * until the host's init reaps it (the daemon is not its parent); that holds nothing but its pid.
 */
export function livePodInits(cgroupParent: string): number[] {
  const inCgroup = (pid: number): boolean => {
    try {
      return readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(cgroupParent);
    } catch {
      return false; // gone meanwhile
    }
  };
  return processesWhere((cmdline) => cmdline.startsWith('/shoal-init\0')).filter((pid) => inCgroup(pid) && isLiveProcess(pid));
}

export function hostInterfaces(): string[] {
  return execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '')
    .filter(Boolean);
}

let podCounter = 0;

/** A RunPodSandbox config (proto-loader shape) with unique metadata. */
export function podConfig(overrides: Record<string, unknown> = {}, nsOptions: Record<string, string> = {}): Record<string, unknown> {
  podCounter++;
  const suffix = `${process.pid}-${podCounter}-${randomBytes(2).toString('hex')}`;
  const base: Record<string, unknown> = {
    metadata: { name: `pod-${suffix}`, namespace: 'default', uid: `uid-${suffix}`, attempt: 0 },
    hostname: `host-${podCounter}`,
    log_directory: '',
    linux: { security_context: { namespace_options: { network: 'POD', ipc: 'POD', pid: 'CONTAINER', ...nsOptions } } },
  };
  return { ...base, ...overrides };
}

/** afterAll's first step: every pod the daemon still has is removed through the API (best effort). */
export async function removeAllPods(daemon: TestDaemon | undefined): Promise<void> {
  try {
    const { items } = await daemon!.client.runtime('ListPodSandbox', {});
    for (const p of items as Array<{ id: string }>) await daemon!.client.runtime('RemovePodSandbox', { pod_sandbox_id: p.id }).catch(() => undefined);
  } catch {
    /* daemon gone: cleanup() below takes what is left */
  }
}

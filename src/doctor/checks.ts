import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Config } from '../config/schema';
import { readCgroupLayout } from '../cgroup/layout';
import { findNetworkConfig } from '../cni/network_config';
import { bundledBinary, runtimeExecutable } from '../paths';

export interface CheckResult {
  name: string;
  ok: boolean;
  /** A missing required item makes the host unfit to run pods. */
  required: boolean;
  detail: string;
  /** What to install or change, when not ok. */
  fix?: string;
}

const NAMESPACES = ['mnt', 'pid', 'net', 'ipc', 'uts', 'user', 'cgroup'];
/** What deploy/cni's conflist uses. The pod's lo is brought up by shoald itself (no loopback plugin). */
const CNI_PLUGINS = ['bridge', 'host-local', 'portmap'];

export function hostChecks(config: Config): CheckResult[] {
  return [
    checkRoot(),
    ...NAMESPACES.map(checkNamespace),
    checkUserNamespaces(),
    checkOverlay(),
    ...checkCgroups(),
    checkSeccomp(),
    checkCniPlugins(config.cni.bin_dirs),
    checkCniConfig(config),
    checkIptables(),
    checkExecutable('runtime', runtimeExecutable(config), 'run `make build` (or set runtime.runtime_path)'),
    checkExecutable('monitor', bundledBinary('shoal-monitor'), 'run `make build`'),
  ];
}

function checkRoot(): CheckResult {
  const uid = process.getuid?.() ?? -1;
  return { name: 'root', ok: uid === 0, required: true, detail: `running as uid ${uid}`, fix: 'run shoald as root' };
}

function checkNamespace(ns: string): CheckResult {
  const ok = existsSync(`/proc/self/ns/${ns}`);
  return {
    name: `namespace ${ns}`,
    ok,
    required: true,
    detail: ok ? `/proc/self/ns/${ns}` : 'not supported by this kernel',
    fix: `a kernel built with CONFIG_${ns === 'mnt' ? '' : ns.toUpperCase() + '_'}NS`,
  };
}

function checkUserNamespaces(): CheckResult {
  const max = Number(readOr('/proc/sys/user/max_user_namespaces', '0').trim());
  return {
    name: 'user namespaces',
    ok: max > 0,
    required: false,
    detail: `user.max_user_namespaces = ${max}`,
    fix: 'sysctl -w user.max_user_namespaces=15000 (needed only for pods with user namespaces)',
  };
}

function checkOverlay(): CheckResult {
  const ok = /\soverlay$/m.test(readOr('/proc/filesystems', ''));
  return { name: 'overlayfs', ok, required: true, detail: ok ? 'overlay in /proc/filesystems' : 'overlay not in /proc/filesystems', fix: 'modprobe overlay' };
}

function checkCgroups(): CheckResult[] {
  const layout = readCgroupLayout();
  const where = (controller: string): string | undefined =>
    layout.v1[controller] ?? (layout.v2Controllers.includes(controller) ? `${layout.v2Root} (v2)` : undefined);
  const v1List = Object.entries(layout.v1).map(([c, p]) => `${c}@${p}`).join(' ');
  const results: CheckResult[] = [
    {
      name: 'cgroups',
      ok: true,
      required: true,
      detail: `${layout.mode}; v1: ${v1List || 'none'}; v2: ${layout.v2Root ? `${layout.v2Root} [${layout.v2Controllers.join(' ')}]` : 'none'}`,
    },
  ];
  for (const controller of ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'devices', 'blkio', 'hugetlb']) {
    const v2Equivalent = controller === 'cpuacct' ? 'cpu' : controller === 'blkio' ? 'io' : controller;
    const found = layout.mode === 'v2' ? where(v2Equivalent) : where(controller) ?? where(v2Equivalent);
    const devicesOnV2 = controller === 'devices' && layout.mode === 'v2';
    results.push({
      name: `cgroup ${controller}`,
      ok: found !== undefined || devicesOnV2,
      required: ['cpu', 'memory', 'pids'].includes(controller),
      detail: devicesOnV2 ? 'cgroup v2 has no devices controller (device rules need an eBPF program)' : found ?? 'not mounted',
      fix: `mount the ${controller} controller (cgroup v1) or enable it in cgroup.subtree_control (v2)`,
    });
  }
  return results;
}

function checkSeccomp(): CheckResult {
  const kernel = /^Seccomp:/m.test(readOr('/proc/self/status', ''));
  const lib = ['/usr/lib/x86_64-linux-gnu/libseccomp.so.2', '/usr/lib/aarch64-linux-gnu/libseccomp.so.2', '/usr/lib/libseccomp.so.2'].some(existsSync);
  return {
    name: 'seccomp',
    ok: kernel && lib,
    required: true,
    detail: `kernel ${kernel ? 'supports' : 'lacks'} seccomp; libseccomp ${lib ? 'installed' : 'missing'}`,
    fix: kernel ? 'apt-get install libseccomp2' : 'a kernel with CONFIG_SECCOMP_FILTER',
  };
}

function checkCniPlugins(binDirs: string[]): CheckResult {
  const missing = CNI_PLUGINS.filter((p) => !binDirs.some((d) => isExecutable(join(d, p))));
  return {
    name: 'CNI plugins',
    ok: missing.length === 0,
    required: true,
    detail: missing.length === 0 ? `${CNI_PLUGINS.join(', ')} in ${binDirs.join(':')}` : `missing ${missing.join(', ')} in ${binDirs.join(':')}`,
    fix: 'apt-get install containernetworking-plugins (or set cni.bin_dirs)',
  };
}

function checkCniConfig(config: Config): CheckResult {
  const state = findNetworkConfig(config.cni.conf_dir, config.cni.bin_dirs);
  return {
    name: 'CNI network config',
    ok: state.ready,
    required: false,
    detail: state.ready ? `${state.file} (network "${state.config?.name}")` : state.message,
    fix: `copy deploy/cni/10-shoal-bridge.conflist to ${config.cni.conf_dir} (make run does it)`,
  };
}

function checkIptables(): CheckResult {
  const run = spawnSync('iptables', ['--version'], { encoding: 'utf8', timeout: 5000 });
  const ok = run.status === 0;
  return {
    name: 'iptables',
    ok,
    required: false,
    detail: ok ? run.stdout.trim() : 'iptables not found',
    fix: 'apt-get install iptables (the portmap plugin needs it for hostPort)',
  };
}

function checkExecutable(name: string, path: string, fix: string): CheckResult {
  const ok = isExecutable(path);
  return { name, ok, required: true, detail: ok ? path : `${path} missing or not executable`, fix };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

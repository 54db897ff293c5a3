import { hostname as osHostname } from 'node:os';
import { NamespaceMode, Protocol, type NamespaceOption, type PodSandboxConfig } from '../gen/runtime/v1/api';
import type { CapabilityArgs } from '../cni/cache';
import { invalidArgument } from '../errors';

/** What a pod config means for the sandbox: namespace modes, hostname, CNI capability args. */

/** The pod's namespace modes; CRI's zero value is POD. TARGET/CONTAINER make no sense for a pod. */
export function effectiveModes(config: PodSandboxConfig): NamespaceOption {
  const o = config.linux?.securityContext?.namespaceOptions;
  const network = o?.network ?? NamespaceMode.POD;
  const ipc = o?.ipc ?? NamespaceMode.POD;
  const pid = o?.pid ?? NamespaceMode.POD;
  const check = (what: string, m: NamespaceMode, allowed: NamespaceMode[]): void => {
    if (!allowed.includes(m)) throw invalidArgument(`pod namespace_options.${what}: mode ${NamespaceMode[m] ?? m} is not valid for a pod`);
  };
  check('network', network, [NamespaceMode.POD, NamespaceMode.NODE]);
  check('ipc', ipc, [NamespaceMode.POD, NamespaceMode.NODE]);
  check('pid', pid, [NamespaceMode.POD, NamespaceMode.CONTAINER, NamespaceMode.NODE]);
  return { network, ipc, pid, targetId: '', usernsOptions: o?.usernsOptions };
}

export function podHostname(config: PodSandboxConfig, ownUts: boolean): string {
  if (!ownUts) return osHostname();
  const name = config.hostname !== '' ? config.hostname : config.metadata!.name;
  return name.slice(0, 63);
}

export function capabilityArgs(config: PodSandboxConfig): CapabilityArgs {
  const args: CapabilityArgs = {};
  const ports = config.portMappings.filter((p) => p.hostPort > 0);
  if (ports.length > 0) {
    args.portMappings = ports.map((p) => ({
      hostPort: p.hostPort,
      containerPort: p.containerPort,
      protocol: (Protocol[p.protocol] ?? 'TCP').toLowerCase(),
      ...(p.hostIp ? { hostIP: p.hostIp } : {}),
    }));
  }
  const dns = config.dnsConfig;
  if (dns && (dns.servers.length > 0 || dns.searches.length > 0 || dns.options.length > 0)) {
    args.dns = { servers: dns.servers, searches: dns.searches, options: dns.options };
  }
  return args;
}

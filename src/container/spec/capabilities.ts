import type { Capability } from '../../gen/runtime/v1/api';
import type { OciCapabilities } from './oci';
import { invalidArgument } from '../../errors';

/** Every capability Linux 5.9+ defines, in number order. */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ',
  'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** The set a container gets unless its config adds or drops: the common container default. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** "net_admin", "NET_ADMIN" and "CAP_NET_ADMIN" all name CAP_NET_ADMIN; unknown names are refused. */
function canonical(name: string, field: string): string {
  const upper = name.trim().toUpperCase();
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!ALL_CAPABILITIES.includes(full)) throw invalidArgument(`${field}: unknown capability "${name}"`);
  return full;
}

const isAll = (name: string): boolean => name.trim().toUpperCase() === 'ALL';

/**
 * The capability sets of the container's process. Drops apply before adds, so "drop ALL, add X"
 * leaves exactly X, as kubelet users expect. Privileged containers get every capability.
 */
export function capabilitySets(caps: Capability | undefined, privileged: boolean, available: readonly string[] = ALL_CAPABILITIES): OciCapabilities {
  // "All" means all this host can grant: the daemon's own bounding set caps what a child may hold.
  const all = ALL_CAPABILITIES.filter((c) => available.includes(c));
  let set: string[];
  if (privileged) {
    set = all;
  } else {
    const drops = caps?.dropCapabilities ?? [];
    const adds = caps?.addCapabilities ?? [];
    const current = new Set<string>(drops.some(isAll) ? [] : DEFAULT_CAPABILITIES.filter((c) => available.includes(c)));
    for (const d of drops) if (!isAll(d)) current.delete(canonical(d, 'capabilities.drop_capabilities'));
    if (adds.some(isAll)) for (const c of all) current.add(c);
    for (const a of adds) {
      if (isAll(a)) continue;
      const cap = canonical(a, 'capabilities.add_capabilities');
      if (!available.includes(cap)) throw invalidArgument(`capabilities.add_capabilities: ${cap} is not in this host's bounding set`);
      current.add(cap);
    }
    set = ALL_CAPABILITIES.filter((c) => current.has(c));
  }
  const ambient = (caps?.addAmbientCapabilities ?? []).map((a) => canonical(a, 'capabilities.add_ambient_capabilities'));
  for (const a of ambient) {
    if (!set.includes(a)) throw invalidArgument(`capabilities.add_ambient_capabilities: ${a} is not in the container's capability set`);
  }
  // For a non-root process the kernel clears permitted and effective at exec unless they are
  // ambient; the sets are written whole anyway so the bounding set is what limits a setuid binary.
  const out: OciCapabilities = { bounding: set, effective: [...set], permitted: [...set] };
  if (ambient.length > 0) {
    out.inheritable = [...ambient];
    out.ambient = [...ambient];
  }
  return out;
}

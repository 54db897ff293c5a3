import { invalidArgument } from '../errors';
import type { SysctlWrite } from './namespaces';

/** Which namespace a sysctl belongs to; undefined = not namespaced (host-wide). */
function namespaceOf(name: string): 'net' | 'ipc' | 'uts' | undefined {
  if (name.startsWith('net.')) return 'net';
  if (name.startsWith('fs.mqueue.')) return 'ipc';
  if (IPC_SYSCTLS.has(name)) return 'ipc';
  if (name === 'kernel.hostname' || name === 'kernel.domainname') return 'uts';
  return undefined;
}

const IPC_SYSCTLS = new Set([
  'kernel.shmmax', 'kernel.shmall', 'kernel.shmmni', 'kernel.shm_rmid_forced',
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem',
]);

/** A sysctl name in dotted form; a name given with "/" separators may hold literal dots (eth0.100). */
function canonical(name: string): { dotted: string; file: string } {
  if (name.includes('/')) {
    const parts = name.split('/').filter(Boolean);
    return { dotted: parts.join('.'), file: `/proc/sys/${parts.join('/')}` };
  }
  return { dotted: name, file: `/proc/sys/${name.split('.').join('/')}` };
}

/**
 * The writes for a pod's sysctls, or InvalidArgument naming the first one that is not namespaced or
 * belongs to a namespace the pod shares with the host.
 */
export function planSysctls(sysctls: Record<string, string>, own: { net: boolean; ipc: boolean; uts: boolean }): SysctlWrite[] {
  const writes: SysctlWrite[] = [];
  for (const [name, value] of Object.entries(sysctls).sort(([a], [b]) => a.localeCompare(b))) {
    const parts = name.includes('/') ? name.split('/') : name.split('.');
    if (!/^[A-Za-z0-9_./-]+$/.test(name) || parts.some((p) => p === '' || p === '.' || p === '..')) {
      throw invalidArgument(`sysctl "${name}": not a valid sysctl name`);
    }
    const { dotted, file } = canonical(name);
    const ns = namespaceOf(dotted);
    if (ns === undefined) throw invalidArgument(`sysctl "${name}" is not namespaced: setting it would change the whole host`);
    if (!own[ns]) {
      throw invalidArgument(`sysctl "${name}" belongs to the ${ns} namespace, which this pod shares with the host`);
    }
    writes.push({ name, file, value });
  }
  return writes;
}

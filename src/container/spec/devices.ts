import { readdirSync, realpathSync, statSync, lstatSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import type { Device } from '../../gen/runtime/v1/api';
import { invalidArgument } from '../../errors';
import type { OciDevice, OciDeviceRule } from './oci';

const major = (rdev: number): number => ((rdev >>> 8) & 0xfff) | ((rdev >>> 12) & 0xfff00);
const minor = (rdev: number): number => (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);

/** Device cgroup allow-list of an unprivileged container: the default /dev nodes and pts. */
const DEFAULT_RULES: readonly OciDeviceRule[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // null
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // zero
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // full
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // random
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // urandom
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // tty
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' }, // console
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // ptmx
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // pts/*
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, // net/tun
];

function nodeOf(st: Stats): { type: 'c' | 'b'; major: number; minor: number } | undefined {
  if (st.isCharacterDevice()) return { type: 'c', major: major(st.rdev), minor: minor(st.rdev) };
  if (st.isBlockDevice()) return { type: 'b', major: major(st.rdev), minor: minor(st.rdev) };
  return undefined;
}

export interface DevicePlan {
  devices: OciDevice[];
  rules: OciDeviceRule[];
}

/** Every device node under a host directory (one level of recursion per subdirectory). */
function devicesUnder(dir: string, containerDir: string, out: Array<{ host: string; container: string; st: Stats }>): void {
  for (const name of readdirSync(dir)) {
    const host = join(dir, name);
    const container = posix.join(containerDir, name);
    let st: Stats;
    try {
      st = lstatSync(host);
    } catch {
      continue;
    }
    if (st.isDirectory()) devicesUnder(host, container, out);
    else if (st.isCharacterDevice() || st.isBlockDevice()) out.push({ host, container, st });
  }
}

/**
 * The requested devices as nodes created in the container's /dev and allowed in its device
 * cgroup with the requested permissions. A privileged container gets every host device.
 */
export function planDevices(requested: readonly Device[], privileged: boolean): DevicePlan {
  const devices: OciDevice[] = [];
  const rules: OciDeviceRule[] = privileged ? [{ allow: true, access: 'rwm' }] : [...DEFAULT_RULES];
  const wanted: Array<{ host: string; container: string; st: Stats; permissions: string }> = [];
  if (privileged) {
    const found: Array<{ host: string; container: string; st: Stats }> = [];
    devicesUnder('/dev', '/dev', found);
    for (const f of found) if (!f.container.startsWith('/dev/pts/') && f.container !== '/dev/console' && f.container !== '/dev/ptmx') wanted.push({ ...f, permissions: 'rwm' });
  }
  requested.forEach((d, i) => {
    const field = `devices[${i}]`;
    const permissions = d.permissions === '' ? 'rwm' : d.permissions;
    if (!/^[rwm]{1,3}$/.test(permissions) || new Set(permissions).size !== permissions.length) {
      throw invalidArgument(`${field}.permissions: "${d.permissions}" is not a combination of r, w and m`);
    }
    if (!d.containerPath.startsWith('/')) throw invalidArgument(`${field}.container_path: "${d.containerPath}" is not an absolute path`);
    let host: string;
    let st: Stats;
    try {
      host = realpathSync(d.hostPath);
      st = statSync(host);
    } catch {
      throw invalidArgument(`${field}.host_path: ${d.hostPath} does not exist`);
    }
    if (st.isDirectory()) {
      const found: Array<{ host: string; container: string; st: Stats }> = [];
      devicesUnder(host, d.containerPath, found);
      for (const f of found) wanted.push({ ...f, permissions });
    } else if (nodeOf(st)) {
      wanted.push({ host, container: posix.normalize(d.containerPath), st, permissions });
    } else {
      throw invalidArgument(`${field}.host_path: ${d.hostPath} is not a device node`);
    }
  });
  const byPath = new Map<string, OciDevice>();
  for (const w of wanted) {
    const node = nodeOf(w.st)!;
    byPath.set(w.container, { path: w.container, type: node.type, major: node.major, minor: node.minor, fileMode: w.st.mode & 0o7777, uid: w.st.uid, gid: w.st.gid });
    if (!privileged) rules.push({ allow: true, type: node.type, major: node.major, minor: node.minor, access: w.permissions });
  }
  devices.push(...byPath.values());
  return { devices, rules };
}

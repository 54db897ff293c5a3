import { existsSync, readFileSync } from 'node:fs';
import type { HostFacts } from './spec/input';
import { ALL_CAPABILITIES } from './spec/capabilities';

/** The capabilities in this process's bounding set (a container can hold no others). */
function boundingCaps(): string[] | undefined {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapBnd:'));
    if (!line) return undefined;
    const mask = BigInt(`0x${line.split(/\s+/)[1]}`);
    return ALL_CAPABILITIES.filter((_, bit) => ((mask >> BigInt(bit)) & 1n) === 1n);
  } catch {
    return undefined;
  }
}

/** What the host offers that changes the spec; read once at start-up. */
export function readHostFacts(): HostFacts {
  let apparmorEnabled = false;
  try {
    apparmorEnabled = readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
  } catch {
    /* no AppArmor module */
  }
  return { apparmorEnabled, cgroupV2: existsSync('/sys/fs/cgroup/cgroup.controllers'), boundingCaps: boundingCaps() };
}

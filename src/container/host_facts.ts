import { existsSync, readFileSync } from 'node:fs';
import type { HostFacts } from './spec/input';

/** What the host offers that changes the spec; read once at start-up. */
export function readHostFacts(): HostFacts {
  let apparmorEnabled = false;
  try {
    apparmorEnabled = readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
  } catch {
    /* no AppArmor module */
  }
  return { apparmorEnabled, cgroupV2: existsSync('/sys/fs/cgroup/cgroup.controllers') };
}

import { readFileSync, statSync } from 'node:fs';
import { inNetworkNamespace } from '../native/netns';

/** Cumulative counters of one network interface, as /proc/net/dev shows them. */
export interface InterfaceCounters {
  name: string;
  rxBytes: bigint;
  rxPackets: bigint;
  rxErrors: bigint;
  rxDropped: bigint;
  txBytes: bigint;
  txPackets: bigint;
  txErrors: bigint;
  txDropped: bigint;
}

/**
 * Parses /proc/net/dev: two header lines, then `name: rx bytes packets errs drop fifo frame
 * compressed multicast tx bytes packets errs drop fifo colls carrier compressed`.
 */
export function parseNetDev(text: string): InterfaceCounters[] {
  const out: InterfaceCounters[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/);
    if (name === '' || f.length < 16 || !f.every((v) => /^\d+$/.test(v))) continue;
    const n = (i: number): bigint => BigInt(f[i]!);
    out.push({
      name,
      rxBytes: n(0), rxPackets: n(1), rxErrors: n(2), rxDropped: n(3),
      txBytes: n(8), txPackets: n(9), txErrors: n(10), txDropped: n(11),
    });
  }
  return out;
}

/**
 * Reads interface counters inside a pod's network namespace. Where a process of the pod is known
 * and still in that namespace, its /proc/<pid>/net/dev says it without entering anything; otherwise
 * the main thread enters the namespace, reads /proc/thread-self/net/dev and returns, all in one
 * synchronous step, so no other JavaScript ever runs while the thread is elsewhere. (sysfs under
 * /sys/class/net would show the daemon's own namespace: it is bound to its mount, not to the thread.)
 */
export class NetnsCounterReader {
  /** `netnsPath`: the pinned namespace file; `pids`: processes believed to be in it. */
  read(netnsPath: string, pids: readonly number[] = []): InterfaceCounters[] | undefined {
    let target: { dev: number; ino: number };
    try {
      target = statSync(netnsPath);
    } catch {
      return undefined;
    }
    for (const pid of pids) {
      const viaPid = this.readViaPid(pid, target);
      if (viaPid !== undefined) return viaPid;
    }
    return this.readViaSetns(netnsPath);
  }

  close(): void {
    /* nothing held: the namespace files are opened per read */
  }

  private readViaPid(pid: number, target: { dev: number; ino: number }): InterfaceCounters[] | undefined {
    try {
      const ns = statSync(`/proc/${pid}/ns/net`);
      // The pid could have been reused by an unrelated process: only trust it inside the pod's ns.
      if (ns.ino !== target.ino || ns.dev !== target.dev) return undefined;
      return parseNetDev(readFileSync(`/proc/${pid}/net/dev`, 'latin1'));
    } catch {
      return undefined;
    }
  }

  private readViaSetns(netnsPath: string): InterfaceCounters[] | undefined {
    try {
      return inNetworkNamespace(netnsPath, 'read its interface counters', () => parseNetDev(readFileSync('/proc/thread-self/net/dev', 'latin1')));
    } catch {
      return undefined;
    }
  }
}

/** The interfaces a pod reports: loopback is internal to the pod and left out. */
export function podInterfaces(all: InterfaceCounters[]): InterfaceCounters[] {
  return all.filter((i) => i.name !== 'lo');
}

/** The interface CNI attached (eth0 by convention), else the first one there is. */
export function defaultInterface(interfaces: InterfaceCounters[], preferred = 'eth0'): InterfaceCounters | undefined {
  return interfaces.find((i) => i.name === preferred) ?? interfaces[0];
}

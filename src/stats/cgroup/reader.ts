import { join } from 'node:path';
import type { CgroupLayout } from '../../cgroup/layout';
import { readV1Cpu, readV1Memory, readV1Pids } from './v1';
import { readV2Cpu, readV2Memory, readV2Pids, readV2Pressure } from './v2';
import { wallClockNs, type CgroupSample } from './sample';
import { KeptOpenFiles, type ReadFile } from './files';

export interface ReadOptions {
  /** Also read what only the Prometheus-style metrics need (user/system CPU, failcnt, OOM kills). */
  extended?: boolean;
}

/**
 * Reads a cgroup's statistics wherever this host keeps each controller: on a v1 hierarchy when it
 * is mounted there, else on the unified one. The layout is resolved once; a read is then only the
 * stat files themselves (about eight for CRI stats), each a pread on a descriptor kept open per
 * cgroup: no directory listing, no mountinfo, no open/close per read.
 */
export class CgroupStatsReader {
  private readonly cpuV1: string | undefined;
  private readonly memoryV1: string | undefined;
  private readonly pidsV1: string | undefined;
  private readonly v2Root: string | undefined;
  private readonly memoryV2: boolean;
  private readonly pidsV2: boolean;

  constructor(
    layout: CgroupLayout,
    private readonly files = new KeptOpenFiles(),
  ) {
    this.cpuV1 = layout.v1['cpuacct'];
    this.memoryV1 = layout.v1['memory'];
    this.pidsV1 = layout.v1['pids'];
    this.v2Root = layout.v2Root;
    this.memoryV2 = this.memoryV1 === undefined && layout.v2Controllers.includes('memory');
    this.pidsV2 = this.pidsV1 === undefined && layout.v2Controllers.includes('pids');
  }

  /** `cgroupPath` is relative to each hierarchy's root (the cgroupfs driver's cgroupsPath). */
  read(cgroupPath: string, opts: ReadOptions = {}): CgroupSample {
    const extended = opts.extended ?? false;
    const read: ReadFile = (path) => this.files.read(path, cgroupPath);
    const sample: CgroupSample = { timestampNs: wallClockNs(), monotonicNs: process.hrtime.bigint() };
    const v2Dir = this.v2Root !== undefined ? join(this.v2Root, cgroupPath) : undefined;

    if (this.cpuV1 !== undefined) sample.cpu = readV1Cpu(read, join(this.cpuV1, cgroupPath), extended);
    else if (v2Dir !== undefined) sample.cpu = readV2Cpu(read, v2Dir, extended);

    const mem = this.memoryV1 !== undefined
      ? readV1Memory(read, join(this.memoryV1, cgroupPath), extended)
      : this.memoryV2 && v2Dir !== undefined ? readV2Memory(read, v2Dir, extended) : undefined;
    if (mem !== undefined) {
      sample.memory = mem.memory;
      sample.swap = mem.swap;
    }

    if (this.pidsV1 !== undefined) sample.pids = readV1Pids(read, join(this.pidsV1, cgroupPath), extended);
    else if (this.pidsV2 && v2Dir !== undefined) sample.pids = readV2Pids(read, v2Dir, extended);

    if (v2Dir !== undefined) {
      const psi = readV2Pressure(read, v2Dir);
      if (sample.cpu && psi.cpu) sample.cpu.psi = psi.cpu;
      if (sample.memory && psi.memory) sample.memory.psi = psi.memory;
      if (psi.io) sample.io = { psi: psi.io };
    }
    return sample;
  }

  /** Closes what was kept open for cgroups not in `alive` (removed containers and pods). */
  retain(alive: ReadonlySet<string>): void {
    this.files.retain((cgroupPath) => alive.has(cgroupPath));
  }

  close(): void {
    this.files.closeAll();
  }
}

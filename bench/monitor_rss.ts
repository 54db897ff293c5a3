/**
 * Memory per container of shoal-monitor next to Debian containerd's containerd-shim-runc-v2, for the
 * same busybox container (`sh -c 'seq 1 20000; exec sleep 1000'`: some output, then idle), plus
 * shoal-init's as a pod's PID 1. Reads VmRSS (/proc/PID/status) and Pss / private memory
 * (/proc/PID/smaps_rollup) once the containers are running. Goal: monitor VmRSS <= 1 MB and under
 * 1/10 of the shim's. Prints a table; asserts nothing.
 *
 * containerd runs with a temporary config, root, state and socket of its own (CRI plugin off), and
 * the container through `ctr run --rootfs` on the same rootfs the monitor's bundle uses.
 *
 * Run (as root, after `make -C native OUT=$PWD/bin`), from the repository root:
 *   node_modules/.bin/tsc --strict --outDir /tmp/shoal-bench --rootDir . --module commonjs --target ES2022 \
 *     --esModuleInterop --skipLibCheck bench/monitor_rss.ts && \
 *   SHOAL_REPO=$PWD node /tmp/shoal-bench/bench/monitor_rss.js [--containers 3]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeBundle, type Bundle } from '../test/helpers/bundle';
import { killProcessesMentioning, removeCgroupTree, unmountUnder } from '../test/helpers/cleanup';
import { MONITOR, startMonitored, type MonitoredContainer } from '../test/native/monitor_harness';

const REPO = process.env.SHOAL_REPO ?? process.cwd();
const args = process.argv.slice(2);
const N = args.includes('--containers') ? Number(args[args.indexOf('--containers') + 1]) : 3;
const COMMAND = ['/bin/sh', '-c', 'seq 1 20000; exec sleep 1000'];

interface Mem {
  rss: number;
  pss: number;
  priv: number;
}

function memOf(pid: number): Mem {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (text: string, key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return {
    rss: kb(status, 'VmRSS'),
    pss: kb(rollup, 'Pss'),
    priv: kb(rollup, 'Private_Clean') + kb(rollup, 'Private_Dirty'),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const medianMem = (ms: Mem[]): Mem => ({
  rss: median(ms.map((m) => m.rss)),
  pss: median(ms.map((m) => m.pss)),
  priv: median(ms.map((m) => m.priv)),
});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until<T>(what: string, f: () => T | undefined, ms = 20000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function pidsMentioning(needle: string, exe: string): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8');
      if (cmd.includes(needle) && path.basename(cmd.split('\0')[0]) === exe) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** A containerd of our own, with everything under one temp dir. */
class TempContainerd {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-ctrd-'));
  readonly sock = path.join(this.dir, 'containerd.sock');
  readonly ns = `shoalbench${process.pid}`;
  private proc?: ChildProcess;
  private ids: string[] = [];

  async start(): Promise<void> {
    const config = [
      'version = 2',
      `root = "${this.dir}/root"`,
      `state = "${this.dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]',
      '[grpc]',
      `  address = "${this.sock}"`,
      '[ttrpc]',
      `  address = "${this.sock}.ttrpc"`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(this.dir, 'config.toml'), config);
    this.proc = spawn('containerd', ['--config', path.join(this.dir, 'config.toml')], {
      stdio: ['ignore', 'ignore', fs.openSync(path.join(this.dir, 'containerd.log'), 'w')],
    });
    await until('containerd socket', () => (fs.existsSync(this.sock) ? true : undefined));
  }

  ctr(...a: string[]): string {
    const r = spawnSync('ctr', ['--address', this.sock, '--namespace', this.ns, ...a], { encoding: 'utf8', timeout: 60000 });
    if (r.status !== 0) throw new Error(`ctr ${a.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** Runs the container detached; resolves with its shim's pid. */
  async run(id: string, rootfs: string): Promise<number> {
    this.ids.push(id);
    this.ctr('run', '-d', '--rootfs', rootfs, id, ...COMMAND);
    return until(`the shim of ${id}`, () => {
      const pids = pidsMentioning(`${this.sock}`, 'containerd-shim-runc-v2').filter((p) =>
        fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(id));
      return pids.length > 0 ? pids[0] : undefined;
    });
  }

  stop(): void {
    for (const id of this.ids) {
      for (const a of [['task', 'kill', '-s', 'SIGKILL', id], ['task', 'delete', '-f', id], ['container', 'delete', id]]) {
        try {
          this.ctr(...a);
        } catch {
          /* already gone */
        }
      }
      removeCgroupTree(`/${this.ns}/${id}`);
    }
    removeCgroupTree(`/${this.ns}`);
    this.proc?.kill('SIGKILL');
    killProcessesMentioning(this.dir);
    unmountUnder(this.dir);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

async function initMem(): Promise<Mem> {
  const u = spawn('unshare', ['--pid', '--fork', '--kill-child', path.join(REPO, 'bin/shoal-init')], { stdio: 'ignore' });
  try {
    const pid = await until('shoal-init', () => {
      try {
        const kids = fs.readFileSync(`/proc/${u.pid}/task/${u.pid}/children`, 'utf8').trim();
        return kids ? Number(kids.split(' ')[0]) : undefined;
      } catch {
        return undefined;
      }
    });
    await sleep(200);
    return memOf(pid);
  } finally {
    u.kill('SIGKILL');
  }
}

function isStatic(file: string): boolean {
  // An ELF with a PT_INTERP program header is dynamically linked.
  const r = spawnSync('readelf', ['-l', file], { encoding: 'utf8' });
  return r.status === 0 && !r.stdout.includes('INTERP');
}

async function main(): Promise<void> {
  const monitorBin = MONITOR;
  if (!fs.existsSync(monitorBin)) throw new Error(`${monitorBin} missing: make -C native OUT=$PWD/bin`);
  const monitors: MonitoredContainer[] = [];
  const bundles: Bundle[] = [];
  const ctrd = new TempContainerd();
  try {
    const monMem: Mem[] = [];
    for (let i = 0; i < N; i++) {
      const c = await startMonitored({ args: COMMAND });
      monitors.push(c);
      c.start();
      await until('the output in the log', () => (fs.existsSync(c.logPath) && fs.readFileSync(c.logPath, 'utf8').includes(' 20000\n') ? true : undefined));
    }
    await sleep(300);
    for (const c of monitors) monMem.push(memOf(c.monitorPid));

    await ctrd.start();
    const shimMem: Mem[] = [];
    const shims: number[] = [];
    for (let i = 0; i < N; i++) {
      const b = makeBundle({ args: COMMAND });
      bundles.push(b);
      shims.push(await ctrd.run(`rss-${process.pid}-${i}`, b.rootfs));
    }
    await sleep(1000);
    for (const pid of shims) shimMem.push(memOf(pid));
    const init = await initMem();

    const m = medianMem(monMem);
    const s = medianMem(shimMem);
    const row = (name: string, x: Mem) => `${name.padEnd(34)}${String(x.rss).padStart(8)}${String(x.pss).padStart(8)}${String(x.priv).padStart(9)}`;
    console.log(`memory per container, kB (median of ${N}; container: ${COMMAND.join(' ')})`);
    console.log(`${''.padEnd(34)}${'VmRSS'.padStart(8)}${'Pss'.padStart(8)}${'private'.padStart(9)}`);
    console.log(row(`shoal-monitor (${isStatic(monitorBin) ? 'static' : 'dynamic'})`, m));
    console.log(row('containerd-shim-runc-v2', s));
    console.log(row('shoal-init (pod PID 1)', init));
    console.log(`monitor / shim: VmRSS ${(m.rss / s.rss).toFixed(3)}, Pss ${(m.pss / s.pss).toFixed(3)}, private ${(m.priv / s.priv).toFixed(3)}`);
    console.log(`goal VmRSS <= 1024 kB: ${m.rss <= 1024 ? 'met' : 'missed'}; goal < 1/10 of the shim: ${m.rss * 10 < s.rss ? 'met' : 'missed'}`);
  } finally {
    for (const c of monitors) c.cleanup();
    for (const b of bundles) b.cleanup();
    ctrd.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});

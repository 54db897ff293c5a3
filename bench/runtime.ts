/**
 * OCI runtime benchmark: `shoal-runtime run` vs Debian's `crun run` and `runc run` on the same
 * busybox bundle (process `true`): 50 sequential runs (interleaved round-robin so drift hits all three
 * alike) and 10 parallel runs, in one invocation. Prints medians, p95 and the ratios; asserts nothing.
 *
 * Debian 12's crun (1.8) refuses a hybrid host whose cgroup2 mount has controllers (this one has
 * hugetlb there), so the benchmark re-executes itself in a private mount namespace with that cgroup2
 * mount detached: all three runtimes then see the same v1-only layout.
 *
 * Run (as root, after `make -C native OUT=$PWD/bin`), from the repository root:
 *   node_modules/.bin/tsc --strict --outDir /tmp/shoal-bench --rootDir . --module commonjs --target ES2022 \
 *     --esModuleInterop --skipLibCheck bench/runtime.ts && \
 *   SHOAL_REPO=$PWD node /tmp/shoal-bench/bench/runtime.js [--runs 50] [--parallel 10] [--seccomp]
 *
 * SHOAL_RUNTIME=/path/to/shoal-runtime measures another build (e.g. before/after a change) in the
 * same invocation layout; --favoured runs the benchmark, the runtimes and the containers (each
 * run gets a bundle whose cgroupsPath lies below it, same rootfs) in a cpu cgroup of high weight at
 * nice -19: the closest this shared 2-CPU machine gets to a quiet one.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultSeccompProfile } from '../src/container/spec/seccomp_default';
import { Bundle, makeBundle } from '../test/helpers/bundle';

const REPO = process.env.SHOAL_REPO ?? process.cwd();
const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const RUNS = opt('--runs', 50);
const PARALLEL = opt('--parallel', 10);
const INNER = args.includes('--inner');
const FAVOURED = args.includes('--favoured');
/** The container gets shoald's default seccomp profile (RuntimeDefault), as restricted pods do. */
const SECCOMP = args.includes('--seccomp');
const FAVOURED_CGROUP = '/sys/fs/cgroup/cpu/shoal-bench-favoured';

interface Runtime {
  name: string;
  bin: string;
  root: string;
}

function which(bin: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function cgroup2HasControllers(): string | undefined {
  const line = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => / - cgroup2 /.test(l));
  const hasV1 = / - cgroup /.test(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
  if (!line || !hasV1) return undefined;
  const mnt = line.split(' ')[4];
  return fs.readFileSync(path.join(mnt, 'cgroup.controllers'), 'utf8').trim() ? mnt : undefined;
}

/** --favoured: a bundle of its own (config only, the shared rootfs) whose cgroup is below the favoured one. */
function favouredBundle(bundle: Bundle, id: string): string {
  const dir = path.join(path.dirname(bundle.dir), `favoured-${id}`);
  fs.mkdirSync(dir);
  const spec = { ...bundle.spec, root: { ...bundle.spec.root, path: bundle.rootfs } };
  spec.linux = { ...spec.linux, cgroupsPath: `/${path.basename(FAVOURED_CGROUP)}/${id}` };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
  return dir;
}

/** One `run` of the bundle; resolves with the wall time in ms. */
function runOnce(rt: Runtime, shared: Bundle, id: string): Promise<number> {
  const bundle = FAVOURED ? favouredBundle(shared, id) : shared.dir;
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(rt.bin, ['--root', rt.root, 'run', '--bundle', bundle, id], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`${rt.name} run ${id} exited ${code}: ${err.trim()}`));
      else resolve(ms);
    });
  });
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const progress = (msg: string) => process.stderr.write(`\r\x1b[K${msg}`);

async function main(): Promise<void> {
  const unified = cgroup2HasControllers();
  if (!INNER && unified) {
    // Same view for every runtime: re-run in a private mount namespace without the cgroup2 mount.
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', process.execPath, ...process.execArgv, __filename, ...args, '--inner'], {
      stdio: 'inherit',
      env: { ...process.env, SHOAL_BENCH_DETACH: unified },
    });
    process.exit(r.status ?? 1);
  }
  if (INNER && process.env.SHOAL_BENCH_DETACH) {
    const u = spawnSync('umount', [process.env.SHOAL_BENCH_DETACH], { encoding: 'utf8' });
    if (u.status !== 0) throw new Error(`umount ${process.env.SHOAL_BENCH_DETACH}: ${u.stderr}`);
  }

  let cpuCgroupBefore = '';
  if (FAVOURED) {
    // cgroup v1 cpu controller: weight relative to the other top-level groups
    if (!fs.existsSync('/sys/fs/cgroup/cpu/cpu.shares')) throw new Error('--favoured needs the cgroup v1 cpu controller at /sys/fs/cgroup/cpu');
    const line = fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => /^\d+:([^:]*,)?cpu(,[^:]*)?:/.test(l));
    cpuCgroupBefore = line ? line.slice(line.lastIndexOf(':') + 1) : '/';
    fs.mkdirSync(FAVOURED_CGROUP, { recursive: true });
    fs.writeFileSync(path.join(FAVOURED_CGROUP, 'cpu.shares'), '262144');
    fs.writeFileSync(path.join(FAVOURED_CGROUP, 'cgroup.procs'), String(process.pid));
    os.setPriority(process.pid, -19);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-bench-rt-'));
  const bundle = makeBundle({
    args: ['true'],
    parent: tmp,
    edit: SECCOMP ? (s) => (s.linux.seccomp = { ...defaultSeccompProfile(s.process.capabilities?.bounding ?? []) }) : undefined,
  });
  const shoalBin = process.env.SHOAL_RUNTIME ?? path.join(REPO, 'bin/shoal-runtime');
  const runtimes: Runtime[] = [{ name: 'shoal', bin: shoalBin, root: path.join(tmp, 'shoal') }];
  for (const name of ['crun', 'runc']) {
    const bin = which(name);
    if (bin) runtimes.push({ name, bin, root: path.join(tmp, name) });
    else process.stderr.write(`${name} not installed: skipped\n`);
  }
  if (!fs.existsSync(runtimes[0].bin)) throw new Error(`${runtimes[0].bin} missing: make -C native OUT=$PWD/bin`);
  const seq: Record<string, number[]> = {};
  const par: Record<string, number[]> = {};
  const parWall: Record<string, number> = {};
  let n = 0;
  try {
    // warm-up: page cache and first-run effects for every runtime
    for (const rt of runtimes) await runOnce(rt, bundle, `warm-${rt.name}`);
    for (let i = 0; i < RUNS; i++) {
      for (const rt of runtimes) {
        progress(`sequential ${i + 1}/${RUNS} ${rt.name}`);
        (seq[rt.name] ??= []).push(await runOnce(rt, bundle, `seq-${rt.name}-${n++}`));
      }
    }
    for (const rt of runtimes) {
      progress(`parallel ${PARALLEL} × ${rt.name}`);
      const t0 = process.hrtime.bigint();
      par[rt.name] = await Promise.all(Array.from({ length: PARALLEL }, () => runOnce(rt, bundle, `par-${rt.name}-${n++}`)));
      parWall[rt.name] = Number(process.hrtime.bigint() - t0) / 1e6;
    }
    progress('');
    const crun = seq.crun ? median(seq.crun) : NaN;
    const runc = seq.runc ? median(seq.runc) : NaN;
    const crunPar = parWall.crun ?? NaN;
    console.log(
      `OCI runtime \`run\` of busybox \`true\` — ${RUNS} sequential, ${PARALLEL} parallel (${os.cpus().length} CPUs, load ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}${unified ? `, ${unified} detached for crun` : ''}${FAVOURED ? ', favoured cpu cgroup' : ''}${SECCOMP ? ', default seccomp profile' : ''})`,
    );
    console.log('runtime   seq p50 ms  seq p95 ms  par p50 ms  par wall ms  p50 vs crun  p50 vs runc  wall vs crun');
    for (const rt of runtimes) {
      const p50 = median(seq[rt.name]);
      const row = [
        rt.name.padEnd(8),
        p50.toFixed(2).padStart(10),
        quantile(seq[rt.name], 0.95).toFixed(2).padStart(11),
        median(par[rt.name]).toFixed(2).padStart(11),
        parWall[rt.name].toFixed(1).padStart(12),
        `${(p50 / crun).toFixed(2)}×`.padStart(12),
        `${(p50 / runc).toFixed(2)}×`.padStart(12),
        `${(parWall[rt.name] / crunPar).toFixed(2)}×`.padStart(13),
      ];
      console.log(row.join(' '));
    }
  } finally {
    for (const rt of runtimes) {
      const l = spawnSync(rt.bin, ['--root', rt.root, 'list', '-q'], { encoding: 'utf8' });
      for (const id of (l.stdout ?? '').split('\n').filter(Boolean)) spawnSync(rt.bin, ['--root', rt.root, 'delete', '--force', id]);
    }
    bundle.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
    if (FAVOURED) {
      // back to where we were so that the favoured group can go
      fs.writeFileSync(path.join('/sys/fs/cgroup/cpu', cpuCgroupBefore, 'cgroup.procs'), String(process.pid));
      try {
        fs.rmdirSync(FAVOURED_CGROUP);
      } catch {
        /* another favoured run still in it */
      }
    }
    // shoal-runtime's default cgroup parent (/shoal-runtime/<id>) and the favoured parent in the
    // other hierarchies: removed when left empty
    for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => / - cgroup2? /.test(l))) {
      for (const parent of ['shoal-runtime', ...(FAVOURED ? [path.basename(FAVOURED_CGROUP)] : [])]) {
        const dir = path.join(line.split(' ')[4], parent);
        if (dir === FAVOURED_CGROUP) continue; // we are still in it
        try {
          fs.rmdirSync(dir);
        } catch {
          /* absent or still in use */
        }
      }
    }
  }
}

main().catch((e: Error) => {
  process.stderr.write(`\n${e.message}\n`);
  process.exit(1);
});

/**
 * Image pull benchmark: cold pull + unpack of a generated 5-layer ≈200 MB image, and the p50/p95
 * latency of a 1 MB single-layer image, from a local Debian docker-registry, by shoal's
 * ImageManager (in-process: the same code PullImage runs, without the gRPC hop) and by Debian's
 * containerd (started here with a temporary root/state, driven with `ctr images pull`, which also
 * unpacks into its overlayfs snapshotter). Every pull starts cold: shoal on a fresh store, containerd
 * after `ctr images rm --sync` (synchronous GC of content and snapshots). Prints times and ratios;
 * asserts nothing.
 *
 * Run (as root), from the repository root:
 *   node_modules/.bin/tsc --strict --outDir /tmp/shoal-bench --rootDir . --module commonjs --target ES2022 \
 *     --esModuleInterop --skipLibCheck --resolveJsonModule bench/image_pull.ts && \
 *   node /tmp/shoal-bench/bench/image_pull.js [--runs N] [--small-runs N] [--mb 200] [--only shoal|containerd]
 * (`--only shoal` skips containerd: for profiling shoal's side, e.g. under `node --cpu-prof`.)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { configSchema } from '../src/config/schema';
import { ImageManager } from '../src/image/manager';
import { closeRegistryConnections } from '../src/image/registry/client';
import { startRegistry, type TestRegistry } from '../test/helpers/registry';
import { buildImage, pushImage, tarOf, type TarEntry } from '../test/helpers/test_images';
import { withDaemonNodeFlags } from './peer_setup';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const RUNS = opt('--runs', 3);
const SMALL_RUNS = opt('--small-runs', 20);
const TOTAL_MB = opt('--mb', 200);
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
if (ONLY !== undefined && ONLY !== 'shoal' && ONLY !== 'containerd') throw new Error(`--only takes shoal or containerd, not ${ONLY}`);
const runShoal = ONLY !== 'containerd';
const runContainerd = ONLY !== 'shoal';

/** A layer of ~`mb` MB: files that are half incompressible, half text, like real userlands. */
async function layer(mb: number, seed: number): Promise<Buffer> {
  const entries: TarEntry[] = [{ name: `layer${seed}/`, type: 'directory' }];
  const fileBytes = 256 * 1024;
  for (let i = 0; i < (mb * 1024 * 1024) / fileBytes; i++) {
    const content = i % 2 === 0 ? randomBytes(fileBytes) : Buffer.from(`line ${seed} ${i} of some ordinary configuration text\n`.repeat(fileBytes / 48).slice(0, fileBytes));
    entries.push({ name: `layer${seed}/f${i}`, content });
  }
  return tarOf(entries);
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function p95(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)];
}

async function shoalPull(registry: TestRegistry, ref: string): Promise<number> {
  const root = mkdtempSync(join(tmpdir(), 'shoal-bench-images-'));
  try {
    const config = configSchema.parse({ root, registry: { insecure: [registry.host] } });
    const images = await ImageManager.open({ root, config, log: pino({ level: 'silent' }) });
    const t0 = process.hrtime.bigint();
    await images.pull(ref, undefined);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    await images.close();
    return ms;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

interface Containerd {
  socket: string;
  stop(): Promise<void>;
}

async function startContainerd(): Promise<Containerd> {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-bench-containerd-'));
  const socket = join(dir, 'containerd.sock');
  writeFileSync(
    join(dir, 'config.toml'),
    `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"
[debug]
  level = "error"
`,
  );
  const child: ChildProcess = spawn('containerd', ['--config', join(dir, 'config.toml')], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    if (spawnSync('ctr', ['-a', socket, 'version'], { stdio: 'ignore' }).status === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    socket,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      spawnSync('sh', ['-c', `grep -o '${dir}[^ ]*' /proc/mounts | sort -r | xargs -r -n1 umount -l`]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function ctrPull(containerd: Containerd, ref: string): number {
  const t0 = process.hrtime.bigint();
  const res = spawnSync('ctr', ['-a', containerd.socket, '-n', 'bench', 'images', 'pull', '--plain-http', ref], { encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (res.status !== 0) throw new Error(`ctr pull ${ref}: ${res.stderr}`);
  const rm = spawnSync('ctr', ['-a', containerd.socket, '-n', 'bench', 'images', 'rm', '--sync', ref], { encoding: 'utf8' });
  if (rm.status !== 0) throw new Error(`ctr rm ${ref}: ${rm.stderr}`);
  return ms;
}

async function main(): Promise<void> {
  const registry = await startRegistry();
  let containerd: Containerd | undefined;
  try {
    process.stdout.write(`building a 5-layer ${TOTAL_MB} MB image…\n`);
    const layers = [];
    for (let i = 0; i < 5; i++) layers.push({ tar: await layer(TOTAL_MB / 5, i), compression: 'gzip' as const });
    const big = buildImage(layers);
    await pushImage(registry, 'bench/big', 'v1', big);
    const small = buildImage([{ tar: await tarOf([{ name: 'blob', content: randomBytes(1024 * 1024) }]), compression: 'gzip' }]);
    await pushImage(registry, 'bench/small', 'v1', small);
    const compressed = big.layers.reduce((n, l) => n + l.data.length, 0);
    process.stdout.write(`big image: ${(compressed / 1e6).toFixed(1)} MB compressed, ${TOTAL_MB} MB of files\n`);

    if (runContainerd) containerd = await startContainerd();
    const bigRef = `${registry.host}/bench/big:v1`;
    const smallRef = `${registry.host}/bench/small:v1`;
    const shoalBig: number[] = [];
    const ctrBig: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      if (containerd) ctrBig.push(ctrPull(containerd, bigRef));
      if (runShoal) shoalBig.push(await shoalPull(registry, bigRef));
    }
    const shoalSmall: number[] = [];
    const ctrSmall: number[] = [];
    for (let i = 0; i < SMALL_RUNS; i++) {
      if (containerd) ctrSmall.push(ctrPull(containerd, smallRef));
      if (runShoal) shoalSmall.push(await shoalPull(registry, smallRef));
    }
    const row = (name: string, s: number[], c: number[]) =>
      `${name.padEnd(28)} shoal p50 ${median(s).toFixed(1).padStart(8)} ms  p95 ${p95(s).toFixed(1).padStart(8)} ms | containerd p50 ${median(c).toFixed(1).padStart(8)} ms  p95 ${p95(c).toFixed(1).padStart(8)} ms | ratio ${(median(s) / median(c)).toFixed(2)}×\n`;
    // what `ctr` itself costs per call (process start + connect), included in containerd's times
    const ctrOverhead: number[] = [];
    for (let i = 0; containerd && i < SMALL_RUNS; i++) {
      const t0 = process.hrtime.bigint();
      spawnSync('ctr', ['-a', containerd.socket, 'version'], { stdio: 'ignore' });
      ctrOverhead.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    process.stdout.write(row(`cold pull ${TOTAL_MB} MB ×${RUNS}`, shoalBig, ctrBig));
    process.stdout.write(row(`cold pull 1 MB ×${SMALL_RUNS}`, shoalSmall, ctrSmall));
    if (containerd) process.stdout.write(`ctr client overhead (\`ctr version\`) p50 ${median(ctrOverhead).toFixed(1)} ms: part of every containerd time above\n`);
  } finally {
    closeRegistryConnections();
    await containerd?.stop();
    await registry.stop();
  }
}

withDaemonNodeFlags();
console.log(`node flags as bin/shoald: ${process.execArgv.join(' ')}`);
main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});

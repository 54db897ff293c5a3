/**
 * CRI container benchmark: the same workloads against shoald and Debian's containerd (CRI plugin,
 * runc shim) started here with temporary configs and roots, the same CNI conflist shape and the
 * same busybox image served by a local docker-registry. Both daemons run side by side and take
 * turns call by call. Prints p50/p95 and shoal/containerd ratios; asserts nothing.
 *
 * Workloads: pod + container start (RunPodSandbox → CreateContainer → StartContainer), container
 * lifecycle (Create → Start → Stop → Remove in one pod), ExecSync, ListContainers (timed to the
 * answer's arrival, and again after the bench's own decode of it) and ListContainerStats with 100
 * containers, Version calls 50 ms apart (as kubelet's calls come: the
 * daemon's CPU per call and the latency), and the RSS of the daemon plus its per-container
 * processes with 50 pods (one container each).
 *
 * Run (as root, after `make build`), from the repository root:
 *   node_modules/.bin/tsc --strict --outDir /tmp/shoal-bench --rootDir . --module commonjs --target ES2022 \
 *     --esModuleInterop --skipLibCheck --resolveJsonModule bench/cri.ts && \
 *   SHOAL_REPO=$PWD node /tmp/shoal-bench/bench/cri.js [--runs N] [--only shoal|containerd]
 *     [--workloads start,lifecycle,exec,lists,sparse,memory] [--memory-only]
 *
 * --memory-only skips the timed workloads (after the warm-up) and measures only the RSS at 50 pods:
 * a quicker A/B of memory settings, of daemons that have served less traffic than in a full run.
 * SHOALD=PATH starts another executable in place of bin/shoald (e.g. a copy of deploy/shoald.sh
 * with other node flags); it must exec node itself, so that its pid is the daemon's.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { configSchema } from '../src/config/schema';
import { ImageManager } from '../src/image/manager';
import { closeRegistryConnections } from '../src/image/registry/client';
import { startRegistry } from '../test/helpers/registry';
import { buildImage, busyboxEntries, pushImage, tarOf } from '../test/helpers/test_images';
import { REPO, conflist, pct, startContainerdProcess, untilQuiet, waitForSocket } from './peer_setup';
import { killProcessesMentioning, processesWhere, removeCgroupTree, unmountUnder } from '../test/helpers/cleanup';
import { procStatFields } from '../src/util/proc_stat';

const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1] ?? '') || 30;
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const ALL_WORKLOADS = ['start', 'lifecycle', 'exec', 'lists', 'sparse', 'memory'] as const;
type Workload = (typeof ALL_WORKLOADS)[number];
/** --workloads a,b picks some (a full run takes minutes on a loaded machine); --memory-only = memory. */
const WORKLOADS: ReadonlySet<Workload> = new Set(
  args.includes('--memory-only')
    ? ['memory']
    : args.includes('--workloads')
      ? (args[args.indexOf('--workloads') + 1] ?? '').split(',').map((w) => {
          if (!(ALL_WORKLOADS as readonly string[]).includes(w)) throw new Error(`--workloads: unknown workload ${w} (known: ${ALL_WORKLOADS.join(',')})`);
          return w as Workload;
        })
      : ALL_WORKLOADS,
);
const MEMORY_ONLY = WORKLOADS.size === 1 && WORKLOADS.has('memory');
const SHOALD = process.env.SHOALD ?? join(REPO, 'bin/shoald');
const LIST_CONTAINERS = 100;
/**
 * Lists are what kubelet calls every second: measured in steady state, after a warm-up. The
 * bench's gRPC client is JIT-compiled code too, and it reaches its steady speed only after some
 * 2500 calls (Version p50 falls from about 1.0 to 0.3 ms on this host, whether the server is fresh
 * or not); 4000 Version calls per runtime (a few seconds) come before anything cheap is timed.
 * ListContainerStats, 10–200 ms a call, gets a short one.
 */
const CLIENT_WARMUP = 4000;
const CHEAP_WARMUP = 1000;
const LIST_WARMUP = 20;
const LIST_RUNS = 200;
const RSS_PODS = 50;
/**
 * kubelet's calls come a few at a time with idle gaps between them, not back to back: each finds the
 * daemon idle, its caches cold, and whatever its runtime did meanwhile (collections, code thrown
 * away and not yet optimized again) shows. Measured after the other workloads have run.
 */
const SPARSE_RUNS = 200;
const SPARSE_GAP_MS = 50;
const CLOCK_TICKS_PER_S = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

type Message = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Call = (method: string, req: Message) => Promise<Message>;
/**
 * A RuntimeService call whose answer comes back as the bytes on the wire, with the decoder to turn
 * them into a message afterwards: the time until the bytes are here is the daemon's (and gRPC's),
 * the decode after it is the bench client's own protobufjs work, which grows with the size of
 * the answer whichever daemon sent it.
 */
type RawCall = (method: string, req: Message) => Promise<{ bytes: Buffer; decode: () => Message }>;

function criCalls(socket: string): { runtime: Call; runtimeRaw: RawCall; image: Call; close: () => void } {
  const def = protoLoader.loadSync(join(REPO, 'proto/runtime/v1/api.proto'), { keepCase: true, longs: String, enums: String, defaults: true });
  const v1 = (grpc.loadPackageDefinition(def).runtime as grpc.GrpcObject).v1 as grpc.GrpcObject;
  const opts = { 'grpc.max_receive_message_length': 64 * 1024 * 1024 };
  const rt = new (v1.RuntimeService as grpc.ServiceClientConstructor)(`unix://${socket}`, grpc.credentials.createInsecure(), opts);
  const im = new (v1.ImageService as grpc.ServiceClientConstructor)(`unix://${socket}`, grpc.credentials.createInsecure(), opts);
  const mk = (client: grpc.Client): Call => (method, req) =>
    new Promise((res, rej) => {
      const fn = (client as unknown as Record<string, (r: Message, o: object, cb: (e: Error | null, m: Message) => void) => void>)[method]!;
      fn.call(client, req, { deadline: Date.now() + 120_000 }, (e, m) => (e ? rej(new Error(`${method}: ${e.message}`)) : res(m)));
    });
  const methods = def['runtime.v1.RuntimeService'] as Record<string, { requestSerialize: (m: Message) => Buffer; responseDeserialize: (b: Buffer) => Message }>;
  const runtimeRaw: RawCall = (method, req) =>
    new Promise((res, rej) => {
      const m = methods[method];
      if (!m) return rej(new Error(`${method}: not a RuntimeService method`));
      rt.makeUnaryRequest(`/runtime.v1.RuntimeService/${method}`, m.requestSerialize, (b: Buffer) => b, req, { deadline: Date.now() + 120_000 }, (e, bytes) =>
        e || !bytes ? rej(new Error(`${method}: ${e?.message ?? 'no answer'}`)) : res({ bytes, decode: () => m.responseDeserialize(bytes) }),
      );
    });
  return { runtime: mk(rt), runtimeRaw, image: mk(im), close: () => (rt.close(), im.close()) };
}




interface Runtime {
  name: string;
  runtime: Call;
  runtimeRaw: RawCall;
  image: Call;
  /** Pids of the daemon and of every per-pod/per-container process it keeps. */
  pids(): number[];
  stop(): Promise<void>;
}

async function startShoal(dir: string, cniDir: string, cgroupParent: string, registryHost: string, image: string): Promise<Runtime> {
  const socket = join(dir, 'shoal.sock');
  const config = join(dir, 'shoal.toml');
  const root = join(dir, 'root');
  const runDir = join(dir, 'run');
  writeFileSync(config, `[metrics]\naddress = ""\n[cni]\nconf_dir = "${cniDir}"\n[runtime]\ndefault_cgroup_parent = "${cgroupParent}"\n[registry]\ninsecure = ["${registryHost}"]\n`);
  // The image goes into shoal's store through the image part's own pull (as PullImage would).
  const images = await ImageManager.open({ root, config: configSchema.parse({ root, registry: { insecure: [registryHost] } }), log: pino({ level: 'silent' }) });
  await images.pull(image, undefined);
  await images.close();
  const child = spawn(SHOALD, ['--config', config, '--socket', socket, '--root', root, '--run-dir', runDir, '--log-level', process.env.SHOAL_BENCH_LOG ?? 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForSocket(socket, child, 'shoald');
  const { runtime, runtimeRaw, image: im, close } = criCalls(socket);
  return {
    name: 'shoal',
    runtime,
    runtimeRaw,
    image: im,
    pids: () => [child.pid!, ...processesMentioning(runDir, 'shoal-monitor'), ...processesMentioning(runDir, 'shoal-init')],
    async stop() {
      close();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function startContainerd(dir: string, cniDir: string, registryHost: string): Promise<Runtime> {
  const { socket, child } = await startContainerdProcess(dir, cniDir, registryHost);
  const { runtime, runtimeRaw, image, close } = criCalls(socket);
  return {
    name: 'containerd',
    runtime,
    runtimeRaw,
    image,
    pids: () => [child.pid!, ...processesMentioning(socket, 'containerd-shim')],
    async stop() {
      close();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

function processesMentioning(needle: string, name: string): number[] {
  return processesWhere((cmd) => cmd.includes(needle) && cmd.includes(name));
}

/** VmRSS split into its anonymous (heaps, JIT code) and file-backed (executable, libraries) parts. */
function rssSplitKb(pid: number): { anon: number; file: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
  } catch {
    return { anon: 0, file: 0 };
  }
}

function rssKb(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return Number(line?.split(/\s+/)[1] ?? 0);
  } catch {
    return 0;
  }
}

let podCounter = 0;
function podConfig(cgroupParent: string): Message {
  const uid = `${++podCounter}-${randomBytes(4).toString('hex')}`;
  return {
    metadata: { name: `bench-${uid}`, namespace: 'bench', uid, attempt: 0 },
    hostname: `bench-${podCounter}`,
    log_directory: '',
    linux: { cgroup_parent: `${cgroupParent}/pod${uid}`, security_context: { namespace_options: { network: 'POD', ipc: 'POD', pid: 'CONTAINER' } } },
  };
}

let containerCounter = 0;
function containerConfig(image: string, command: string[]): Message {
  return {
    metadata: { name: `c${++containerCounter}`, attempt: 0 },
    image: { image },
    command,
    log_path: '',
    linux: { security_context: { namespace_options: { network: 'POD', ipc: 'POD', pid: 'CONTAINER' } } },
  };
}

/** Sleeps until told to stop (SIGTERM ends it at once even as PID 1). */
const SLEEPER = ['/bin/sh', '-c', 'trap "exit 0" TERM; sleep 100000 & wait'];

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

interface Series {
  podAndContainer: number[];
  /** The RunPodSandbox and the Create+Start parts of podAndContainer. */
  podPart: number[];
  containerPart: number[];
  lifecycle: number[];
  exec: number[];
  /** ListContainers until its bytes are here, and until the bench client has decoded them. */
  list: number[];
  listDecoded: number[];
  /** The answer's size in bytes. */
  listBytes: number;
  listStats: number[];
  rssKb: number;
  /** Version round trips: the per-call floor of the daemon's gRPC stack. */
  version: number[];
  /** Version round trips SPARSE_GAP_MS apart, and the daemon's CPU time over them per call. */
  sparse: number[];
  sparseCpuMs: number;
  /** The daemon's RSS before any pod. */
  idleRssKb: number;
  /** The daemon's own share of rssKb (and its anonymous part), and how many other processes made up the rest. */
  daemonRssKb: number;
  daemonAnonKb: number;
  helpers: number;
}

async function createStarted(rt: Runtime, podId: string, pod: Message, image: string): Promise<string> {
  const id = (await rt.runtime('CreateContainer', { pod_sandbox_id: podId, config: containerConfig(image, SLEEPER), sandbox_config: pod })).container_id as string;
  await rt.runtime('StartContainer', { container_id: id });
  return id;
}

async function removePod(rt: Runtime, id: string): Promise<void> {
  await rt.runtime('StopPodSandbox', { pod_sandbox_id: id });
  await rt.runtime('RemovePodSandbox', { pod_sandbox_id: id });
}

/**
 * The runtimes take turns call by call (round-robin, alternating who goes first), so drift in the
 * machine's speed over the minutes of a run, which is larger here than the gaps being measured,
 * hits both alike; each timed pod, container or exec call waits for a quiet machine (untilQuiet). Each runtime works under its own cgroup parent and keeps its own pods.
 */
const order = (i: number, rts: Runtime[]): Runtime[] => (i % 2 === 0 ? rts : [...rts].reverse());

function emptySeries(rt: Runtime): Series {
  return { podAndContainer: [], podPart: [], containerPart: [], lifecycle: [], exec: [], list: [], listDecoded: [], listBytes: 0, listStats: [], rssKb: 0, daemonRssKb: 0, daemonAnonKb: 0, helpers: 0, version: [], sparse: [], sparseCpuMs: 0, idleRssKb: rssKb(rt.pids()[0]!) };
}

async function measure(rts: Runtime[], cgroupParent: string, image: string): Promise<Record<string, Series>> {
  const out: Record<string, Series> = Object.fromEntries(rts.map((rt) => [rt.name, emptySeries(rt)]));
  const cg = (rt: Runtime): string => `${cgroupParent}/${rt.name}`;
  for (let i = 0; i < CLIENT_WARMUP + LIST_RUNS; i++) {
    for (const rt of order(i, rts)) {
      const t0 = process.hrtime.bigint();
      await rt.runtime('Version', {});
      if (i >= CLIENT_WARMUP) out[rt.name]!.version.push(ms(t0));
    }
  }
  // Warm-up: first plugin execs, the bridge, first container of the image.
  for (let i = 0; i < 2; i++) {
    for (const rt of rts) {
      const pod = podConfig(cg(rt));
      const id = (await rt.runtime('RunPodSandbox', { config: pod })).pod_sandbox_id as string;
      await createStarted(rt, id, pod, image);
      await removePod(rt, id);
    }
  }
  // 1. pod + container start
  for (let i = 0; WORKLOADS.has('start') && i < RUNS; i++) {
    for (const rt of order(i, rts)) {
      await untilQuiet();
      await podAndContainerStart(rt, cg(rt), image, out[rt.name]!);
    }
  }
  // 2. container lifecycle and 3. ExecSync, in one pod per runtime
  if (WORKLOADS.has('lifecycle') || WORKLOADS.has('exec')) await lifecycleAndExec(rts, cg, image, out);
  if (WORKLOADS.has('lists')) await lists(rts, cg, image, out);
  if (WORKLOADS.has('sparse')) await sparseCalls(rts, out);
  // 6. memory with 50 pods of one container each, one runtime after the other
  for (const rt of WORKLOADS.has('memory') ? rts : []) await memoryAt50Pods(rt, cg(rt), image, out[rt.name]!);
  return out;
}

async function podAndContainerStart(rt: Runtime, cgroupParent: string, image: string, s: Series): Promise<void> {
  const pod = podConfig(cgroupParent);
  const t0 = process.hrtime.bigint();
  const id = (await rt.runtime('RunPodSandbox', { config: pod })).pod_sandbox_id as string;
  const t1 = process.hrtime.bigint();
  await createStarted(rt, id, pod, image);
  s.podAndContainer.push(ms(t0));
  s.podPart.push(Number(t1 - t0) / 1e6);
  s.containerPart.push(ms(t1));
  await removePod(rt, id);
}

async function memoryAt50Pods(rt: Runtime, cgroupParent: string, image: string, s: Series): Promise<void> {
  const rssPods: string[] = [];
  for (let p = 0; p < RSS_PODS; p++) {
    const cfg = podConfig(cgroupParent);
    const id = (await rt.runtime('RunPodSandbox', { config: cfg })).pod_sandbox_id as string;
    rssPods.push(id);
    await createStarted(rt, id, cfg, image);
  }
  await new Promise((r) => setTimeout(r, 1000));
  const pids = rt.pids();
  s.rssKb = pids.reduce((n, pid) => n + rssKb(pid), 0);
  s.daemonRssKb = rssKb(pids[0]!);
  s.daemonAnonKb = rssSplitKb(pids[0]!).anon;
  s.helpers = pids.length - 1;
  for (const id of rssPods) await removePod(rt, id);
}

async function lifecycleAndExec(rts: Runtime[], cg: (rt: Runtime) => string, image: string, out: Record<string, Series>): Promise<void> {
  const pods = new Map<string, { id: string; config: Message; target?: string }>();
  for (const rt of rts) {
    const config = podConfig(cg(rt));
    pods.set(rt.name, { id: (await rt.runtime('RunPodSandbox', { config })).pod_sandbox_id as string, config });
  }
  for (let i = 0; WORKLOADS.has('lifecycle') && i < RUNS; i++) {
    for (const rt of order(i, rts)) {
      const pod = pods.get(rt.name)!;
      await untilQuiet();
      const t0 = process.hrtime.bigint();
      const id = await createStarted(rt, pod.id, pod.config, image);
      // timeout 0: a graceful stop would race the shell installing its SIGTERM trap (PID 1 ignores
      // signals it has no handler for), which costs either runtime the whole grace period.
      await rt.runtime('StopContainer', { container_id: id, timeout: '0' });
      await rt.runtime('RemoveContainer', { container_id: id });
      out[rt.name]!.lifecycle.push(ms(t0));
    }
  }
  for (const rt of rts) {
    const pod = pods.get(rt.name)!;
    pod.target = await createStarted(rt, pod.id, pod.config, image);
  }
  for (let i = 0; WORKLOADS.has('exec') && i < RUNS + 2; i++) {
    for (const rt of order(i, rts)) {
      await untilQuiet();
      const t0 = process.hrtime.bigint();
      const r = await rt.runtime('ExecSync', { container_id: pods.get(rt.name)!.target, cmd: ['/bin/sh', '-c', 'echo ok'], timeout: '10' });
      if (i >= 2) out[rt.name]!.exec.push(ms(t0));
      if (Buffer.from(r.stdout as Buffer).toString() !== 'ok\n') throw new Error(`${rt.name} ExecSync answered ${JSON.stringify(r)}`);
    }
  }
  for (const rt of rts) await removePod(rt, pods.get(rt.name)!.id);
}

/** 4. lists with 100 containers (10 pods × 10) per runtime */
async function lists(rts: Runtime[], cg: (rt: Runtime) => string, image: string, out: Record<string, Series>): Promise<void> {
  const pods = new Map<string, string[]>();
  for (const rt of rts) {
    const ids: string[] = [];
    for (let p = 0; p < LIST_CONTAINERS / 10; p++) {
      const cfg = podConfig(cg(rt));
      const id = (await rt.runtime('RunPodSandbox', { config: cfg })).pod_sandbox_id as string;
      ids.push(id);
      await Promise.all(Array.from({ length: 10 }, () => createStarted(rt, id, cfg, image)));
    }
    pods.set(rt.name, ids);
  }
  for (let i = 0; i < CHEAP_WARMUP + LIST_RUNS; i++) {
    for (const rt of order(i, rts)) {
      const t0 = process.hrtime.bigint();
      const answer = await rt.runtimeRaw('ListContainers', {});
      const arrived = ms(t0);
      const l = answer.decode();
      const decoded = ms(t0);
      if (i >= CHEAP_WARMUP) {
        out[rt.name]!.list.push(arrived);
        out[rt.name]!.listDecoded.push(decoded);
      }
      out[rt.name]!.listBytes = answer.bytes.length;
      if ((l.containers as unknown[]).length !== LIST_CONTAINERS) throw new Error(`${rt.name} listed ${(l.containers as unknown[]).length} containers`);
    }
  }
  for (let i = 0; i < LIST_WARMUP + LIST_RUNS; i++) {
    for (const rt of order(i, rts)) {
      const t0 = process.hrtime.bigint();
      await rt.runtime('ListContainerStats', {});
      if (i >= LIST_WARMUP) out[rt.name]!.listStats.push(ms(t0));
    }
  }
  for (const rt of rts) for (const id of pods.get(rt.name)!) await removePod(rt, id);
}

/** CPU time (user + system) of process `pid` so far, in ms. */
function cpuMs(pid: number): number {
  const fields = procStatFields(pid);
  if (!fields) throw new Error(`process ${pid} is gone`);
  // utime and stime: fields 14 and 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}

/** 5. Version calls SPARSE_GAP_MS apart, runtimes taking turns. */
async function sparseCalls(rts: Runtime[], out: Record<string, Series>): Promise<void> {
  const before = new Map(rts.map((rt) => [rt.name, cpuMs(rt.pids()[0]!)]));
  for (let i = 0; i < SPARSE_RUNS; i++) {
    for (const rt of order(i, rts)) {
      await new Promise((r) => setTimeout(r, SPARSE_GAP_MS));
      const t0 = process.hrtime.bigint();
      await rt.runtime('Version', {});
      out[rt.name]!.sparse.push(ms(t0));
    }
  }
  for (const rt of rts) out[rt.name]!.sparseCpuMs = (cpuMs(rt.pids()[0]!) - before.get(rt.name)!) / SPARSE_RUNS;
}

function row(label: string, shoal: number[] | undefined, peer: number[] | undefined): string {
  const f = (x: number | undefined): string => (x === undefined ? '       -' : x.toFixed(2).padStart(8));
  const p50s = shoal && pct(shoal, 50);
  const p95s = shoal && pct(shoal, 95);
  const p50p = peer && pct(peer, 50);
  const p95p = peer && pct(peer, 95);
  const r = (a?: number, b?: number): string => (a !== undefined && b ? `${(a / b).toFixed(2)}x` : '-');
  return `${label.padEnd(26)} ${f(p50s)} ${f(p95s)}   ${f(p50p)} ${f(p95p)}   p50 ${r(p50s, p50p)}  p95 ${r(p95s, p95p)}`;
}

async function main(): Promise<void> {
  const base = mkdtempSync('/tmp/shoal-bench-cri-');
  const tag = randomBytes(2).toString('hex');
  const cgroupParent = `/shoal-bench-cri-${tag}`;
  const cniDir = join(base, 'cni');
  mkdirSync(cniDir);
  writeFileSync(join(cniDir, '10-bench.conflist'), conflist(base, tag, randomBytes(1)[0]!, { network: 'shoalcri', bridgePrefix: 'shcb', subnetBase: '10.251' }));
  const registry = await startRegistry();
  const results: Record<string, Series> = {};
  try {
    const layer = await tarOf([...busyboxEntries(), { name: 'proc/', type: 'directory' }, { name: 'sys/', type: 'directory' }, { name: 'dev/', type: 'directory' }]);
    await pushImage(registry, 'bench/busybox', 'v1', buildImage([{ tar: layer, compression: 'gzip' }], { env: ['PATH=/bin'] }));
    const image = `${registry.host}/bench/busybox:v1`;
    const rts: Runtime[] = [];
    try {
      for (const name of ['shoal', 'containerd'] as const) {
        if (ONLY && ONLY !== name) continue;
        const dir = join(base, name);
        mkdirSync(dir, { recursive: true });
        const rt = name === 'shoal' ? await startShoal(dir, cniDir, `${cgroupParent}/default`, registry.host, image) : await startContainerd(dir, cniDir, registry.host);
        rts.push(rt);
        if (name === 'containerd') await rt.image('PullImage', { image: { image } });
      }
      Object.assign(results, await measure(rts, cgroupParent, image));
    } finally {
      for (const rt of rts) await rt.stop();
    }
  } finally {
    closeRegistryConnections();
    await registry.stop();
    killProcessesMentioning(base);
    unmountUnder(base);
    removeCgroupTree(cgroupParent);
    spawnSync('ip', ['link', 'del', `shcb${tag}`], { stdio: 'ignore' });
    rmSync(base, { recursive: true, force: true });
  }
  const sh = results.shoal;
  const cd = results.containerd;
  if (!MEMORY_ONLY) {
    console.log(`runs: ${RUNS} sequential, runtimes taking turns; times in ms           shoal p50/p95        containerd p50/p95    ratios`);
    console.log(row('pod + container start', sh?.podAndContainer, cd?.podAndContainer));
    console.log(row('  of which RunPodSandbox', sh?.podPart, cd?.podPart));
    console.log(row('  of which Create+Start', sh?.containerPart, cd?.containerPart));
    console.log(row('container lifecycle', sh?.lifecycle, cd?.lifecycle));
    console.log(row('ExecSync', sh?.exec, cd?.exec));
    console.log(row('Version (per-call floor)', sh?.version, cd?.version));
    console.log(row(`ListContainers (${LIST_CONTAINERS})`, sh?.list, cd?.list));
    console.log(row('  and decoded by the bench', sh?.listDecoded, cd?.listDecoded));
    if (WORKLOADS.has('lists')) console.log(`  answer: shoal ${sh?.listBytes ?? '-'} bytes, containerd ${cd?.listBytes ?? '-'} bytes`);
    console.log(row(`ListContainerStats (${LIST_CONTAINERS})`, sh?.listStats, cd?.listStats));
    console.log(row(`Version, ${SPARSE_GAP_MS} ms apart`, sh?.sparse, cd?.sparse));
    if (WORKLOADS.has('sparse')) {
      const f = (r?: Series): string => (r ? `${r.sparseCpuMs.toFixed(2)} ms` : '-');
      console.log(`  daemon CPU per such call: shoal ${f(sh)}  containerd ${f(cd)}${sh && cd ? `  ratio ${(sh.sparseCpuMs / cd.sparseCpuMs).toFixed(2)}x` : ''}`);
    }
  }
  if (!WORKLOADS.has('memory')) return;
  const mb = (kb?: number): string => (kb === undefined ? '-' : `${(kb / 1024).toFixed(1)} MiB`);
  console.log(`RSS at ${RSS_PODS} pods (daemon + monitors | containerd + shims): shoal ${mb(sh?.rssKb)}  containerd ${mb(cd?.rssKb)}  ratio ${sh && cd ? (sh.rssKb / cd.rssKb).toFixed(2) : '-'}x`);
  for (const [name, r] of [['shoal', sh], ['containerd', cd]] as const) {
    if (r) console.log(`  ${name}: daemon ${mb(r.daemonRssKb)} (anonymous ${mb(r.daemonAnonKb)}; idle ${mb(r.idleRssKb)}), ${r.helpers} other processes ${mb(r.rssKb - r.daemonRssKb)} (${((r.rssKb - r.daemonRssKb) / Math.max(1, r.helpers)).toFixed(0)} kB each)`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

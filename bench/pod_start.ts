/**
 * Pod sandbox benchmark: RunPodSandbox and the full pod lifecycle (Run → Stop → Remove) over 50
 * sequential pods, against shoald and Debian's containerd (CRI plugin, runc) started here with a
 * temporary root and the same CNI conflist; plus the namespace-pinning micro-benchmark (koffi in
 * the daemon vs. a helper process). Prints p50/p95 and shoal/containerd ratios; asserts nothing.
 *
 * Run (as root, after `make build`), from the repository root:
 *   node_modules/.bin/tsc --strict --outDir /tmp/shoal-bench --rootDir . --module commonjs --target ES2022 \
 *     --esModuleInterop --skipLibCheck --resolveJsonModule bench/pod_start.ts && \
 *   SHOAL_REPO=$PWD node /tmp/shoal-bench/bench/pod_start.js [--pods N] [--only shoal|containerd|pinning]
 * SHOAL_BENCH_LOG=debug shows on stderr when each step of each pod's Run, Stop and Remove finished in shoald.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, conflist, pct, startContainerdProcess, untilQuiet, waitForSocket } from './peer_setup';
import { killProcessesMentioning, removeCgroupTree, unmountUnder } from '../test/helpers/cleanup';
import { NamespacePinner, unpinNamespaces } from '../src/sandbox/namespaces';
import { ensurePrivateMount } from '../src/sandbox/mounts';

const args = process.argv.slice(2);
const PODS = Number(args[args.indexOf('--pods') + 1] ?? '') || 50;
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;

type Message = Record<string, unknown>;
type Call = (method: string, req: Message) => Promise<Message>;

function criCall(socket: string): { call: Call; close: () => void } {
  const def = protoLoader.loadSync(join(REPO, 'proto/runtime/v1/api.proto'), { keepCase: true, longs: String, enums: String, defaults: true });
  const v1 = ((grpc.loadPackageDefinition(def).runtime as grpc.GrpcObject).v1 as grpc.GrpcObject).RuntimeService as grpc.ServiceClientConstructor;
  const client = new v1(`unix://${socket}`, grpc.credentials.createInsecure());
  const call: Call = (method, req) =>
    new Promise((res, rej) => {
      const fn = (client as unknown as Record<string, (r: Message, o: object, cb: (e: Error | null, m: Message) => void) => void>)[method]!;
      fn.call(client, req, { deadline: Date.now() + 120_000 }, (e, m) => (e ? rej(e) : res(m)));
    });
  return { call, close: () => client.close() };
}




interface Runtime {
  name: string;
  call: Call;
  stop(): Promise<void>;
}

async function startShoal(dir: string, cniDir: string, cgroupParent: string): Promise<Runtime> {
  const socket = join(dir, 'shoal.sock');
  const config = join(dir, 'shoal.toml');
  writeFileSync(config, `[metrics]\naddress = ""\n[cni]\nconf_dir = "${cniDir}"\n[runtime]\ndefault_cgroup_parent = "${cgroupParent}"\n`);
  const child = spawn(join(REPO, 'bin/shoald'), ['--config', config, '--socket', socket, '--root', join(dir, 'root'), '--run-dir', join(dir, 'run'), '--log-level', process.env.SHOAL_BENCH_LOG ?? 'warn'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForSocket(socket, child, 'shoald');
  const { call, close } = criCall(socket);
  return {
    name: 'shoal',
    call,
    async stop() {
      close();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function startContainerd(dir: string, cniDir: string): Promise<Runtime> {
  const { socket, child } = await startContainerdProcess(dir, cniDir);
  const { call, close } = criCall(socket);
  return {
    name: 'containerd',
    call,
    async stop() {
      close();
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

function podConfig(i: number, cgroupParent: string, tag: string): Message {
  const uid = `${tag}-${i}-${randomBytes(4).toString('hex')}`;
  return {
    metadata: { name: `bench-${uid}`, namespace: 'bench', uid, attempt: 0 },
    hostname: `bench-${i}`,
    log_directory: '',
    linux: {
      cgroup_parent: `${cgroupParent}/pod${uid}`,
      security_context: { namespace_options: { network: 'POD', ipc: 'POD', pid: 'CONTAINER' } },
    },
  };
}

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;


interface Series {
  /** RunPodSandbox while the earlier pods of the run stay up (both runtimes' pods: up to 2×PODS). */
  run: number[];
  /** RunPodSandbox of the lifecycle phase, where each pod is removed before the next one starts. */
  runAlone: number[];
  lifecycle: number[];
}

async function runPod(rt: Runtime, config: Message): Promise<string> {
  return ((await rt.call('RunPodSandbox', { config })) as { pod_sandbox_id: string }).pod_sandbox_id;
}

async function stopRemove(rt: Runtime, id: string): Promise<void> {
  await rt.call('StopPodSandbox', { pod_sandbox_id: id });
  await rt.call('RemovePodSandbox', { pod_sandbox_id: id });
}

/**
 * The runtimes take turns pod by pod (round-robin, alternating who goes first), so machine noise
 * hits them alike, and each timed call waits for a quiet machine (untilQuiet).
 */
async function measure(rts: Runtime[], cgroupParent: string): Promise<Record<string, Series>> {
  const out: Record<string, Series> = Object.fromEntries(rts.map((rt) => [rt.name, { run: [], runAlone: [], lifecycle: [] }]));
  const order = (i: number): Runtime[] => (i % 2 === 0 ? rts : [...rts].reverse());
  // Warm-up: first plugin execs and the bridge creation are not what is measured.
  for (let i = 0; i < 3; i++) for (const rt of rts) await stopRemove(rt, await runPod(rt, podConfig(i, `${cgroupParent}/${rt.name}`, 'warm')));
  const ids: Record<string, string[]> = Object.fromEntries(rts.map((rt) => [rt.name, []]));
  for (let i = 0; i < PODS; i++) {
    for (const rt of order(i)) {
      await untilQuiet();
      const t0 = process.hrtime.bigint();
      ids[rt.name]!.push(await runPod(rt, podConfig(i, `${cgroupParent}/${rt.name}`, 'run')));
      out[rt.name]!.run.push(ms(t0));
    }
  }
  for (const rt of rts) for (const id of ids[rt.name]!) await stopRemove(rt, id);
  for (let i = 0; i < PODS; i++) {
    for (const rt of order(i)) {
      await untilQuiet();
      const t0 = process.hrtime.bigint();
      const id = await runPod(rt, podConfig(i, `${cgroupParent}/${rt.name}`, 'life'));
      out[rt.name]!.runAlone.push(ms(t0));
      await stopRemove(rt, id);
      out[rt.name]!.lifecycle.push(ms(t0));
    }
  }
  return out;
}

/** Pinning net+ipc+uts with hostname and lo up: in-process (koffi) vs. one helper process per pod. */
async function pinningBench(dir: string): Promise<{ koffi: number[]; helper: number[] }> {
  const pins = join(dir, 'pins');
  ensurePrivateMount(pins);
  const pinner = new NamespacePinner();
  const koffi: number[] = [];
  const helper: number[] = [];
  for (let i = 0; i < 200; i++) {
    const d = join(pins, `k${i}`);
    mkdirSync(d);
    const t0 = process.hrtime.bigint();
    pinner.pin({ dir: d, kinds: ['net', 'ipc', 'uts'], hostname: `pod-${i}` });
    koffi.push(ms(t0));
  }
  for (let i = 0; i < 200; i++) {
    const d = join(pins, `h${i}`);
    mkdirSync(d);
    const t0 = process.hrtime.bigint();
    for (const k of ['net', 'ipc', 'uts']) writeFileSync(join(d, k), '');
    // util-linux unshare pins by bind-mounting, as a tiny dedicated helper would; `hostname` and
    // `ip link set lo up` are the in-namespace work the koffi path also does.
    await new Promise<void>((res, rej) => {
      const c = spawn('unshare', [`--net=${d}/net`, `--ipc=${d}/ipc`, `--uts=${d}/uts`, 'sh', '-c', `hostname pod-${i} && ip link set lo up`], { stdio: 'ignore' });
      c.on('exit', (code) => (code === 0 ? res() : rej(new Error(`unshare exit ${code}`))));
    });
    helper.push(ms(t0));
  }
  for (const name of readdirSync(pins)) {
    unpinNamespaces(join(pins, name));
    rmSync(join(pins, name), { recursive: true, force: true });
  }
  return { koffi, helper };
}

function row(label: string, shoal: number[] | undefined, peer: number[] | undefined): string {
  const f = (x: number | undefined): string => (x === undefined ? '     -' : x.toFixed(2).padStart(8));
  const p50s = shoal && pct(shoal, 50);
  const p95s = shoal && pct(shoal, 95);
  const p50p = peer && pct(peer, 50);
  const p95p = peer && pct(peer, 95);
  const r = (a?: number, b?: number): string => (a !== undefined && b ? `${(a / b).toFixed(2)}x` : '-');
  return `${label.padEnd(22)} ${f(p50s)} ${f(p95s)} ${f(p50p)} ${f(p95p)}   p50 ${r(p50s, p50p)}  p95 ${r(p95s, p95p)}`;
}

async function main(): Promise<void> {
  const base = mkdtempSync('/tmp/shoal-bench-pods-');
  const tag = randomBytes(2).toString('hex');
  const cgroupParent = `/shoal-bench-${tag}`;
  const cniDir = join(base, 'cni');
  mkdirSync(cniDir);
  writeFileSync(join(cniDir, '10-bench.conflist'), conflist(base, tag, randomBytes(1)[0]!, { network: 'shoalbench', bridgePrefix: 'shbb', subnetBase: '10.250' }));
  const results: Record<string, Series> = {};
  let pinning: { koffi: number[]; helper: number[] } | undefined;
  try {
    if (!ONLY || ONLY === 'pinning') pinning = await pinningBench(base);
    const rts: Runtime[] = [];
    try {
      for (const [name, start] of [
        ['shoal', () => startShoal(join(base, 'shoal'), cniDir, `${cgroupParent}/default`)],
        ['containerd', () => startContainerd(join(base, 'containerd'), cniDir)],
      ] as const) {
        if (ONLY === 'pinning' || (ONLY && ONLY !== name)) continue;
        mkdirSync(join(base, name), { recursive: true });
        rts.push(await start());
      }
      if (rts.length > 0) Object.assign(results, await measure(rts, cgroupParent));
    } finally {
      for (const rt of rts) await rt.stop();
    }
  } finally {
    killProcessesMentioning(base);
    unmountUnder(base);
    removeCgroupTree(cgroupParent);
    spawnSync('ip', ['link', 'del', `shbb${tag}`], { stdio: 'ignore' });
    rmSync(base, { recursive: true, force: true });
  }
  console.log(`pods: ${PODS} sequential; times in ms          shoal p50/p95   containerd p50/p95   ratios`);
  console.log(row('RunPodSandbox', results.shoal?.run, results.containerd?.run));
  // The bridge plugin's iptables calls read the whole nat table, which grows with the pods that
  // are up: the same pod start costs less when the earlier pods are gone.
  console.log(row('  with no other pod up', results.shoal?.runAlone, results.containerd?.runAlone));
  console.log(row('Run+Stop+Remove', results.shoal?.lifecycle, results.containerd?.lifecycle));
  if (pinning) {
    console.log(`\nnamespace pinning (net+ipc+uts, hostname, lo up), 200 pods   koffi p50/p95   helper p50/p95`);
    console.log(row('pin', pinning.koffi, pinning.helper));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

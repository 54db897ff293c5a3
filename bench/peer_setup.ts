/**
 * Set-up the peer benchmarks share: waiting for a daemon's socket, a private CNI network per run,
 * containerd's sandbox ("pause") image made from shoal-init, percentiles.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tarOf } from '../test/helpers/test_images';

export const REPO = process.env.SHOAL_REPO ?? process.cwd();

/**
 * The V8 flags bin/shoald gives node (deploy/shoald.sh). A bench that runs daemon code in its own
 * process (the image pull) re-executes itself with them, so the heap behaves as in the daemon.
 */
export function daemonNodeFlags(): string[] {
  const script = readFileSync(join(REPO, 'deploy/shoald.sh'), 'utf8');
  const line = /^exec node (.*?) "\$here/m.exec(script);
  if (!line) throw new Error('deploy/shoald.sh: no `exec node FLAGS "$here…` line to take the flags from');
  return line[1]!.split(/\s+/).filter((f) => f.startsWith('--'));
}

/** Re-runs this process under the daemon's node flags unless it has them; returns when it has. */
export function withDaemonNodeFlags(): void {
  const flags = daemonNodeFlags();
  if (flags.every((f) => process.execArgv.includes(f))) return;
  const r = spawnSync(process.execPath, [...process.execArgv, ...flags, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

export async function waitForSocket(path: string, child: ChildProcess, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!existsSync(path)) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}) before serving`);
    if (Date.now() > deadline) throw new Error(`${what} did not create ${path}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await new Promise((r) => setTimeout(r, 200));
}

/** A bridge network of the run's own: bridge `<bridgePrefix><tag>`, subnet `<subnetBase>.<octet>.0/24`. */
export function conflist(dir: string, tag: string, octet: number, names: { network: string; bridgePrefix: string; subnetBase: string }): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: `${names.network}-${tag}`,
    plugins: [
      {
        type: 'bridge',
        bridge: `${names.bridgePrefix}${tag}`,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: `${names.subnetBase}.${octet}.0/24` }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'ipam') },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
}

/** An OCI image archive whose only file is /pause = shoal-init (static; sleeps as PID 1, reaps). */
export async function pauseImageArchive(path: string, name: string): Promise<void> {
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  const layer = await tarOf([{ name: 'pause', content: readFileSync(join(REPO, 'bin/shoal-init')), mode: 0o755 }]);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Entrypoint: ['/pause'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${sha(layer)}`] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha(config)}`, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${sha(layer)}`, size: layer.length }],
    }),
  );
  const index = JSON.stringify({
    schemaVersion: 2,
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: `sha256:${sha(manifest)}`,
        size: manifest.length,
        annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name },
        platform: { architecture: 'amd64', os: 'linux' },
      },
    ],
  });
  const archive = await tarOf([
    { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'index.json', content: index },
    { name: 'blobs/', type: 'directory' },
    { name: 'blobs/sha256/', type: 'directory' },
    ...[layer, config, manifest].map((b) => ({ name: `blobs/sha256/${sha(b)}`, content: b })),
  ]);
  writeFileSync(path, archive);
}

/** CPU ticks since boot over all CPUs: [idle (with iowait), total]. */
function cpuTicks(): [number, number] {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  return [f[3]! + f[4]!, f.reduce((a, b) => a + b, 0)];
}

/**
 * Waits until the machine is quiet: a 50 ms window with the CPUs at least 90% idle, or `maxMs`.
 * Runtimes taking turns call by call otherwise bill each other's deferred teardown (containerd's
 * shim exits and garbage collection after RemovePodSandbox, shoald's reclaimer) to the next call
 * of the other runtime. Each measured call then starts on a quiet machine, whoever ran before it.
 */
export async function untilQuiet(maxMs = 2000): Promise<void> {
  const until = Date.now() + maxMs;
  while (Date.now() < until) {
    const [idle0, total0] = cpuTicks();
    await new Promise((r) => setTimeout(r, 50));
    const [idle1, total1] = cpuTicks();
    if (total1 > total0 && (idle1 - idle0) / (total1 - total0) >= 0.9) return;
  }
}

export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/**
 * Debian's containerd with a config, root and state of the run's own, the same CNI conf dir as
 * shoald, and shoal-init imported as its sandbox image; `registryHost` is reached over plain HTTP.
 */
export async function startContainerdProcess(dir: string, cniDir: string, registryHost?: string): Promise<{ socket: string; child: ChildProcess }> {
  const mirror = registryHost
    ? `  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."${registryHost}"]\n    endpoint = ["http://${registryHost}"]\n`
    : '';
  const socket = join(dir, 'containerd.sock');
  const pause = 'localhost/shoal-bench/pause:1';
  const config = join(dir, 'containerd.toml');
  writeFileSync(
    config,
    `version = 2
root = "${dir}/root"
state = "${dir}/state"
[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pause}"
  # This host refuses negative oom_score_adj (containerd gives sandboxes -998): clamp as kubelet-in-userns setups do.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${cniDir}"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
${mirror}`,
  );
  const child = spawn('containerd', ['--config', config, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'ignore'] });
  await waitForSocket(socket, child, 'containerd');
  const archive = join(dir, 'pause.tar');
  await pauseImageArchive(archive, pause);
  const imp = spawnSync('ctr', ['-a', socket, '-n', 'k8s.io', 'images', 'import', archive], { encoding: 'utf8' });
  if (imp.status !== 0) throw new Error(`ctr images import: ${imp.stderr}`);
  return { socket, child };
}

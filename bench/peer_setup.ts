/**
 * Set-up the peer benchmarks share: waiting for a daemon's socket, a private CNI network per run,
 * containerd's sandbox ("pause") image made from shoal-init, percentiles.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tarOf } from '../test/helpers/test_images';

export const REPO = process.env.SHOAL_REPO ?? process.cwd();

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

export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

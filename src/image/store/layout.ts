import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

/**
 * The image store on disk, under `<config.root>/images`:
 *   lock                       flock shared with `shoald image import`
 *   blobs/sha256/<hex>         manifests, indexes and configs (verified; layer blobs are not kept:
 *                              the unpacked layer, checked against its diff id, is the durable form)
 *   layers/<chain-hex>/fs      an unpacked layer: an overlay lowerdir
 *   layers/<chain-hex>/layer.json
 *   records/<id-hex>.json      image records
 *   holds/<holder>.json        layers a container uses (survive RemoveImage until released)
 *   tmp/<pid>-<random>         staging; committed by rename, leftovers of dead pids removed at start
 */
export class StoreLayout {
  constructor(readonly dir: string) {}

  get lockFile(): string {
    return join(this.dir, 'lock');
  }
  get blobsDir(): string {
    return join(this.dir, 'blobs', 'sha256');
  }
  get layersDir(): string {
    return join(this.dir, 'layers');
  }
  get recordsDir(): string {
    return join(this.dir, 'records');
  }
  get holdsDir(): string {
    return join(this.dir, 'holds');
  }
  get tmpDir(): string {
    return join(this.dir, 'tmp');
  }

  blob(digest: string): string {
    return join(this.blobsDir, hexOf(digest));
  }
  layer(chainId: string): string {
    return join(this.layersDir, hexOf(chainId));
  }
  layerFs(chainId: string): string {
    return join(this.layer(chainId), 'fs');
  }
  record(id: string): string {
    return join(this.recordsDir, `${hexOf(id)}.json`);
  }

  async create(): Promise<void> {
    for (const d of [this.blobsDir, this.layersDir, this.recordsDir, this.holdsDir, this.tmpDir]) {
      await fsp.mkdir(d, { recursive: true, mode: 0o700 });
    }
  }

  /** A fresh staging path owned by this process. */
  tempPath(label: string): string {
    return join(this.tmpDir, `${process.pid}-${randomBytes(6).toString('hex')}-${label}`);
  }

  /** Removes staging entries whose owning process is gone (an interrupted pull or import). */
  async removeAbandonedTemps(): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await fsp.readdir(this.tmpDir)) {
      const pid = Number(name.split('-')[0]);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) continue;
      await fsp.rm(join(this.tmpDir, name), { recursive: true, force: true });
      removed.push(name);
    }
    return removed;
  }
}

export function hexOf(digest: string): string {
  const colon = digest.indexOf(':');
  return colon >= 0 ? digest.slice(colon + 1) : digest;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { syncDir, writeFileAtomic } from '../../store/atomic';
import { hexOf, type StoreLayout } from './layout';

/** layer.json beside each unpacked layer's fs/. */
export interface LayerInfo {
  chainId: string;
  diffId: string;
  /** Bytes of file content and entry count, counted while unpacking (ImageFsInfo sums them). */
  fileBytes: number;
  entries: number;
}

/**
 * Unpacked layers by chain id. A layer is staged in tmp/ and appears here only by a rename of a
 * complete, verified directory, so a present directory is always a whole layer.
 */
export class LayerStore {
  constructor(private readonly layout: StoreLayout) {}

  async has(chainId: string): Promise<boolean> {
    try {
      await fsp.access(join(this.layout.layer(chainId), 'layer.json'));
      return true;
    } catch {
      return false;
    }
  }

  /** A staging directory for one layer: unpack into `<stage>/fs`, then commit(). */
  async stage(chainId: string): Promise<string> {
    const stage = this.layout.tempPath(`layer-${hexOf(chainId).slice(0, 12)}`);
    await fsp.mkdir(join(stage, 'fs'), { recursive: true, mode: 0o755 });
    return stage;
  }

  /** Moves a staged layer into place; when another pull or import got there first, keeps theirs. */
  async commit(stage: string, info: LayerInfo): Promise<void> {
    await writeFileAtomic(join(stage, 'layer.json'), JSON.stringify(info));
    await syncDir(join(stage, 'fs'));
    try {
      await fsp.rename(stage, this.layout.layer(info.chainId));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      await fsp.rm(stage, { recursive: true, force: true });
      return;
    }
    await syncDir(this.layout.layersDir);
  }

  async info(chainId: string): Promise<LayerInfo | undefined> {
    try {
      return JSON.parse(await fsp.readFile(join(this.layout.layer(chainId), 'layer.json'), 'utf8')) as LayerInfo;
    } catch {
      return undefined;
    }
  }

  /** Chain ids of every layer present (hex directory names mapped back to digests). */
  async list(): Promise<string[]> {
    return (await fsp.readdir(this.layout.layersDir)).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  /** Removes a layer: renamed away first so a half-deleted layer is never seen as present. */
  async remove(chainId: string): Promise<void> {
    const doomed = this.layout.tempPath('doomed-layer');
    try {
      await fsp.rename(this.layout.layer(chainId), doomed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await syncDir(this.layout.layersDir);
    await fsp.rm(doomed, { recursive: true, force: true });
  }
}

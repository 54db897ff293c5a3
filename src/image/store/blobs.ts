import { promises as fsp } from 'node:fs';
import { invalidArgument } from '../../errors';
import { writeFileAtomic } from '../../store/atomic';
import { sha256Digest } from '../manifest';
import { hexOf, type StoreLayout } from './layout';

/** Small metadata blobs (manifests, indexes, configs) by digest, verified before they are kept. */
export class BlobStore {
  constructor(private readonly layout: StoreLayout) {}

  async put(digest: string, data: Buffer): Promise<void> {
    const actual = sha256Digest(data);
    if (actual !== digest) throw invalidArgument(`blob ${digest} has digest ${actual}: refusing to store it`);
    try {
      await fsp.access(this.layout.blob(digest));
      return;
    } catch {
      await writeFileAtomic(this.layout.blob(digest), data, 0o644);
    }
  }

  async get(digest: string): Promise<Buffer | undefined> {
    try {
      return await fsp.readFile(this.layout.blob(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async list(): Promise<string[]> {
    return (await fsp.readdir(this.layout.blobsDir)).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
  }

  async sizes(): Promise<{ bytes: number; count: number }> {
    let bytes = 0;
    let count = 0;
    for (const digest of await this.list()) {
      const st = await fsp.stat(this.layout.blob(digest)).catch(() => undefined);
      if (st) {
        bytes += st.size;
        count++;
      }
    }
    return { bytes, count };
  }

  async remove(digest: string): Promise<void> {
    await fsp.rm(this.layout.blob(hexOf(digest) === digest ? `sha256:${digest}` : digest), { force: true });
  }
}

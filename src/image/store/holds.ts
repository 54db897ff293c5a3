import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../../errors';
import { isAtomicTempName, syncDir, writeFileAtomic } from '../../store/atomic';
import type { StoreLayout } from './layout';

/** A container's claim on the layers of the image it was created from. */
export interface LayerHold {
  holderId: string;
  imageId: string;
  chainIds: string[];
}

/** Holds persisted one file each, so a daemon restart never forgets what a container needs. */
export class HoldStore {
  constructor(private readonly layout: StoreLayout) {}

  private path(holderId: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(holderId)) {
      throw invalidArgument(`layer holder id "${holderId}" must be 1-128 letters, digits, "_", "." or "-"`);
    }
    return join(this.layout.holdsDir, `${holderId}.json`);
  }

  async put(hold: LayerHold): Promise<void> {
    await writeFileAtomic(this.path(hold.holderId), JSON.stringify(hold));
  }

  async remove(holderId: string): Promise<boolean> {
    const path = this.path(holderId);
    try {
      await fsp.unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    await syncDir(this.layout.holdsDir);
    return true;
  }

  async all(): Promise<LayerHold[]> {
    const out: LayerHold[] = [];
    for (const name of await fsp.readdir(this.layout.holdsDir)) {
      if (!name.endsWith('.json') || isAtomicTempName(name)) continue;
      out.push(JSON.parse(await fsp.readFile(join(this.layout.holdsDir, name), 'utf8')) as LayerHold);
    }
    return out;
  }
}

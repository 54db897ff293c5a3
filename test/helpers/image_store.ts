import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { type Config, type ConfigInput, configSchema } from '../../src/config/schema';
import { ImageManager } from '../../src/image/manager';
import { Metrics } from '../../src/metrics/metrics';

/** An ImageManager on a temp root with a config built from `input` (root filled in). */
export interface TestStore {
  root: string;
  config: Config;
  metrics: Metrics;
  images: ImageManager;
  reopen(): Promise<ImageManager>;
  cleanup(): Promise<void>;
}

export async function openTestStore(input: Omit<ConfigInput, 'root'> = {}): Promise<TestStore> {
  const root = await fsp.mkdtemp(join(tmpdir(), `shoal-images-${process.pid}-`));
  const config = configSchema.parse({ ...input, root });
  const log = pino({ level: process.env.SHOAL_TEST_LOG ?? 'silent' });
  const metrics = new Metrics();
  const store: TestStore = {
    root,
    config,
    metrics,
    images: await ImageManager.open({ root, config, log, metrics }),
    async reopen() {
      await store.images.close();
      store.images = await ImageManager.open({ root, config, log });
      return store.images;
    },
    async cleanup() {
      await store.images.close();
      await fsp.rm(root, { recursive: true, force: true });
    },
  };
  return store;
}

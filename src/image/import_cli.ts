import { parseArgs } from 'node:util';
import type { Config } from '../config/schema';
import { errorText } from '../errors';
import type { Logger } from '../log';
import { importArchive } from './import';
import { ImageManager } from './manager';

const USAGE = `usage: shoald image import [--name REF] [--pinned] FILE
  FILE      an OCI image layout or a docker-archive (docker save) tarball
  --name    name for images the archive does not name (or only tags)
  --pinned  mark the imported images pinned (kept out of kubelet image GC)`;

/**
 * `shoald image import FILE`: loads images into the store under config.root. Safe beside a running
 * daemon: the import holds the store lock and the daemon sees new records on its next read.
 * Prints one line per image: its id and names. Exit 0 on success, 1 on failure, 2 on bad usage.
 */
export async function runImageImport(argv: string[], config: Config, log: Logger): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { name: { type: 'string' }, pinned: { type: 'boolean' }, help: { type: 'boolean' } } });
  } catch (err) {
    process.stderr.write(`shoald image import: ${errorText(err)}\n${USAGE}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const file = parsed.positionals[0];
  try {
    // no garbage collection from here: the daemon's pulls in flight are invisible to this process
    const images = await ImageManager.open({ root: config.root, config, log }, { collect: false });
    const imported = await importArchive(images, config, file, { name: parsed.values.name, pinned: parsed.values.pinned });
    for (const image of imported) process.stdout.write(`${image.id} ${image.names.join(' ')}\n`);
    log.info({ file, images: imported.length }, 'imported images');
    return 0;
  } catch (err) {
    process.stderr.write(`shoald image import: ${file}: ${errorText(err)}\n`);
    return 1;
  }
}

import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';

/** The install tree: this file is compiled to dist/paths.js, beside bin/ and package.json. */
export const INSTALL_DIR = resolve(__dirname, '..');
export const BIN_DIR = resolve(INSTALL_DIR, 'bin');

export const PACKAGE_VERSION: string = (JSON.parse(readFileSync(resolve(INSTALL_DIR, 'package.json'), 'utf8')) as { version: string })
  .version;

/** The core executables and library shipped with the daemon. */
export function bundledBinary(name: 'shoal-runtime' | 'shoal-monitor' | 'shoal-init' | 'libshoal.so'): string {
  return resolve(BIN_DIR, name);
}

/** The OCI runtime shoald drives: `runtime.runtime_path` when set, else the bundled shoal-runtime. */
export function runtimeExecutable(config: { runtime: { runtime_path: string } }): string {
  return config.runtime.runtime_path || bundledBinary('shoal-runtime');
}

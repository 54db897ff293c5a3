import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/** A parsed network configuration list as the CNI spec defines it (the fields we act on). */
export interface NetworkConfigList {
  cniVersion: string;
  name: string;
  plugins: Array<{ type: string; [key: string]: unknown }>;
  disableCheck?: boolean;
}

export interface NetworkConfigState {
  ready: boolean;
  /** Present when ready. */
  file?: string;
  config?: NetworkConfigList;
  /** CRI condition reason and message when not ready. */
  reason: string;
  message: string;
}

const CONF_EXTENSIONS = ['.conflist', '.conf', '.json'];

/**
 * The first valid network configuration in `confDir`, in lexical order as kubelet and other
 * runtimes pick it. A `.conf` single-plugin file is lifted into a one-plugin list. A config whose
 * plugins are missing from every bin dir is skipped with the reason remembered.
 */
export function findNetworkConfig(confDir: string, binDirs: string[]): NetworkConfigState {
  let names: string[];
  try {
    names = readdirSync(confDir).filter((n) => CONF_EXTENSIONS.some((ext) => n.endsWith(ext))).sort();
  } catch {
    return { ready: false, reason: 'NoCNIConfig', message: `no network config: ${confDir} cannot be read` };
  }
  const problems: string[] = [];
  for (const name of names) {
    const file = join(confDir, name);
    try {
      const config = parseNetworkConfig(readFileSync(file, 'utf8'), name.endsWith('.conflist'));
      const missing = config.plugins.map((p) => p.type).filter((type) => !binDirs.some((d) => isFile(join(d, type))));
      if (missing.length > 0) {
        problems.push(`${file}: plugin(s) ${missing.join(', ')} not found in ${binDirs.join(', ')}`);
        continue;
      }
      return { ready: true, file, config, reason: '', message: '' };
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message}`);
    }
  }
  const message =
    problems.length > 0
      ? `no valid network config in ${confDir}: ${problems.join('; ')}`
      : `no network config found in ${confDir}`;
  return { ready: false, reason: 'NoCNIConfig', message };
}

export function parseNetworkConfig(text: string, isList: boolean): NetworkConfigList {
  const raw: unknown = JSON.parse(text);
  if (typeof raw !== 'object' || raw === null) throw new Error('not a JSON object');
  const obj = raw as Record<string, unknown>;
  const name = obj.name;
  if (typeof name !== 'string' || name === '') throw new Error('"name" missing');
  const cniVersion = typeof obj.cniVersion === 'string' ? obj.cniVersion : '0.4.0';
  if (!isList && Array.isArray(obj.plugins)) isList = true;
  const plugins = isList ? obj.plugins : [obj];
  if (!Array.isArray(plugins) || plugins.length === 0) throw new Error('"plugins" missing or empty');
  for (const [i, p] of plugins.entries()) {
    if (typeof p !== 'object' || p === null || typeof (p as Record<string, unknown>).type !== 'string') {
      throw new Error(`plugin ${i} has no "type"`);
    }
  }
  return {
    cniVersion,
    name,
    plugins: plugins as NetworkConfigList['plugins'],
    disableCheck: obj.disableCheck === true,
  };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Re-reads the directory only when something in it changed: Status is polled every few seconds. */
export class NetworkConfigWatcher {
  private cached: NetworkConfigState | undefined;
  private stamp = '';

  constructor(
    private readonly confDir: string,
    private readonly binDirs: string[],
  ) {}

  current(): NetworkConfigState {
    const stamp = this.directoryStamp();
    if (this.cached === undefined || stamp !== this.stamp) {
      this.cached = findNetworkConfig(this.confDir, this.binDirs);
      this.stamp = stamp;
    }
    return this.cached;
  }

  private directoryStamp(): string {
    if (!existsSync(this.confDir)) return 'absent';
    try {
      const parts = readdirSync(this.confDir)
        .sort()
        .map((n) => {
          const st = statSync(join(this.confDir, n));
          return `${n}:${st.mtimeMs}:${st.size}`;
        });
      const bins = this.binDirs.map((d) => (existsSync(d) ? statSync(d).mtimeMs : 0));
      return parts.join('|') + '#' + bins.join(',');
    } catch {
      return `unreadable:${Date.now()}`;
    }
  }
}

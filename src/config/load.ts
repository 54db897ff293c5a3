import { readFileSync } from 'node:fs';
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { Config, configSchema } from './schema';

export class ConfigError extends Error {}

/** Overrides given on the command line; they win over the file. */
export interface ConfigOverrides {
  socket?: string;
  root?: string;
  run_dir?: string;
  log_level?: string;
}

export const DEFAULT_CONFIG_FILE = '/etc/shoal/config.toml';

/**
 * Reads and validates the config file. A missing file is only fine when it is the default path:
 * an operator who names a file means it to exist.
 */
export function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}): { config: Config; source: string } {
  const path = file ?? DEFAULT_CONFIG_FILE;
  let raw: Record<string, unknown> = {};
  let source = path;
  try {
    raw = parseToml(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && file === undefined) {
      source = '(defaults: no config file)';
    } else if (err instanceof TomlError) {
      throw new ConfigError(`config ${path}: not valid TOML: ${err.message.split('\n')[0]}`);
    } else {
      throw new ConfigError(`config ${path}: cannot read: ${(err as Error).message}`);
    }
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) raw[key] = value;
  }
  return { config: validateConfig(raw, path), source };
}

export function validateConfig(raw: unknown, origin: string): Config {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((issue) => `config ${origin}: ${describeIssue(issue)}`).join('\n'));
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (where ? `${where}.${k}` : k));
    return `unknown key ${keys.join(', ')}`;
  }
  return `key ${where || '(top level)'}: ${issue.message}`;
}

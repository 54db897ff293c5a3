import type { ContainerConfig } from '../../gen/runtime/v1/api';
import { invalidArgument } from '../../errors';
import type { ImageDefaults } from './input';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The command line as kubelet defines it: `command` replaces the image's Entrypoint and drops
 * its Cmd; `args` replaces Cmd; neither keeps both of the image's.
 */
export function processArgs(config: ContainerConfig, image: ImageDefaults): string[] {
  const entrypoint = config.command.length > 0 ? config.command : (image.Entrypoint ?? []);
  const cmd = config.command.length > 0 || config.args.length > 0 ? config.args : (image.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw invalidArgument('no command: neither the container config nor the image names one');
  return args;
}

/** Image Env first, the container's entries win by name; PATH and HOSTNAME filled when absent. */
export function processEnv(config: ContainerConfig, image: ImageDefaults, hostname: string): string[] {
  const env = new Map<string, string>();
  const put = (entry: string): void => {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (key !== '') env.set(key, eq < 0 ? '' : entry.slice(eq + 1));
  };
  put(`PATH=${DEFAULT_PATH}`);
  if (hostname !== '') put(`HOSTNAME=${hostname}`);
  for (const e of image.Env ?? []) put(e);
  config.envs.forEach((kv, i) => {
    if (kv.key === '' || kv.key.includes('=')) throw invalidArgument(`envs[${i}].key: "${kv.key}" is not a valid variable name`);
    env.set(kv.key, Buffer.from(kv.value).toString('utf8'));
  });
  return [...env].map(([k, v]) => `${k}=${v}`);
}

export function processCwd(config: ContainerConfig, image: ImageDefaults): string {
  const cwd = config.workingDir !== '' ? config.workingDir : image.WorkingDir || '/';
  if (!cwd.startsWith('/')) throw invalidArgument(`working_dir: "${cwd}" is not an absolute path`);
  return cwd;
}

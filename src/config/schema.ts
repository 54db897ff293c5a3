import { z } from 'zod';
import { parseDuration } from '../util/duration';

/**
 * The config file's shape, its defaults and its validation in one place. Key names are an external
 * contract (deploy/config.toml, operators' tooling): rename nothing without a migration.
 */

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected a duration like "30s", "5m" or "4h", got "${text}"` });
        return z.NEVER;
      }
      return ms;
    });

const hostPort = z
  .string()
  .refine((s) => s === '' || /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(s), {
    message: 'expected "host:port" (or "" to turn it off)',
  });

const absolutePath = z.string().refine((s) => s.startsWith('/'), { message: 'expected an absolute path' });

const endpointUrl = z.string().refine((s) => /^https?:\/\/[^/\s]+(\/.*)?$/.test(s), {
  message: 'expected an http:// or https:// URL',
});

export const configSchema = z.strictObject({
  socket: absolutePath.default('/run/shoal/shoal.sock'),
  root: absolutePath.default('/var/lib/shoal'),
  run_dir: absolutePath.default('/run/shoal'),
  log_level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  grpc_max_message_bytes: z.number().int().min(4 * 1024 * 1024).max(2 ** 31 - 1).default(16 * 1024 * 1024),

  cni: z
    .strictObject({
      conf_dir: absolutePath.default('/etc/cni/net.d'),
      bin_dirs: z.array(absolutePath).min(1).default(['/opt/cni/bin', '/usr/lib/cni']),
      plugin_timeout: duration('60s'),
    })
    .prefault({}),

  registry: z
    .strictObject({
      insecure: z.array(z.string().min(1)).default([]),
      mirrors: z.record(z.string().min(1), z.array(endpointUrl)).default({}),
      ca_files: z.record(z.string().min(1), absolutePath).default({}),
      max_concurrent_downloads: z.number().int().min(1).max(64).default(3),
      stall_timeout: duration('60s'),
    })
    .prefault({}),

  image: z
    .strictObject({
      max_layer_bytes: z.number().int().positive().default(64 * 1024 ** 3),
      max_compression_ratio: z.number().positive().default(1000),
      allow_device_nodes: z.boolean().default(false),
    })
    .prefault({}),

  stream: z
    .strictObject({
      address: hostPort.default('127.0.0.1:0'),
      idle_timeout: duration('4h'),
      tls_cert_file: z.string().default(''),
      tls_key_file: z.string().default(''),
    })
    .prefault({}),

  metrics: z
    .strictObject({
      address: hostPort.default('127.0.0.1:9464'),
    })
    .prefault({}),

  runtime: z
    .strictObject({
      cgroup_driver: z.enum(['cgroupfs', 'systemd']).default('cgroupfs'),
      default_cgroup_parent: absolutePath.default('/shoal'),
      runtime_path: z.string().default(''),
      default_handler: z.string().default('shoal'),
    })
    .prefault({}),
});

/** The effective configuration after defaults; durations are in milliseconds. */
export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

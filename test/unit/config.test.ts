import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, validateConfig, ConfigError } from '../../src/config/load';
import { configSchema } from '../../src/config/schema';
import { parseDuration } from '../../src/util/duration';

describe('config', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync('/tmp/shoal-config-')));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  test('deploy/config.toml parses and states exactly the defaults', () => {
    const { config } = loadConfig(join(__dirname, '../../deploy/config.toml'));
    expect(config).toEqual(configSchema.parse({}));
  });

  test('defaults match the documented values', () => {
    const config = configSchema.parse({});
    expect(config.socket).toBe('/run/shoal/shoal.sock');
    expect(config.root).toBe('/var/lib/shoal');
    expect(config.run_dir).toBe('/run/shoal');
    expect(config.cni).toEqual({ conf_dir: '/etc/cni/net.d', bin_dirs: ['/opt/cni/bin', '/usr/lib/cni'], plugin_timeout: 60_000 });
    expect(config.registry.max_concurrent_downloads).toBe(3);
    expect(config.stream.address).toBe('127.0.0.1:0');
    expect(config.stream.idle_timeout).toBe(4 * 3600 * 1000);
    expect(config.metrics.address).toBe('127.0.0.1:9464');
    expect(config.runtime.cgroup_driver).toBe('cgroupfs');
    expect(config.grpc_max_message_bytes).toBe(16 * 1024 * 1024);
  });

  test('a missing default file means defaults; a missing named file is an error', () => {
    expect(() => loadConfig(join(dir, 'absent.toml'))).toThrow(/absent\.toml: cannot read/);
  });

  test('an unknown key names the key with its table', () => {
    const file = write('unknown.toml', '[cni]\nconf_dirs = "/x"\n');
    expect(() => loadConfig(file)).toThrow(ConfigError);
    expect(() => loadConfig(file)).toThrow(/unknown key cni\.conf_dirs/);
  });

  test('a wrongly typed value names the key and what was expected', () => {
    const file = write('typed.toml', '[registry]\nmax_concurrent_downloads = "three"\n');
    expect(() => loadConfig(file)).toThrow(/key registry\.max_concurrent_downloads: .*expected number/i);
  });

  test('bad durations, addresses and enum values are refused by key', () => {
    expect(() => validateConfig({ stream: { idle_timeout: 'forever' } }, 'x')).toThrow(/stream\.idle_timeout: expected a duration/);
    expect(() => validateConfig({ metrics: { address: 'nope' } }, 'x')).toThrow(/metrics\.address/);
    expect(() => validateConfig({ runtime: { cgroup_driver: 'cgroupd' } }, 'x')).toThrow(/runtime\.cgroup_driver/);
    expect(() => validateConfig({ registry: { mirrors: { 'docker.io': ['ftp://x'] } } }, 'x')).toThrow(/registry\.mirrors\.docker\.io\.0/);
  });

  test('invalid TOML says so with the file', () => {
    const file = write('broken.toml', '[cni\n');
    expect(() => loadConfig(file)).toThrow(/broken\.toml: not valid TOML/);
  });

  test('overrides win over the file', () => {
    const file = write('sock.toml', 'socket = "/run/a.sock"\n');
    expect(loadConfig(file, { socket: '/run/b.sock' }).config.socket).toBe('/run/b.sock');
  });

  test('durations', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('10')).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
  });
});

import { spawnSync } from 'node:child_process';
import { statSync, existsSync, writeFileSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, SHOALD, type TestDaemon } from '../helpers/daemon';
import { codeOf } from '../helpers/cri_client';

const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string };

describe('shoald foundation', () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    daemon = await startDaemon();
  });
  afterAll(async () => {
    await daemon?.cleanup();
  });

  test('Version names shoal, its version and API v1', async () => {
    const res = await daemon.client.runtime('Version', { version: 'v1' });
    expect(res).toEqual({ version: '0.1.0', runtime_name: 'shoal', runtime_version: pkg.version, runtime_api_version: 'v1' });
  });

  test('Status: NetworkReady false with reason NoCNIConfig until a valid conflist appears', async () => {
    const before = await daemon.client.runtime('Status', {});
    const conditions = Object.fromEntries(before.status.conditions.map((c: { type: string }) => [c.type, c]));
    expect(conditions.RuntimeReady.status).toBe(true);
    expect(conditions.NetworkReady).toMatchObject({ status: false, reason: 'NoCNIConfig' });
    expect(conditions.NetworkReady.message).toContain(daemon.cniConfDir);

    writeFileSync(join(daemon.cniConfDir, '10-test.conflist'), readFileSync(join(__dirname, '../../deploy/cni/10-shoal-bridge.conflist')));
    const after = await daemon.client.runtime('Status', {});
    const network = after.status.conditions.find((c: { type: string }) => c.type === 'NetworkReady');
    expect(network).toMatchObject({ status: true, reason: '' });
  });

  test('Status: a conflist naming a plugin that is not installed is not ready, and says why', async () => {
    const dir = mkdtempSync('/tmp/shoal-cni-');
    try {
      writeFileSync(join(dir, '05-bad.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'bad', plugins: [{ type: 'no-such-plugin' }] }));
      const other = await startDaemon({ cniToml: `[cni]\nconf_dir = "${dir}"\n` });
      try {
        const res = await other.client.runtime('Status', {});
        const network = res.status.conditions.find((c: { type: string }) => c.type === 'NetworkReady');
        expect(network.status).toBe(false);
        expect(network.message).toContain('no-such-plugin');
      } finally {
        await other.cleanup();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('Status verbose carries the effective config as JSON', async () => {
    const res = await daemon.client.runtime('Status', { verbose: true });
    const config = JSON.parse(res.info.config);
    expect(config.socket).toBe(daemon.socket);
    expect(config.cni.conf_dir).toBe(daemon.cniConfDir);
    expect(config.configFile).toBe(daemon.configFile);
  });

  test('RuntimeConfig reports the cgroupfs driver; UpdateRuntimeConfig stores the pod CIDR', async () => {
    const res = await daemon.client.runtime('RuntimeConfig', {});
    expect(res.linux.cgroup_driver).toBe('CGROUPFS');
    await daemon.client.runtime('UpdateRuntimeConfig', { runtime_config: { network_config: { pod_cidr: '10.244.1.0/24' } } });
    const stored = JSON.parse(readFileSync(join(daemon.root, 'runtime-config.json'), 'utf8'));
    expect(stored.podCidr).toBe('10.244.1.0/24');
  });

  test('an RPC not built yet answers UNIMPLEMENTED naming the method', async () => {
    await expect(daemon.client.runtime('CheckpointContainer', { container_id: 'x', location: '/tmp/x' })).rejects.toMatchObject({
      details: expect.stringContaining('CheckpointContainer'),
    });
    const err = await daemon.client.runtime('CheckpointContainer', { container_id: 'x' }).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('UNIMPLEMENTED');
  });

  test('socket 0660, run dir 0711, root 0700', () => {
    expect(statSync(daemon.socket).mode & 0o777).toBe(0o660);
    expect(statSync(daemon.runDir).mode & 0o777).toBe(0o711);
    expect(statSync(daemon.root).mode & 0o777).toBe(0o700);
  });

  test('logs: a start line with version, socket, root and config; one debug line per RPC', async () => {
    const start = daemon.logs.find((l) => l.msg === 'shoald started');
    expect(start).toMatchObject({ version: pkg.version, socket: daemon.socket, root: daemon.root, config: daemon.configFile, level: 'info' });
    await daemon.client.runtime('Version', {});
    const rpc = daemon.logs.filter((l) => l.msg === 'rpc' && l.method === 'Version');
    expect(rpc.length).toBeGreaterThan(0);
    expect(rpc[0]).toMatchObject({ level: 'debug', code: 'OK' });
    expect(typeof rpc[0].ms).toBe('number');
  });

  test('a second shoald on the same socket and root refuses to start, naming the holder pid', () => {
    const run = spawnSync(SHOALD, ['--config', daemon.configFile, '--socket', daemon.socket, '--root', daemon.root, '--run-dir', daemon.runDir], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`pid ${daemon.process.pid}`);
  });

  test('a second shoald on the same socket with another root is refused too', () => {
    const otherRoot = mkdtempSync('/tmp/shoal-root-');
    try {
      const run = spawnSync(SHOALD, ['--config', daemon.configFile, '--socket', daemon.socket, '--root', otherRoot, '--run-dir', join(otherRoot, 'run')], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`socket ${daemon.socket} is in use by another shoald \\(pid ${daemon.process.pid}\\)`));
    } finally {
      rmSync(otherRoot, { recursive: true, force: true });
    }
  });
});

describe('shoald start and stop', () => {
  test('an unknown config key stops the start and names the key', () => {
    const dir = mkdtempSync('/tmp/shoal-cfg-');
    try {
      writeFileSync(join(dir, 'c.toml'), '[stream]\nadress = "127.0.0.1:0"\n');
      const run = spawnSync(SHOALD, ['--config', join(dir, 'c.toml'), '--socket', join(dir, 's.sock'), '--root', join(dir, 'r'), '--run-dir', join(dir, 'd')], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('unknown key stream.adress');
      expect(existsSync(join(dir, 's.sock'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a wrongly typed value stops the start and names the key', () => {
    const dir = mkdtempSync('/tmp/shoal-cfg-');
    try {
      writeFileSync(join(dir, 'c.toml'), 'grpc_max_message_bytes = "big"\n');
      const run = spawnSync(SHOALD, ['--config', join(dir, 'c.toml'), '--socket', join(dir, 's.sock'), '--root', join(dir, 'r'), '--run-dir', join(dir, 'd')], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/key grpc_max_message_bytes: .*expected number/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('cgroup_driver "systemd" is accepted by the parser and refused at start as not supported yet', async () => {
    await expect(startDaemon({ runtimeToml: 'cgroup_driver = "systemd"\n' })).rejects.toThrow(/systemd.*not supported yet/);
  });

  test('SIGTERM: exits 0 and removes the socket', async () => {
    const daemon = await startDaemon();
    try {
      expect(existsSync(daemon.socket)).toBe(true);
      expect(await daemon.stop()).toBe(0);
      expect(existsSync(daemon.socket)).toBe(false);
      expect(daemon.logs.some((l) => l.msg === 'shoald stopped; containers keep running under their monitors')).toBe(true);
    } finally {
      await daemon.cleanup();
    }
  });

  test('a stale socket left by a crash is replaced', async () => {
    const first = await startDaemon();
    try {
      await first.kill();
      expect(existsSync(first.socket)).toBe(true);
      const second = await startDaemon({ reuse: first });
      try {
        const res = await second.client.runtime('Version', {});
        expect(res.runtime_name).toBe('shoal');
      } finally {
        await second.stop();
      }
    } finally {
      await first.cleanup();
    }
  });
});

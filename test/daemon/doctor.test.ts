import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SHOALD, REPO, TIMEOUT_SCALE } from '../helpers/daemon';
import { readCgroupLayout } from '../../src/cgroup/layout';

describe('shoald doctor', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync('/tmp/shoal-doctor-');
    mkdirSync(join(dir, 'net.d'));
    mkdirSync(join(dir, 'nobin'));
    copyFileSync(join(REPO, 'deploy/cni/10-shoal-bridge.conflist'), join(dir, 'net.d/10-shoal-bridge.conflist'));
    writeFileSync(join(dir, 'ok.toml'), `[cni]\nconf_dir = "${dir}/net.d"\n`);
    writeFileSync(join(dir, 'nocni.toml'), `[cni]\nconf_dir = "${dir}/net.d"\nbin_dirs = ["${dir}/nobin"]\n`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const doctor = (config: string) => spawnSync(SHOALD, ['doctor', '--config', join(dir, config)], { encoding: 'utf8', timeout: 30_000 * TIMEOUT_SCALE });
  const line = (out: string, name: string) => out.split('\n').find((l) => l.slice(8).startsWith(name + ' ')) ?? '';

  test('this machine has every required item: one ok line per item, exit 0', () => {
    const run = doctor('ok.toml');
    expect(run.stderr).toBe('');
    for (const item of ['root', 'namespace mnt', 'namespace pid', 'namespace net', 'namespace ipc', 'namespace uts', 'namespace user', 'namespace cgroup', 'overlayfs', 'cgroups', 'cgroup cpu', 'cgroup memory', 'cgroup pids', 'seccomp', 'CNI plugins', 'CNI network config', 'iptables', 'runtime', 'monitor']) {
      expect(line(run.stdout, item)).toMatch(/^ok /);
    }
    expect(run.stdout).toContain('host is ready for shoal');
    expect(run.status).toBe(0);
  });

  test('reports the cgroup layout it found (v1, v2 or hybrid) with the controllers', () => {
    const layout = readCgroupLayout();
    const cgroups = line(doctor('ok.toml').stdout, 'cgroups');
    expect(cgroups).toContain(layout.mode);
    if (layout.v1.memory) expect(cgroups).toContain(`memory@${layout.v1.memory}`);
    if (layout.v2Root) expect(cgroups).toContain(layout.v2Root);
  });

  test('a missing required item is MISSING with what to install, and exits 1', () => {
    const run = doctor('nocni.toml');
    const cni = line(run.stdout, 'CNI plugins');
    expect(cni).toMatch(/^MISSING /);
    expect(cni).toContain('bridge, host-local, portmap');
    expect(cni).toContain('apt-get install containernetworking-plugins');
    // The conflist names plugins that are now nowhere to be found: not usable, but not required.
    expect(line(run.stdout, 'CNI network config')).toMatch(/^missing /);
    expect(run.status).toBe(1);
  });
});

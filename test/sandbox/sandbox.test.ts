import { cgroupDir, onCgroupV2, readCgroupFile, weightOfShares } from '../helpers/cgroup_files';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon';
import { codeOf } from '../helpers/cri_client';
import { testNetwork, isLeakFree, podConfig, inPod, podLeaks, NO_LEAKS, type TestNetwork } from './net_env';

interface PodInfo {
  id: string;
  namespaces: { net?: string; ipc?: string; uts?: string };
  cgroupPath: string;
  files: { hostname: string; hosts: string; resolvConf: string; shm: string };
  cniResult: unknown;
}

let daemon: TestDaemon;
let net: TestNetwork;
const servers: ChildProcess[] = [];

beforeAll(async () => {
  daemon = await startDaemon();
  net = testNetwork(241, daemon.dir);
  net.install(daemon);
});

afterAll(async () => {
  for (const s of servers) s.kill('SIGKILL');
  // Release every pod the daemon still has, through its own DEL, before the forced cleanup.
  try {
    const { items } = await daemon.client.runtime('ListPodSandbox', {});
    for (const p of items as Array<{ id: string }>) await daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: p.id }).catch(() => undefined);
  } catch {
    /* daemon gone */
  }
  await daemon?.cleanup();
  net?.destroy();
});

async function run(config: Record<string, unknown>, runtimeHandler = ''): Promise<string> {
  const res = await daemon.client.runtime('RunPodSandbox', { config, runtime_handler: runtimeHandler });
  return res.pod_sandbox_id as string;
}

async function info(id: string): Promise<PodInfo> {
  const res = await daemon.client.runtime('PodSandboxStatus', { pod_sandbox_id: id, verbose: true });
  return JSON.parse(res.info.info as string) as PodInfo;
}

async function status(id: string): Promise<Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return (await daemon.client.runtime('PodSandboxStatus', { pod_sandbox_id: id })).status;
}

async function removeAll(ids: string[]): Promise<void> {
  for (const id of ids) {
    await daemon.client.runtime('StopPodSandbox', { pod_sandbox_id: id });
    await daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: id });
  }
}

test('two pods get distinct IPs on the bridge and reach each other from inside their namespaces', async () => {
  const a = await run(podConfig());
  const b = await run(podConfig());
  const [sa, sb] = [await status(a), await status(b)];
  expect(sa.state).toBe('SANDBOX_READY');
  expect(sa.network.ip).toMatch(new RegExp(`^${net.subnet.split('.').slice(0, 3).join('\\.')}\\.`));
  expect(sb.network.ip).not.toBe(sa.network.ip);
  const [ia, ib] = [await info(a), await info(b)];
  expect(readFileSync(`/sys/class/net/${net.bridge}/operstate`, 'utf8')).toBeDefined();
  const ping = inPod(ia.namespaces, ['busybox', 'ping', '-c', '1', '-W', '3', sb.network.ip]);
  expect(ping).toMatchObject({ code: 0 });
  const back = inPod(ib.namespaces, ['busybox', 'ping', '-c', '1', '-W', '3', sa.network.ip]);
  expect(back).toMatchObject({ code: 0 });
  // Loopback is up in every pod.
  expect(inPod(ia.namespaces, ['busybox', 'ping', '-c', '1', '-W', '2', '127.0.0.1'])).toMatchObject({ code: 0 });
  await removeAll([a, b]);
});

test('hostname, hosts and resolv.conf are prepared for the containers', async () => {
  const id = await run(
    podConfig({
      hostname: 'web-1',
      dns_config: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local'], options: ['ndots:5'] },
    }),
  );
  const i = await info(id);
  const ip = (await status(id)).network.ip as string;
  expect(readFileSync(i.files.hostname, 'utf8')).toBe('web-1\n');
  expect(readFileSync(i.files.hosts, 'utf8')).toContain(`${ip}\tweb-1`);
  expect(readFileSync(i.files.hosts, 'utf8')).toContain('127.0.0.1\tlocalhost');
  expect(readFileSync(i.files.resolvConf, 'utf8')).toBe('search default.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
  expect(inPod(i.namespaces, ['hostname']).out.trim()).toBe('web-1');
  expect(osHostname()).not.toBe('web-1');
  // The pod's own /dev/shm (ipc POD) is a tmpfs mount.
  expect(readFileSync('/proc/self/mountinfo', 'utf8')).toContain(` ${i.files.shm} `);
  await removeAll([id]);
});

test('resolv.conf is the host one when the pod gives no DNS config', async () => {
  const id = await run(podConfig());
  const i = await info(id);
  expect(readFileSync(i.files.resolvConf, 'utf8')).toBe(readFileSync('/etc/resolv.conf', 'utf8'));
  await removeAll([id]);
});

test('a port mapping is reachable from the host through portmap', async () => {
  const hostPort = 20000 + Math.floor(Math.random() * 20000);
  const id = await run(podConfig({ port_mappings: [{ protocol: 'TCP', container_port: 8080, host_port: hostPort, host_ip: '' }] }));
  const i = await info(id);
  const server = spawn('nsenter', [`--net=${i.namespaces.net}`, '--', process.execPath, '-e', "require('net').createServer((s)=>s.end('hello from the pod')).listen(8080,()=>console.log('up'))"], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.stdout!.once('data', () => resolve()));
  const hostIp = readFileSync('/proc/net/fib_trie', 'utf8') && (await primaryHostIp());
  const reply = await fetchTcp(hostIp, hostPort);
  expect(reply).toBe('hello from the pod');
  server.kill('SIGKILL');
  await removeAll([id]);
});

test('a host-network pod uses the host namespaces and files', async () => {
  const id = await run(podConfig({}, { network: 'NODE', ipc: 'NODE' }));
  const s = await status(id);
  expect(s.linux.namespaces.options.network).toBe('NODE');
  const i = await info(id);
  expect(i.namespaces.net).toBeUndefined();
  expect(i.namespaces.uts).toBeUndefined();
  expect(i.namespaces.ipc).toBeUndefined();
  expect(i.files.shm).toBe('/dev/shm');
  expect(s.network.ip).toBe('');
  expect(readFileSync(i.files.hosts, 'utf8')).toBe(readFileSync('/etc/hosts', 'utf8'));
  expect(readFileSync(i.files.hostname, 'utf8')).toBe(`${osHostname()}\n`);
  await removeAll([id]);
});

test('stop twice, remove twice and remove of an unknown id all succeed', async () => {
  const id = await run(podConfig());
  await daemon.client.runtime('StopPodSandbox', { pod_sandbox_id: id });
  expect((await status(id)).state).toBe('SANDBOX_NOTREADY');
  await daemon.client.runtime('StopPodSandbox', { pod_sandbox_id: id });
  await daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: id });
  await daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: id });
  await daemon.client.runtime('RemovePodSandbox', { pod_sandbox_id: 'f'.repeat(64) });
  await daemon.client.runtime('StopPodSandbox', { pod_sandbox_id: 'e'.repeat(64) });
  await expect(status(id)).rejects.toMatchObject({ code: 5 });
});

test('missing metadata, unknown runtime handler and bad namespace modes are InvalidArgument', async () => {
  const noMeta = daemon.client.runtime('RunPodSandbox', { config: { hostname: 'x' } });
  await expect(noMeta).rejects.toThrow(/metadata/);
  await noMeta.catch((e) => expect(codeOf(e)).toBe('INVALID_ARGUMENT'));
  const noUid = daemon.client.runtime('RunPodSandbox', { config: { metadata: { name: 'a', namespace: 'b' } } });
  await noUid.catch((e) => expect(codeOf(e)).toBe('INVALID_ARGUMENT'));
  await expect(noUid).rejects.toThrow(/uid/);
  const handler = run(podConfig(), 'kata-fast');
  await expect(handler).rejects.toThrow(/runtime handler "kata-fast"/);
  await handler.catch((e) => expect(codeOf(e)).toBe('INVALID_ARGUMENT'));
  // "" and the configured default are both accepted.
  const id = await run(podConfig(), 'shoal');
  await removeAll([id]);
});

test('a duplicate name is refused naming the holder, and is free again after remove', async () => {
  const config = podConfig();
  const first = await run(config);
  const dup = run(config);
  await expect(dup).rejects.toThrow(new RegExp(first));
  await dup.catch((e) => expect(codeOf(e)).toBe('ALREADY_EXISTS'));
  await removeAll([first]);
  const again = await run(config);
  await removeAll([again]);
});

test('sysctls are applied inside the pod; host-wide ones and ones of shared namespaces are refused', async () => {
  const id = await run(
    podConfig({
      linux: {
        sysctls: { 'net.ipv4.ip_unprivileged_port_start': '1024', 'net.ipv4.conf.eth0.accept_redirects': '0', 'kernel.shm_rmid_forced': '1' },
        security_context: { namespace_options: { network: 'POD', ipc: 'POD', pid: 'CONTAINER' } },
      },
    }),
  );
  const i = await info(id);
  const host = readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim();
  expect(inPod(i.namespaces, ['cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start']).out.trim()).toBe('1024');
  expect(inPod(i.namespaces, ['cat', '/proc/sys/net/ipv4/conf/eth0/accept_redirects']).out.trim()).toBe('0');
  expect(inPod(i.namespaces, ['cat', '/proc/sys/kernel/shm_rmid_forced']).out.trim()).toBe('1');
  expect(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()).toBe(host);
  await removeAll([id]);

  const hostWide = run(podConfig({ linux: { sysctls: { 'vm.swappiness': '10' }, security_context: { namespace_options: { pid: 'CONTAINER' } } } }));
  await expect(hostWide).rejects.toThrow(/vm\.swappiness.*not namespaced/);
  await hostWide.catch((e) => expect(codeOf(e)).toBe('INVALID_ARGUMENT'));
  const shared = run(
    podConfig({ linux: { sysctls: { 'net.core.somaxconn': '1024' }, security_context: { namespace_options: { network: 'NODE', pid: 'CONTAINER' } } } }),
  );
  await expect(shared).rejects.toThrow(/net\.core\.somaxconn.*shares with the host/);
  await shared.catch((e) => expect(codeOf(e)).toBe('INVALID_ARGUMENT'));
});

test('the pod cgroup is made at cgroup_parent with the pod resources and overhead, and removed with the pod', async () => {
  const parent = `${daemon.cgroupParent}/kubepods/burstable/pod${Date.now()}`;
  const id = await run(
    podConfig({
      linux: {
        cgroup_parent: parent,
        resources: { memory_limit_in_bytes: String(256 * 1024 * 1024), cpu_shares: '512', cpu_quota: '50000', cpu_period: '100000' },
        overhead: { memory_limit_in_bytes: String(16 * 1024 * 1024), cpu_shares: '10' },
        security_context: { namespace_options: { pid: 'CONTAINER' } },
      },
    }),
  );
  const memDir = cgroupDir(parent, 'memory');
  const memoryLimitFile = onCgroupV2 ? 'memory.max' : 'memory.limit_in_bytes';
  expect(readCgroupFile(parent, 'memory', memoryLimitFile)).toBe(String(272 * 1024 * 1024));
  if (onCgroupV2) {
    expect(readCgroupFile(parent, 'cpu', 'cpu.weight')).toBe(String(weightOfShares(522)));
    expect(readCgroupFile(parent, 'cpu', 'cpu.max')).toBe('50000 100000');
  } else {
    expect(readCgroupFile(parent, 'cpu', 'cpu.shares')).toBe('522');
    expect(readCgroupFile(parent, 'cpu', 'cpu.cfs_quota_us')).toBe('50000');
  }
  expect((await info(id)).cgroupPath).toBe(parent);

  await daemon.client.runtime('UpdatePodSandboxResources', {
    pod_sandbox_id: id,
    resources: { memory_limit_in_bytes: String(512 * 1024 * 1024) },
    overhead: { memory_limit_in_bytes: String(16 * 1024 * 1024) },
  });
  expect(readCgroupFile(parent, 'memory', memoryLimitFile)).toBe(String(528 * 1024 * 1024));

  await removeAll([id]);
  expect(existsSync(memDir)).toBe(false);
});

test('the default pod cgroup is under runtime.default_cgroup_parent', async () => {
  const id = await run(podConfig());
  expect((await info(id)).cgroupPath).toBe(`${daemon.cgroupParent}/${id}`);
  const memDir = cgroupDir(`${daemon.cgroupParent}/${id}`, 'memory');
  expect(existsSync(memDir)).toBe(true);
  await removeAll([id]);
  expect(existsSync(memDir)).toBe(false);
});

test('ListPodSandbox and StreamPodSandboxes filter by id, id prefix, state and labels', async () => {
  const app = `app-${process.pid}`;
  const a = await run(podConfig({ labels: { app, tier: 'web' } }));
  const b = await run(podConfig({ labels: { app, tier: 'db' } }));
  await daemon.client.runtime('StopPodSandbox', { pod_sandbox_id: b });
  const list = async (filter: Record<string, unknown>): Promise<string[]> =>
    ((await daemon.client.runtime('ListPodSandbox', { filter })).items as Array<{ id: string }>).map((p) => p.id).sort();
  expect(await list({ label_selector: { app } })).toEqual([a, b].sort());
  expect(await list({ label_selector: { app, tier: 'web' } })).toEqual([a]);
  expect(await list({ id: a })).toEqual([a]);
  expect(await list({ id: b.slice(0, 12) })).toEqual([b]);
  expect(await list({ label_selector: { app }, state: { state: 'SANDBOX_READY' } })).toEqual([a]);
  expect(await list({ label_selector: { app }, state: { state: 'SANDBOX_NOTREADY' } })).toEqual([b]);
  const streamed = await daemon.client.runtimeStream('StreamPodSandboxes', { filter: { label_selector: { app } } });
  expect(streamed.flatMap((m) => (m.pod_sandboxes as Array<{ id: string }>).map((p) => p.id)).sort()).toEqual([a, b].sort());
  const st = await daemon.client.runtime('PodSandboxStatus', { pod_sandbox_id: a.slice(0, 16) });
  expect(st.status.id).toBe(a);
  expect(st.status.labels).toEqual({ app, tier: 'web' });
  await removeAll([a, b]);
});

test('verbose status names the namespaces, the cgroup, the CNI result and the config', async () => {
  const id = await run(podConfig());
  const i = await info(id);
  expect(i.namespaces.net).toBe(join(daemon.runDir, 'pods', id, 'net'));
  expect((i.cniResult as { ips: unknown[] }).ips.length).toBeGreaterThan(0);
  expect(JSON.stringify(i)).toContain('"hostname"');
  await removeAll([id]);
});

test('after stop and remove nothing of the pod is left on the host', async () => {
  const ids: string[] = [];
  for (let n = 0; n < 3; n++) ids.push(await run(podConfig({ port_mappings: [{ protocol: 'TCP', container_port: 80, host_port: 41000 + n + (process.pid % 1000) }] })));
  const cgroups = await Promise.all(ids.map(async (id) => (await info(id)).cgroupPath));
  const before = podLeaks(daemon, net, ids, cgroups);
  expect(before.ipamEntries).toHaveLength(3);
  expect(before.iptables.length).toBeGreaterThan(0);
  await removeAll(ids);
  // The kernel may finish removing a veth a little after DEL returns: poll, then assert.
  await waitFor(() => isLeakFree(podLeaks(daemon, net, ids, cgroups)), 20_000, 'the pods to be gone').catch(() => undefined);
  expect(podLeaks(daemon, net, ids, cgroups)).toEqual(NO_LEAKS);
});

test('NetworkReady follows whether a valid conflist exists', async () => {
  const ready = async (): Promise<boolean> => {
    const res = await daemon.client.runtime('Status', {});
    return (res.status.conditions as Array<{ type: string; status: boolean }>).find((c) => c.type === 'NetworkReady')!.status;
  };
  expect(await ready()).toBe(true);
});

async function primaryHostIp(): Promise<string> {
  const out = readFileSync('/proc/net/route', 'utf8').split('\n').slice(1).find((l) => l.split('\t')[1] === '00000000');
  const dev = out?.split('\t')[0] ?? 'eth0';
  const { execFileSync } = await import('node:child_process');
  const addr = /inet (\d+\.\d+\.\d+\.\d+)/.exec(execFileSync('ip', ['-4', 'addr', 'show', dev], { encoding: 'utf8' }))?.[1];
  return addr ?? '127.0.0.1';
}

function fetchTcp(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port, timeout: 5000 });
    let data = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (data += d));
    sock.on('end', () => resolve(data));
    sock.on('timeout', () => {
      sock.destroy();
      reject(new Error(`connect ${host}:${port} timed out`));
    });
    sock.on('error', reject);
  });
}

test('pods by state and CNI operations are exported as metrics', async () => {
  const id = await run(podConfig());
  const text = await (await fetch(`http://${daemon.metricsAddress}/metrics`)).text();
  expect(text).toMatch(/^shoal_pods\{state="ready"\} [1-9]\d*$/m);
  expect(text).toMatch(/^shoal_cni_operations_total\{command="ADD",result="ok"\} [1-9]\d*$/m);
  expect(text).toMatch(/^shoal_cni_operation_duration_seconds_count\{command="ADD"\} [1-9]\d*$/m);
  await removeAll([id]);
});

test('a sysctl value the kernel refuses is InvalidArgument naming it, and nothing is left', async () => {
  const config = podConfig({
    linux: { sysctls: { 'net.ipv4.ip_unprivileged_port_start': 'not-a-number' }, security_context: { namespace_options: { pid: 'CONTAINER' } } },
  });
  const failed = run(config);
  await expect(failed).rejects.toThrow(/net\.ipv4\.ip_unprivileged_port_start=not-a-number/);
  await failed.catch((e) => expect(codeOf(e)).toBe('INVALID_ARGUMENT'));
  // Whatever the failed attempt made is gone: only live pods have directories, records, cache
  // entries and cgroups.
  const { items } = await daemon.client.runtime('ListPodSandbox', {});
  const live = (items as Array<{ id: string }>).map((p) => p.id).sort();
  // A CNI cache entry is <id>.json and <id>.result.json: one id.
  const ids = (dir: string): string[] => (existsSync(dir) ? [...new Set(readdirSync(dir).map((n) => n.replace(/(\.result)?\.json$/, '')))].sort() : []);
  expect(ids(join(daemon.runDir, 'pods'))).toEqual(live);
  expect(ids(join(daemon.root, 'pods'))).toEqual(live);
  expect(ids(join(daemon.root, 'cni'))).toEqual(live);
  expect(ids(cgroupDir(daemon.cgroupParent, 'memory')).filter((n) => /^[0-9a-f]{64}$/.test(n))).toEqual(live);
});

import { planSysctls } from '../../src/sandbox/sysctls';
import { podResources, podCgroupPath } from '../../src/sandbox/pod_cgroup';
import { podAddresses } from '../../src/cni/result';
import { LinuxContainerResources } from '../../src/gen/runtime/v1/api';

const own = { net: true, ipc: true, uts: true };

test('sysctls map to /proc/sys files, dotted or slashed, and are refused when host-wide or shared', () => {
  expect(planSysctls({ 'net.ipv4.ip_forward': '1', 'kernel.msgmax': '9000', 'fs.mqueue.msg_max': '20' }, own).map((s) => s.file)).toEqual([
    '/proc/sys/fs/mqueue/msg_max',
    '/proc/sys/kernel/msgmax',
    '/proc/sys/net/ipv4/ip_forward',
  ]);
  expect(planSysctls({ 'net/ipv4/conf/eth0.100/forwarding': '1' }, own)[0]!.file).toBe('/proc/sys/net/ipv4/conf/eth0.100/forwarding');
  expect(() => planSysctls({ 'kernel.panic': '1' }, own)).toThrow(/kernel\.panic.*not namespaced/);
  expect(() => planSysctls({ 'kernel.shmmax': '1' }, { ...own, ipc: false })).toThrow(/kernel\.shmmax.*ipc namespace/);
  expect(() => planSysctls({ 'net/ipv4/../../kernel/panic': '1' }, own)).toThrow(/not a valid sysctl name/);
});

test('pod resources are the containers sum plus the overhead', () => {
  const r = LinuxContainerResources.fromPartial({ memoryLimitInBytes: 100n, cpuShares: 200n, cpuQuota: 50_000n, cpuPeriod: 100_000n, cpusetCpus: '0' });
  const o = LinuxContainerResources.fromPartial({ memoryLimitInBytes: 10n, cpuShares: 2n, cpuQuota: 5_000n, cpuPeriod: 50_000n });
  expect(podResources(r, o)).toEqual({ memory: { limit: 110 }, cpu: { shares: 202, quota: 60_000, period: 100_000, cpus: '0' } });
  expect(podResources(undefined, undefined)).toEqual({});
});

test('the pod cgroup is kubelet’s cgroupfs parent, or one per pod under the default parent', () => {
  expect(podCgroupPath('/kubepods/burstable/podabc', '/shoal', 'id1')).toBe('/kubepods/burstable/podabc');
  expect(podCgroupPath('', '/shoal/', 'id1')).toBe('/shoal/id1');
  expect(() => podCgroupPath('kubepods-burstable.slice', '/shoal', 'x')).toThrow(/systemd slice|absolute/);
  expect(() => podCgroupPath('/kubepods/../etc', '/shoal', 'x')).toThrow(/\.\./);
});

test('pod addresses: IPv4 first, the host side of the bridge left out, IPv6 as additional', () => {
  const result = {
    interfaces: [{ name: 'cni0' }, { name: 'veth1' }, { name: 'eth0', sandbox: '/run/x/net' }],
    ips: [
      { address: 'fd00::5/64', interface: 2 },
      { address: '10.1.0.5/24', interface: 2, gateway: '10.1.0.1' },
      { address: '10.1.0.1/24', interface: 0 },
    ],
  };
  expect(podAddresses(result)).toEqual({ primary: '10.1.0.5', additional: ['fd00::5'] });
  expect(podAddresses(undefined)).toEqual({ primary: '', additional: [] });
});

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsCounterReader, defaultInterface, parseNetDev, podInterfaces } from '../../src/stats/network';

const FIXTURES = join(__dirname, 'fixtures');

describe('/proc/net/dev parsing', () => {
  test('host sample recorded on this machine', () => {
    const all = parseNetDev(readFileSync(join(FIXTURES, 'net-dev-host.txt'), 'utf8'));
    expect(all.map((i) => i.name)).toEqual(['lo', 'ifb0', 'ifb1', 'eth0']);
    const eth0 = all.find((i) => i.name === 'eth0')!;
    expect(eth0).toMatchObject({ rxBytes: 346175002n, rxPackets: 9981n, txBytes: 798602n, txPackets: 6331n, rxErrors: 0n });
  });

  test('64-bit counters, errors and drops in the right columns; loopback left out of the pod', () => {
    const all = parseNetDev(readFileSync(join(FIXTURES, 'net-dev-pod.txt'), 'utf8'));
    const pod = podInterfaces(all);
    expect(pod.map((i) => i.name)).toEqual(['eth0']);
    expect(pod[0]).toEqual({
      name: 'eth0',
      rxBytes: 18446744073709551000n, rxPackets: 1200n, rxErrors: 3n, rxDropped: 4n,
      txBytes: 5242880n, txPackets: 900n, txErrors: 1n, txDropped: 2n,
    });
    expect(defaultInterface(pod)?.name).toBe('eth0');
  });

  test('a counter glued to the colon still parses', () => {
    const [i] = parseNetDev('h\nh\nveth0:12345678901 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n');
    expect(i).toMatchObject({ name: 'veth0', rxBytes: 12345678901n, txBytes: 5n });
  });

  test('the default interface is eth0 when there, else the first one', () => {
    const mk = (name: string) => ({ name, rxBytes: 0n, rxPackets: 0n, rxErrors: 0n, rxDropped: 0n, txBytes: 0n, txPackets: 0n, txErrors: 0n, txDropped: 0n });
    expect(defaultInterface([mk('net1'), mk('eth0')])?.name).toBe('eth0');
    expect(defaultInterface([mk('net1')])?.name).toBe('net1');
    expect(defaultInterface([])).toBeUndefined();
  });
});

/** Two network namespaces joined by a veth pair, torn down in afterAll whatever happens. */
describe('counters read inside real network namespaces', () => {
  const tag = `${process.pid % 100000}${Math.floor(Math.random() * 1000)}`;
  const nsA = `shoal-st-a${tag}`;
  const nsB = `shoal-st-b${tag}`;
  const holders: ChildProcess[] = [];
  const reader = new NetnsCounterReader();
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });

  beforeAll(() => {
    ip('netns', 'add', nsA);
    ip('netns', 'add', nsB);
    ip('link', 'add', `sa${tag}`, 'type', 'veth', 'peer', 'name', `sb${tag}`);
    ip('link', 'set', `sa${tag}`, 'netns', nsA);
    ip('link', 'set', `sb${tag}`, 'netns', nsB);
    ip('-n', nsA, 'link', 'set', `sa${tag}`, 'name', 'eth0');
    ip('-n', nsB, 'link', 'set', `sb${tag}`, 'name', 'eth0');
    ip('-n', nsA, 'addr', 'add', '10.251.0.1/30', 'dev', 'eth0');
    ip('-n', nsB, 'addr', 'add', '10.251.0.2/30', 'dev', 'eth0');
    for (const ns of [nsA, nsB]) {
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
  });

  afterAll(() => {
    reader.close();
    for (const h of holders) h.kill('SIGKILL');
    for (const ns of [nsA, nsB]) {
      try {
        ip('netns', 'delete', ns);
      } catch {
        // already gone
      }
    }
  });

  test('rx/tx of each side grow by at least the bytes sent, via setns and via a pid', async () => {
    const ownNetnsInode = statSync('/proc/thread-self/ns/net').ino;
    const before = reader.read(`/run/netns/${nsB}`);
    expect(before?.map((i) => i.name).sort()).toEqual(['eth0', 'lo']);
    const rxBefore = before!.find((i) => i.name === 'eth0')!.rxBytes;

    // 20 echo requests of 1000 bytes of payload: each way at least 20 × 1000 bytes on the wire.
    execFileSync('ip', ['netns', 'exec', nsA, 'busybox', 'ping', '-c', '20', '-i', '0.01', '-s', '1000', '-q', '10.251.0.2'], { stdio: 'pipe' });

    const viaSetns = reader.read(`/run/netns/${nsB}`)!.find((i) => i.name === 'eth0')!;
    expect(viaSetns.rxBytes - rxBefore).toBeGreaterThanOrEqual(20n * 1000n);
    expect(viaSetns.txBytes).toBeGreaterThanOrEqual(20n * 1000n);

    const holder = spawn('ip', ['netns', 'exec', nsA, 'sleep', '600'], { stdio: 'ignore' });
    holders.push(holder);
    await waitFor(() => {
      try {
        return readFileSync(`/proc/${holder.pid}/comm`, 'utf8').trim() === 'sleep';
      } catch {
        return false;
      }
    });
    const viaPid = reader.read(`/run/netns/${nsA}`, [holder.pid!])!.find((i) => i.name === 'eth0')!;
    expect(viaPid.txBytes).toBeGreaterThanOrEqual(20n * 1000n);
    expect(viaPid.rxBytes).toBeGreaterThanOrEqual(20n * 1000n);

    // A pid in another namespace is not trusted: the reader falls back to entering the namespace.
    // (Counters may move between reads: IPv6 neighbour discovery runs on its own.)
    const readB = (pids: number[]) => reader.read(`/run/netns/${nsB}`, pids)!.find((i) => i.name === 'eth0')!.rxBytes;
    const lo = readB([]);
    const wrongPid = readB([process.pid]);
    const hi = readB([]);
    expect(wrongPid).toBeGreaterThanOrEqual(lo);
    expect(wrongPid).toBeLessThanOrEqual(hi);

    // And this thread is back in its own namespace afterwards.
    expect(statSync('/proc/thread-self/ns/net').ino).toBe(ownNetnsInode);
  });

  test('a namespace file that does not exist reads as undefined', () => {
    expect(reader.read(`/run/netns/shoal-st-none${tag}`)).toBeUndefined();
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

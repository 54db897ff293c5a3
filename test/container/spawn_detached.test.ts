import { closeSync, existsSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { spawnDetached } from '../../src/native/spawn_detached';
import { libcHandle } from '../../src/native/libc';
import { waitFor } from './env';

const openWithoutCloexec = libcHandle.func('int open(const char *path, int flags)') as (path: string, flags: number) => number;

function readAll(r: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    r.setEncoding('utf8');
    r.on('data', (s: string) => (out += s));
    r.once('end', () => resolve(out));
    r.once('error', reject);
  });
}

// What shoal-monitor is started with: its own session, stdin/stdout on /dev/null, stderr and fd 3
// on pipes, no other fd of the daemon, default signal dispositions and an empty mask (the daemon
// ignores SIGPIPE), and no zombie left once it exits.
test('spawnDetached: session, fds, signals, and the child is reaped', async () => {
  // An fd without close-on-exec (Node sets it on its own, a native library might not) must not
  // reach the child either.
  const leaky = openWithoutCloexec('/dev/null', 0);
  expect(leaky).toBeGreaterThan(3);
  try {
    const script = [
      'echo "sid=$(cut -d" " -f6 /proc/$$/stat) pid=$$" >&3',
      // ls lists its own fds: the four it inherits and the one it reads the directory with.
      'ls /proc/self/fd | sort -n | tr "\\n" " " >&3; echo >&3',
      'echo "stdin=$(readlink /proc/$$/fd/0) stdout=$(readlink /proc/$$/fd/1)" >&3',
      'grep -E "^(SigIgn|SigBlk):" /proc/$$/status >&3',
      'echo complaint >&2',
    ].join('; ');
    const child = spawnDetached('/bin/sh', ['-c', script]);
    const [fd3, stderr] = await Promise.all([readAll(child.fd3), readAll(child.stderr)]);
    expect(stderr).toBe('complaint\n');
    expect(fd3).toContain(`sid=${child.pid} pid=${child.pid}`);
    expect(fd3).toContain('\n0 1 2 3 4 \n');
    expect(fd3).toContain('stdin=/dev/null stdout=/dev/null');
    // The standard signals (1-31); glibc keeps its own real-time ones to itself.
    const mask = (name: string): bigint => BigInt(`0x${new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(fd3)![1]}`);
    expect(mask('SigIgn') & 0x7fffffffn).toBe(0n);
    expect(mask('SigBlk')).toBe(0n);
    await waitFor(() => !existsSync(`/proc/${child.pid}`), 10_000, 'the child to be reaped');
  } finally {
    closeSync(leaky);
  }
});

test('spawnDetached: a binary that cannot run is an error naming it', () => {
  expect(() => spawnDetached('/nonexistent/shoal-monitor', [])).toThrow(/\/nonexistent\/shoal-monitor.*No such file/);
});

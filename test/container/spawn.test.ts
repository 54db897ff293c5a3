import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { sealedCopy, spawnExecutable } from '../../src/native/sealed_exe';
import { spawnDetached, spawnProcess } from '../../src/native/spawn';
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
      // Read by the shell itself: while a command it forked runs, dash blocks every signal, so a
      // grep of /proc/$$/status could catch that passing mask instead of the one it was given.
      'while read -r l; do case "$l" in SigIgn:*|SigBlk:*) echo "$l" >&3;; esac; done < /proc/$$/status',
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

// What CNI plugins and shoal-runtime commands are run with: pipes both ways, exactly the
// environment given, and the exit status as Node reports one.
test('spawnProcess: stdin, stdout and stderr pipes, exact environment, exit code', async () => {
  const child = spawnProcess('/bin/sh', ['-c', 'read line; echo "got $line env=$(env | sort | tr "\\n" ,)"; echo oops >&2; exit 3'], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    env: { CNI_COMMAND: 'ADD', PATH: '/usr/bin:/bin' },
  });
  child.stdin!.end('config\n');
  const [out, err, status] = await Promise.all([readAll(child.stdout!), readAll(child.stderr!), child.exited]);
  expect(out).toMatch(/^got config env=/);
  expect(out).toContain('CNI_COMMAND=ADD,');
  expect(out).toContain('PATH=/usr/bin:/bin,');
  // sh adds PWD, SHLVL and _ of its own; nothing of the test process's environment is there.
  expect(out).not.toContain('HOME=');
  expect(err).toBe('oops\n');
  expect(status).toEqual({ code: 3, signal: null });
  expect(existsSync(`/proc/${child.pid}`)).toBe(false);
});

test('spawnProcess: a process group of its own, killed as a whole; death by signal reported', async () => {
  const child = spawnProcess('/bin/sh', ['-c', 'sleep 60 & echo $!; wait'], { stdout: 'pipe', stderr: 'pipe', newProcessGroup: true });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  await waitFor(() => out.includes('\n'), 10_000, 'the grandchild pid');
  const grandchild = Number(out.trim());
  expect(readFileSync(`/proc/${grandchild}/stat`, 'utf8').split(' ')[4]).toBe(String(child.pid));
  expect(child.kill('SIGTERM')).toBe(true);
  expect(await child.exited).toEqual({ code: null, signal: 'SIGTERM' });
  // The sleep was in the group: it got the signal too, and init reaps it.
  await waitFor(() => !existsSync(`/proc/${grandchild}`) || readFileSync(`/proc/${grandchild}/stat`, 'utf8').includes(') Z '), 10_000, 'the grandchild to die');
  expect(child.kill('SIGKILL')).toBe(false);
});

test('spawnProcess: stderr to a file of ours, and many short children all reaped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-spawn-'));
  try {
    const fd = openSync(join(dir, 'err'), 'w');
    try {
      const child = spawnProcess('/bin/sh', ['-c', 'echo to-file >&2'], { stderr: fd });
      expect(await child.exited).toEqual({ code: 0, signal: null });
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(join(dir, 'err'), 'utf8')).toBe('to-file\n');
    // Exits that land together (one SIGCHLD for several) are each collected.
    const many = Array.from({ length: 40 }, (_, i) => spawnProcess('/bin/sh', ['-c', `exit ${i % 7}`]));
    const statuses = await Promise.all(many.map((c) => c.exited));
    expect(statuses.map((s) => s.code)).toEqual(Array.from({ length: 40 }, (_, i) => i % 7));
    for (const c of many) expect(existsSync(`/proc/${c.pid}`)).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// How shoald runs its own runtime: from one sealed in-memory copy, made at start.
test('sealedCopy: a copy that refuses writes, runs through spawnExecutable, and reaches a child as fd 4', async () => {
  const fd = sealedCopy('/bin/busybox');
  try {
    expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe('/memfd:busybox (deleted)');
    expect(() => writeSync(fd, Buffer.from('x'), 0, 1, 0)).toThrow(/EPERM/);
    expect(() => ftruncateSync(fd, 0)).toThrow(/EPERM/);
    const exe = { path: '/bin/busybox', sealedFd: fd };
    // Run from the copy: argv[0] stays the configured path, /proc/PID/exe is the memfd.
    const run = spawnExecutable(exe, ['sh', '-c', 'readlink /proc/$$/exe; cat /proc/$$/cmdline | tr "\\0" " "'], { stdout: 'pipe' });
    const [out, status] = await Promise.all([readAll(run.stdout!), run.exited]);
    expect(status).toEqual({ code: 0, signal: null });
    expect(out).toBe('/memfd:busybox (deleted)\n/bin/busybox sh -c readlink /proc/$$/exe; cat /proc/$$/cmdline | tr "\\0" " " ');
    // Handed over as fd 4 (the monitor's --runtime-fd), and nothing else above fd 3.
    const child = spawnDetached('/bin/sh', ['-c', 'readlink /proc/$$/fd/4 >&3; ls /proc/self/fd | sort -n | tr "\\n" " " >&3'], fd);
    expect(await readAll(child.fd3)).toBe('/memfd:busybox (deleted)\n0 1 2 3 4 5 ');
  } finally {
    closeSync(fd);
  }
  expect(() => spawnProcess('/bin/true', [], { fd4: 2 })).toThrow(/fd 2 cannot be handed over as fd 4/);
});

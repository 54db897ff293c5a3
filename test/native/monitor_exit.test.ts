/** shoal-monitor's exit file and its independence from whoever started it. */
import * as fs from 'node:fs';
import { sealedCopy } from '../../src/native/sealed_exe';
import { RUNTIME, parentOf, processAlive, startMonitored, waitFor, type MonitoredContainer } from './monitor_harness';

describe('shoal-monitor exit status', () => {
  const live: MonitoredContainer[] = [];
  afterEach(() => {
    for (const c of live.splice(0)) c.cleanup();
  });

  test('records exit code 3 after the process that started it is gone', async () => {
    const c = await startMonitored({ args: ['sh', '-c', 'exit 3'] });
    live.push(c);
    // The spawned process exits once the monitor is detached; the monitor is not its child.
    await waitFor('the spawned process to exit', () => (processAlive(c.spawnedPid) ? undefined : true));
    expect(c.monitorPid).not.toBe(c.spawnedPid);
    expect(processAlive(c.monitorPid)).toBe(true);
    expect(parentOf(c.monitorPid)).not.toBe(process.pid);
    expect(fs.readFileSync(`${c.dir}/monitor.pid`, 'utf8').trim()).toBe(String(c.monitorPid));
    // The container process is the monitor's child (re-parented to it as a subreaper).
    expect(parentOf(c.pid)).toBe(c.monitorPid);
    expect(fs.existsSync(c.exitFile)).toBe(false);

    c.start();
    const exit = await c.waitExit();
    expect(exit).toEqual({ exit_code: 3, signal: 0, exited_at_ns: expect.stringMatching(/^\d{19}$/), oom_killed: false });
    // No temp file is left next to the exit file, and the monitor is gone with its socket.
    expect(fs.readdirSync(c.dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    await waitFor('the monitor to exit', () => (processAlive(c.monitorPid) ? undefined : true));
    expect(fs.existsSync(c.socketPath)).toBe(false);
  });

  test('keeps no descriptor of its caller: only /dev/null stdio, its own pipes, log, signalfd and socket', async () => {
    const c = await startMonitored({ args: ['sleep', '1000'] });
    live.push(c);
    // A descriptor listed may be closed before its link is read (the sync socket, just after the
    // monitor's line): such a one is left out.
    const fds = () =>
      fs.readdirSync(`/proc/${c.monitorPid}/fd`).flatMap((fd) => {
        try {
          return [[Number(fd), fs.readlinkSync(`/proc/${c.monitorPid}/fd/${fd}`)] as const];
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
          throw err;
        }
      });
    expect(fds().filter(([fd]) => fd <= 2).map(([, t]) => t)).toEqual(['/dev/null', '/dev/null', '/dev/null']);
    // The caller's stderr pipe is gone, and its sync socket once the line is written (the monitor
    // closes it right after, maybe a moment after we read the line): one socket (the listener),
    // two pipes (the container's stdout and stderr), the log file and the signalfd.
    const expected = [c.logPath, 'anon_inode:[signalfd]', 'pipe:', 'pipe:', 'socket:'].sort();
    const kinds = () => fds().filter(([fd]) => fd > 2).map(([, t]) => t.replace(/\[\d+\]$/, '')).sort();
    await waitFor('the sync fd to be closed', () => (JSON.stringify(kinds()) === JSON.stringify(expected) ? true : undefined), 5000)
      .catch(() => undefined);
    expect(kinds()).toEqual(expected);
  });

  test('records a kill by signal as 128+N with the signal', async () => {
    const c = await startMonitored({ args: ['sleep', '1000'] });
    live.push(c);
    c.start();
    const k = c.runtime('kill', c.id, 'KILL');
    expect(k.status).toBe(0);
    const exit = await c.waitExit();
    expect(exit.exit_code).toBe(137);
    expect(exit.signal).toBe(9);
    expect(exit.oom_killed).toBe(false);
  });

  test('survives SIGKILL of the process group that started it and SIGTERM to itself', async () => {
    const c = await startMonitored({ args: ['sh', '-c', 'while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 7'], viaWrapper: true });
    live.push(c);
    // The wrapper plays the daemon: kill it and its whole process group.
    process.kill(-c.spawnedPid, 'SIGKILL');
    await waitFor('the wrapper to die', () => (processAlive(c.spawnedPid) ? undefined : true));
    process.kill(c.monitorPid, 'SIGTERM');
    process.kill(c.monitorPid, 'SIGHUP');
    c.start();
    fs.writeFileSync(`${c.bundle.rootfs}/tmp/go`, '');
    const exit = await c.waitExit();
    expect(exit.exit_code).toBe(7);
  });

  // How the daemon starts its own runtime: from its sealed copy, given as fd 4. The path is only
  // argv[0]; the copy is what runs, and neither the monitor nor the container keeps the fd.
  test('runs the runtime from --runtime-fd, not from the --runtime path', async () => {
    const sealed = sealedCopy(RUNTIME);
    try {
      const c = await startMonitored({ args: ['sh', '-c', 'ls /proc/self/fd | tr "\\n" " "; echo; exit 5'], runtimeFd: sealed, runtimePath: '/nonexistent/shoal-runtime' });
      live.push(c);
      const monitorFds = fs.readdirSync(`/proc/${c.monitorPid}/fd`).flatMap((fd) => {
        try {
          return [fs.readlinkSync(`/proc/${c.monitorPid}/fd/${fd}`)];
        } catch {
          return [];
        }
      });
      expect(monitorFds.filter((t) => t.startsWith('/memfd:'))).toEqual([]);
      c.start();
      expect((await c.waitExit()).exit_code).toBe(5);
      // ls's own four: stdio and the directory it reads.
      expect(fs.readFileSync(c.logPath, 'utf8')).toMatch(/ stdout F 0 1 2 3 \n$/);
    } finally {
      fs.closeSync(sealed);
    }
  });

  test.each([false, true])('reports a failing create on the sync pipe with the runtime\'s message (tty %s)', async (tty) => {
    await expect(
      startMonitored({ args: ['true'], tty, edit: (spec) => { spec.root.path = 'no-such-rootfs'; } }),
    ).rejects.toThrow(/monitor: .*create exited with status \d+: .*no-such-rootfs/);
  });
});

describe('shoal-monitor OOM detection', () => {
  const live: MonitoredContainer[] = [];
  afterEach(() => {
    for (const c of live.splice(0)) c.cleanup();
  });

  test('a container killed by its cgroup memory limit is recorded as oom_killed', async () => {
    const c = await startMonitored({
      // tail keeps the whole "last line" of /dev/zero in memory: it grows until the limit kills it.
      args: ['tail', '/dev/zero'],
      edit: (spec) => {
        spec.linux.resources = { memory: { limit: 32 * 1024 * 1024, swap: 32 * 1024 * 1024 } };
      },
    });
    live.push(c);
    c.start();
    const exit = await c.waitExit(60000);
    expect(exit).toEqual(expect.objectContaining({ exit_code: 137, signal: 9, oom_killed: true }));
  });
});

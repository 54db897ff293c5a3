/** shoal-monitor's CRI log file, checked from outside on a real busybox container. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AttachClient, Ev, Req, joinStream, readLog, startMonitored, waitFor, type MonitoredContainer } from './monitor_harness';

const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;

describe('shoal-monitor CRI log', () => {
  const live: MonitoredContainer[] = [];
  const clients: AttachClient[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
    for (const c of live.splice(0)) c.cleanup();
  });

  test('splits a 40 KiB line into P records ending with F, tags stdout and stderr, timestamps are RFC3339Nano', async () => {
    const before = BigInt(Date.now() - 1) * 1000000n;
    const c = await startMonitored({
      args: ['sh', '-c', 'head -c 40960 /dev/zero | tr "\\0" a; echo; echo to-stderr >&2; echo short; printf no-newline'],
    });
    live.push(c);
    c.start();
    const exit = await c.waitExit();
    expect(exit.exit_code).toBe(0);

    const records = readLog(c.logPath);
    const out = records.filter((r) => r.stream === 'stdout');
    expect(out.map((r) => [r.tag, r.content.length])).toEqual([
      ['P', 16384],
      ['P', 16384],
      ['F', 8192],
      ['F', 5],
      ['P', 10],
    ]);
    expect(out.slice(0, 3).every((r) => /^a+$/.test(r.content))).toBe(true);
    expect(joinStream(records, 'stdout')).toBe(`${'a'.repeat(40960)}\nshort\nno-newline`);
    expect(records.filter((r) => r.stream === 'stderr')).toEqual([expect.objectContaining({ tag: 'F', content: 'to-stderr' })]);

    const after = BigInt(Date.now() + 1) * 1000000n;
    let last = before;
    for (const r of records) {
      expect(r.time).toMatch(RFC3339_NANO);
      expect(Number.isNaN(Date.parse(r.time.replace(/\.(\d{3})\d{6}Z$/, '.$1Z')))).toBe(false);
      const ns = BigInt(Date.parse(r.time.slice(0, 19) + 'Z')) * 1000000n + BigInt(r.time.slice(20, 29));
      expect(ns >= last).toBe(true);
      last = ns;
    }
    // The stamps are this run's wall-clock time in UTC (the date conversion is the monitor's own).
    expect(last <= after).toBe(true);
    expect(fs.statSync(c.logPath).mode & 0o777).toBe(0o640);
  });

  test('a fast writer on both streams never gets a record cut or interleaved', async () => {
    const c = await startMonitored({
      args: ['sh', '-c', 'seq 1 20000 & seq 1 20000 >&2 & wait'],
    });
    live.push(c);
    c.start();
    await c.waitExit();
    const records = readLog(c.logPath);
    const expected = Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join('');
    expect(joinStream(records, 'stdout')).toBe(expected);
    expect(joinStream(records, 'stderr')).toBe(expected);
    expect(records.every((r) => r.tag === 'F')).toBe(true);
  });

  test('reopens the log on request: records after a rename go to the new file; a failed reopen is reported', async () => {
    const c = await startMonitored({
      args: ['sh', '-c', 'echo before; while [ ! -e /tmp/go ]; do sleep 0.05; done; echo after'],
    });
    live.push(c);
    c.start();
    await waitFor('"before" in the log', () => (readLog(c.logPath).some((r) => r.content === 'before') ? true : undefined));

    const rotated = `${c.logPath}.1`;
    fs.renameSync(c.logPath, rotated);
    const client = await AttachClient.connect(c.socketPath);
    clients.push(client);
    const ok = await client.request(Req.REOPEN_LOG);
    expect(ok.type).toBe(Ev.OK);
    expect(fs.existsSync(c.logPath)).toBe(true);

    // With the log's directory gone the reopen fails, the old file stays in use and the error says why.
    const logsDir = path.dirname(c.logPath);
    const movedDir = `${logsDir}.moved`;
    fs.renameSync(logsDir, movedDir);
    const failed = await client.request(Req.REOPEN_LOG);
    expect(failed.type).toBe(Ev.ERROR);
    expect(failed.payload.toString()).toMatch(/ctr\.log.*No such file or directory/);
    fs.renameSync(movedDir, logsDir);

    fs.writeFileSync(path.join(c.bundle.rootfs, 'tmp/go'), '');
    await c.waitExit();
    expect(readLog(rotated).map((r) => r.content)).toEqual(['before']);
    expect(readLog(c.logPath).map((r) => r.content)).toEqual(['after']);
  });
});

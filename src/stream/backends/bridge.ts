import type { Writable } from 'node:stream';
import type { RemoteSession } from '../session';
import type { MonitorExit, MonitorSession } from '../monitor_session';

export interface BridgeOptions {
  /** Forward the client's stdin (the request asked for it and the process has one). */
  stdin: boolean;
  /** Forward terminal resizes. */
  tty: boolean;
  /** The end of the client's stdin ends the session (a detach from a terminal) instead of
   *  closing the process's stdin. */
  detachOnStdinEnd?: boolean;
}

/**
 * Attaches to a monitor's socket and joins the client's session to it: output frames to the client's streams,
 * the client's stdin (and its end) and resizes to the monitor. Resolves with the exit the monitor
 * reported, or undefined when either side went away first (the monitor connection is then closed).
 *
 * Output is paced by the client: while a client stream asks to wait for 'drain', the monitor
 * socket is not read, so a slow client holds its bytes in the monitor (which keeps an exec's
 * output in the pipe, and drops an attach's for a client that does not keep up), never in the
 * daemon.
 */
export function bridge(session: RemoteSession, mon: MonitorSession, opts: BridgeOptions): Promise<MonitorExit | undefined> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (exit: MonitorExit | undefined): void => {
      if (settled) return;
      settled = true;
      session.signal.removeEventListener('abort', onAbort);
      session.stdin?.off('data', onStdin);
      mon.close();
      resolve(exit);
    };
    const onAbort = (): void => finish(undefined);
    session.signal.addEventListener('abort', onAbort);

    const out = session.stdout;
    const err = session.stderr ?? (opts.tty ? session.stdout : null);
    const waiting = new Set<Writable>();
    const forward = (w: Writable | null, b: Buffer): void => {
      if (!w || w.write(b) || waiting.has(w)) return;
      waiting.add(w);
      mon.pauseOutput();
      w.once('drain', () => {
        waiting.delete(w);
        if (waiting.size === 0) mon.resumeOutput();
      });
    };
    mon.on('stdout', (b: Buffer) => forward(out, b));
    mon.on('stderr', (b: Buffer) => forward(err, b));
    mon.once('exit', (exit: MonitorExit) => finish(exit));
    mon.once('close', () => finish(undefined));

    const stdin = opts.stdin ? session.stdin : null;
    const onStdin = (chunk: Buffer): void => {
      if (!mon.writeStdin(chunk) && stdin) {
        stdin.pause();
        void mon.waitDrain().then(() => stdin.resume());
      }
    };
    if (stdin) {
      stdin.on('data', onStdin);
      stdin.once('end', () => {
        if (opts.detachOnStdinEnd) finish(undefined);
        else void mon.closeStdin().catch(() => undefined);
      });
    }
    if (opts.tty) session.onResize((size) => void mon.resize(size.height, size.width).catch(() => undefined));
    if (session.signal.aborted) return finish(undefined);
    // Output frames may follow the OK in the same read: the listeners above are in place first.
    mon.attach().catch((err: unknown) => {
      if (settled) return;
      settled = true;
      mon.close();
      reject(err instanceof Error ? err : new Error(String(err)));
    });
  });
}

import { readFileSync } from 'node:fs';

/** What the kernel does with a signal sent to a process now. */
export type SignalDisposition = 'caught' | 'blocked' | 'ignored' | 'default';

/**
 * `signal`'s disposition in process `pid`, from the masks in /proc/<pid>/status (bit n-1 is signal
 * n); undefined when the process is gone. SigBlk is the thread group leader's mask: the one the
 * kernel looks at for a signal sent to the process by pid.
 */
export function signalDisposition(pid: number, signal: number): SignalDisposition | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const bit = 1n << BigInt(signal - 1);
  const inMask = (key: string): boolean => {
    const m = new RegExp(`^${key}:\\s*([0-9a-f]+)$`, 'm').exec(status);
    return m !== null && (BigInt(`0x${m[1]}`) & bit) !== 0n;
  };
  if (inMask('SigBlk')) return 'blocked';
  if (inMask('SigCgt')) return 'caught';
  if (inMask('SigIgn')) return 'ignored';
  return 'default';
}

/** Whether a signal with this disposition reaches a PID namespace's init sent from outside it. */
export function reachesNamespaceInit(d: SignalDisposition | undefined): boolean {
  return d === 'caught' || d === 'blocked';
}

const FIRST_LOOK_MS = 2;
const LONGEST_GAP_MS = 250;

/**
 * Sends the stop signal again once the process catches (or blocks) it, until the returned stop
 * function is called. For a container process that is its PID namespace's init, which the kernel
 * spares every signal from outside it has no handler for: the signal is discarded, not left
 * pending. A program installs its handlers a few ms after its exec, so a StopContainer that closely
 * follows StartContainer would lose its stop signal and wait out the whole grace period before the
 * SIGKILL. The process is looked at after 2 ms, then at doubling gaps of at most 250 ms. If the
 * handler came between the look before the first send and that send, the program gets the signal
 * twice. The stop function resolves once a send under way has finished.
 */
export function resendWhenCaught(pid: number, signal: number, send: () => Promise<void>): () => Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();
  const look = (gapMs: number): void => {
    timer = undefined;
    const d = signalDisposition(pid, signal);
    if (d === undefined) return;
    if (reachesNamespaceInit(d)) {
      sending = send().catch(() => undefined);
      return;
    }
    timer = setTimeout(() => look(Math.min(gapMs * 2, LONGEST_GAP_MS)), gapMs);
  };
  timer = setTimeout(() => look(FIRST_LOOK_MS * 2), FIRST_LOOK_MS);
  return () => {
    clearTimeout(timer);
    return sending;
  };
}

import { constants } from 'node:os';
import { Signal } from '../gen/runtime/v1/api';
import { invalidArgument } from '../errors';

const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** A signal name ("SIGTERM", "TERM", "RTMIN+3") or number as text, to its number. */
export function signalNumber(text: string): number | undefined {
  const t = text.trim().toUpperCase();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return n >= 1 && n <= SIGRTMAX ? n : undefined;
  }
  const name = t.startsWith('SIG') ? t : `SIG${t}`;
  const rt = /^SIGRTMIN(\+(\d+))?$/.exec(name) ?? /^SIGRTMAX(-(\d+))?$/.exec(name);
  if (rt) {
    const off = Number(rt[2] ?? 0);
    const n = name.startsWith('SIGRTMIN') ? SIGRTMIN + off : SIGRTMAX - off;
    return n >= SIGRTMIN && n <= SIGRTMAX ? n : undefined;
  }
  const known = (constants.signals as Record<string, number>)[name];
  return known;
}

/** The CRI Signal enum's name ("SIGRTMINPLUS3", …) to its number. */
export function criSignalNumber(signal: Signal): number | undefined {
  if (signal === Signal.RUNTIME_DEFAULT) return undefined;
  const name = Signal[signal];
  if (name === undefined || name === 'UNRECOGNIZED') throw invalidArgument(`stop_signal: unknown value ${String(signal)}`);
  const plus = /^SIGRTMINPLUS(\d+)$/.exec(name);
  if (plus) return SIGRTMIN + Number(plus[1]);
  const minus = /^SIGRTMAXMINUS(\d+)$/.exec(name);
  if (minus) return SIGRTMAX - Number(minus[1]);
  return signalNumber(name);
}

/** The CRI enum value for a signal number (ContainerStatus.stop_signal). */
export function criSignalOf(n: number): Signal {
  if (n >= SIGRTMIN && n <= SIGRTMAX) {
    if (n === SIGRTMIN) return Signal.SIGRTMIN;
    if (n === SIGRTMAX) return Signal.SIGRTMAX;
    const fromMin = n - SIGRTMIN;
    const byName = fromMin <= 15 ? `SIGRTMINPLUS${fromMin}` : `SIGRTMAXMINUS${SIGRTMAX - n}`;
    return (Signal as unknown as Record<string, Signal>)[byName] ?? Signal.RUNTIME_DEFAULT;
  }
  for (const [name, num] of Object.entries(constants.signals as Record<string, number>)) {
    if (num === n) {
      const v = (Signal as unknown as Record<string, Signal>)[name];
      if (v !== undefined) return v;
    }
  }
  return Signal.RUNTIME_DEFAULT;
}

/** The stop signal: the container config's, else the image's STOPSIGNAL, else SIGTERM. */
export function stopSignal(configured: Signal, imageStopSignal: string | undefined): number {
  const fromConfig = criSignalNumber(configured);
  if (fromConfig !== undefined) return fromConfig;
  if (imageStopSignal) {
    const n = signalNumber(imageStopSignal);
    if (n !== undefined) return n;
  }
  return constants.signals.SIGTERM;
}

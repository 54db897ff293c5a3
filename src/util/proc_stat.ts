import { readFileSync } from 'node:fs';

/**
 * The fields of /proc/<pid>/stat after the command name, which sits in parentheses and may itself
 * hold spaces and ')': index 0 is the state (field 3 of proc(5)), 1 the parent pid (field 4),
 * field n is index n - 3. Undefined when the process is gone.
 */
export function procStatFields(pid: number | string): string[] | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Whether the process exists and is not a zombie (dead, its parent not having reaped it yet). */
export function isLiveProcess(pid: number | string): boolean {
  const state = procStatFields(pid)?.[0];
  return state !== undefined && state !== 'Z';
}

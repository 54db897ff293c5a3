import type { Logger } from '../log';
import { errorText } from '../errors';
import type { ExitFile } from './exit_watcher';
import type { ContainerRecord } from './record';

export interface RecoveryContext {
  records: ContainerRecord[];
  log: Logger;
  adopt(r: ContainerRecord): void;
  teardown(r: ContainerRecord): Promise<void>;
  exitOf(id: string): ExitFile | undefined;
  monitorAlive(r: ContainerRecord): boolean;
  applyExit(r: ContainerRecord, exit: ExitFile, message?: string): Promise<void>;
}

/**
 * Start-up reconciliation. Nothing running is touched: a container whose monitor lives is adopted
 * as it is; one that exited while the daemon was down gets its real exit status from the exit
 * file; half-made (creating) and half-removed (removing) containers are torn down completely.
 */
export async function recoverContainers(ctx: RecoveryContext): Promise<void> {
  const counts = { adopted: 0, exitedWhileDown: 0, lost: 0, cleaned: 0 };
  for (const r of ctx.records) {
    try {
      if (r.phase === 'creating' || r.phase === 'removing') {
        await ctx.teardown(r);
        counts.cleaned++;
        continue;
      }
      ctx.adopt(r);
      counts.adopted++;
      if (r.phase === 'exited') continue;
      const exit = ctx.exitOf(r.id);
      if (exit) {
        await ctx.applyExit(r, exit);
        counts.exitedWhileDown++;
      } else if (!ctx.monitorAlive(r)) {
        // No monitor and no exit file: the status is lost (e.g. the host rebooted).
        await ctx.applyExit(r, { exitCode: 255, signal: 0, exitedAtNs: '0', oomKilled: false }, 'the container monitor is gone and left no exit status');
        counts.lost++;
      }
    } catch (err) {
      ctx.log.error({ id: r.id, phase: r.phase, err: errorText(err) }, 'recovering a container');
    }
  }
  ctx.log.info(counts, 'containers recovered');
}

import { errorText } from '../errors';
import type { Logger } from '../log';

export interface ReclaimerDeps {
  /** Drops the container's hold on its image's layers (idempotent). */
  releaseLayers(id: string): Promise<void>;
  /** Deletes the container's discarded directory (idempotent). */
  purge(id: string): Promise<void>;
  log: Logger;
}

/**
 * What a torn-down container still has after RemoveContainer answers: the hold on its image's
 * layers and its discarded directory (record, bundle, writable layer). Both are invisible to CRI
 * and go in the background, hold first: the discarded directory is what tells a restarted daemon
 * that the hold may still be there (it reclaims every one it finds). A failure is logged and left
 * to that restart.
 */
export class Reclaimer {
  constructor(private readonly deps: ReclaimerDeps) {}

  reclaim(id: string): void {
    void (async () => {
      await this.deps.releaseLayers(id);
      await this.deps.purge(id);
    })().catch((err: unknown) => this.deps.log.error({ id, err: errorText(err) }, 'reclaiming a removed container (a restart retries)'));
  }
}

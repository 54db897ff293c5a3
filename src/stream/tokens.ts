import { randomBytes } from 'node:crypto';
import { resourceExhausted } from '../errors';

export interface TokenStoreOptions {
  /** How long a token stays valid after it is issued (ms). */
  ttlMs: number;
  /** Tokens outstanding at most; issuing past it fails until some expire or are used. */
  maxOutstanding: number;
  now?: () => number;
}

/**
 * Single-use, short-lived tokens that stand for a validated streaming request: the URL handed out
 * by Exec/Attach/PortForward carries one, and the first connection that presents it consumes it.
 * 16 random bytes (base64url) make tokens unguessable; the bound on outstanding tokens keeps a
 * client that asks for URLs and never uses them from growing the daemon.
 */
export class TokenStore<T> {
  private readonly entries = new Map<string, { value: T; expires: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: TokenStoreOptions) {
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  issue(value: T): string {
    this.purgeExpired();
    if (this.entries.size >= this.opts.maxOutstanding) {
      throw resourceExhausted(
        `streaming: ${this.entries.size} streaming URLs are outstanding (the limit is ${this.opts.maxOutstanding}); use or let some expire first`,
      );
    }
    const token = randomBytes(16).toString('base64url');
    this.entries.set(token, { value, expires: this.now() + this.opts.ttlMs });
    return token;
  }

  /** The request the token stands for, once; undefined when unknown, used or expired. */
  consume(token: string): T | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    return entry.expires > this.now() ? entry.value : undefined;
  }

  private purgeExpired(): void {
    const now = this.now();
    // Map iteration follows insertion order, which is expiry order: stop at the first live one.
    for (const [token, entry] of this.entries) {
      if (entry.expires > now) break;
      this.entries.delete(token);
    }
  }
}

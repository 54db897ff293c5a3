/**
 * Facts of Kubernetes' remote command protocols (exec and attach), shared by the SPDY and the
 * WebSocket transports.
 *
 * Versions: channel.k8s.io (v1) and v2 report only failures, as plain text, on the error stream;
 * v3 adds the resize stream; v4 writes a metav1.Status JSON on the error stream for every outcome
 * (the exit code as a cause of a NonZeroExitCode failure); v5 adds, on WebSocket, a CLOSE signal
 * that half-closes one stream (over SPDY a FIN already does that, so v5 behaves as v4 there).
 */
export const V1 = 'channel.k8s.io';
export const V2 = 'v2.channel.k8s.io';
export const V3 = 'v3.channel.k8s.io';
export const V4 = 'v4.channel.k8s.io';
export const V5 = 'v5.channel.k8s.io';

/** What the SPDY transport negotiates, best first (client order decides among these). */
export const SPDY_PROTOCOLS = [V5, V4, V3, V2, V1];

/** Header carrying the client's protocol list on the upgrade request and the chosen one back. */
export const PROTOCOL_HEADER = 'X-Stream-Protocol-Version';
export const ACCEPTED_PROTOCOLS_HEADER = 'X-Accepted-Stream-Protocol-Versions';

/** The stream type header of each SPDY stream and its values. */
export const STREAM_TYPE_HEADER = 'streamtype';
export type StreamType = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';

/** WebSocket channel numbers (stdio ones equal the file descriptors). */
export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4 } as const;
/** v5 WebSocket: [CLOSE_SIGNAL, channel] half-closes that channel. */
export const CLOSE_SIGNAL = 255;

export interface TerminalSize {
  width: number;
  height: number;
}

/** Which streams the session carries, as the CRI request asked. */
export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** How a session ended, before it is put into a protocol's words. */
export type Outcome =
  | { kind: 'success' }
  | { kind: 'exit'; code: number }
  | { kind: 'error'; message: string };

/** The metav1.Status object v4 and later write on the error stream. */
export interface Status {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: Array<{ reason?: string; message: string }> };
  code?: number;
}

export function statusOf(outcome: Outcome): Status {
  switch (outcome.kind) {
    case 'success':
      return { metadata: {}, status: 'Success' };
    case 'exit':
      if (outcome.code === 0) return { metadata: {}, status: 'Success' };
      return {
        metadata: {},
        status: 'Failure',
        message: `command terminated with non-zero exit code: exit status ${outcome.code}`,
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: String(outcome.code) }] },
      };
    case 'error':
      return {
        metadata: {},
        status: 'Failure',
        message: `Internal error occurred: ${outcome.message}`,
        reason: 'InternalError',
        details: { causes: [{ message: outcome.message }] },
        code: 500,
      };
  }
}

/**
 * The bytes a protocol version writes on the error stream for this outcome; empty when it writes
 * nothing (before v4, success is silence and failures are text).
 */
export function errorStreamPayload(protocol: string, outcome: Outcome): Buffer {
  const status = statusOf(outcome);
  if (protocol === V4 || protocol === V5) return Buffer.from(JSON.stringify(status));
  if (status.status === 'Success') return Buffer.alloc(0);
  return Buffer.from(status.message ?? 'unknown error');
}

/** True when the protocol has a resize stream. */
export function supportsResize(protocol: string): boolean {
  return protocol === V3 || protocol === V4 || protocol === V5;
}

/**
 * Splits a byte stream of concatenated JSON objects ({"Width":80,"Height":24} per resize, with or
 * without newlines between them) into sizes. Malformed objects are skipped.
 */
export class ResizeDecoder {
  private text = '';

  push(chunk: Buffer): TerminalSize[] {
    this.text += chunk.toString('utf8');
    const out: TerminalSize[] = [];
    let depth = 0;
    let inString = false;
    let escaped = false;
    let start = -1;
    let consumed = 0;
    for (let i = 0; i < this.text.length; i++) {
      const c = this.text[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '{') {
        if (depth === 0) start = i;
        depth++;
      } else if (c === '}' && depth > 0) {
        depth--;
        if (depth === 0) {
          const size = parseSize(this.text.slice(start, i + 1));
          if (size) out.push(size);
          consumed = i + 1;
        }
      } else if (depth === 0) consumed = i + 1;
    }
    this.text = this.text.slice(consumed);
    if (this.text.length > 4096) this.text = ''; // not a size object: drop rather than grow
    return out;
  }
}

function parseSize(json: string): TerminalSize | undefined {
  try {
    const v = JSON.parse(json) as { Width?: unknown; Height?: unknown };
    const width = Number(v.Width);
    const height = Number(v.Height);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0 || width > 65535 || height > 65535) return undefined;
    return { width, height };
  } catch {
    return undefined;
  }
}

/**
 * Resizes a client sent, kept until the backend listens: a client sends its terminal size as soon
 * as the streams are up, usually before the command runs. Only the latest pending size matters.
 */
export class ResizeEvents {
  private listener: ((size: TerminalSize) => void) | undefined;
  private pending: TerminalSize | undefined;

  emit(size: TerminalSize): void {
    if (this.listener) this.listener(size);
    else this.pending = size;
  }

  listen(listener: (size: TerminalSize) => void): void {
    this.listener = listener;
    if (this.pending) {
      const size = this.pending;
      this.pending = undefined;
      listener(size);
    }
  }
}

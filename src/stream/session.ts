import type { Duplex, Readable, Writable } from 'node:stream';
import type { AttachRequest, ExecRequest, PortForwardRequest } from '../gen/runtime/v1/api';
import type { StreamOptions, TerminalSize } from './remotecommand/protocol';

/**
 * What an exec or attach backend gets from a connected client, whatever the transport: the
 * streams the request asked for, the terminal resizes, and a signal that fires when the client
 * goes away (its connection closed or timed out).
 */
export interface RemoteSession {
  readonly options: StreamOptions;
  /** The client's input; ends when the client closes stdin. */
  readonly stdin: Readable | null;
  /** end() tells the client that output is complete. */
  readonly stdout: Writable | null;
  readonly stderr: Writable | null;
  /** Sets the listener for terminal size changes (tty sessions of v3 and later); a size sent
   *  before it was set is delivered at once. */
  onResize(listener: (size: TerminalSize) => void): void;
  readonly signal: AbortSignal;
}

/** The parts of the daemon that do the work behind a streaming URL. */
export interface StreamBackends {
  /** Runs the command; resolves with its exit code once it exited and its output was copied. */
  exec(request: ExecRequest, session: RemoteSession): Promise<number>;
  /** Streams the container's stdio until the client detaches or the container exits. */
  attach(request: AttachRequest, session: RemoteSession): Promise<void>;
  /** A TCP connection to the port inside the pod's network namespace. */
  dialPod(request: PortForwardRequest, port: number): Promise<Duplex>;
}

export type PendingRequest =
  | { kind: 'exec'; request: ExecRequest }
  | { kind: 'attach'; request: AttachRequest }
  | { kind: 'portforward'; request: PortForwardRequest };

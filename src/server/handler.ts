import type { handleServerStreamingCall, handleUnaryCall, Metadata } from '@grpc/grpc-js';
import type { PreEncoded } from './pre_encoded';

/**
 * The shape every RPC implementation has: a decoded request in, a response out (or a thrown
 * CriError). grpc-js call objects stay inside src/server/grpc.ts.
 */
export interface CallContext {
  /** The RPC's method name as the wire knows it, e.g. "PullImage". */
  readonly method: string;
  readonly metadata: Metadata;
  /** Aborted when the client cancels or its deadline passes. */
  readonly signal: AbortSignal;
  /**
   * Resolves when a server stream's outgoing buffer has drained (at once for unary calls and when
   * nothing is buffered). A stream handler waits on it after `send` returned false, so a slow
   * client holds only its own handler back, never the daemon's memory.
   */
  drained(): Promise<void>;
}

/** A handler may answer with bytes it encoded itself (see pre_encoded.ts). */
export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res | PreEncoded<Res>>;

/**
 * Server-streaming RPCs push responses with `send`, which returns false when the client is not
 * keeping up (then wait on `ctx.drained()`); the stream ends when the promise settles.
 */
export type StreamHandler<Req, Res> = (request: Req, send: (response: Res) => boolean, ctx: CallContext) => Promise<void>;

/**
 * What a service implements, derived from the generated grpc-js server interface (ts-proto):
 * the same method keys, with our handler shapes. Every method is optional: a missing one answers
 * UNIMPLEMENTED naming itself. (The generated interface's string index signature is dropped.)
 */
export type Handlers<Server> = {
  [K in keyof Server as string extends K ? never : K]?: Server[K] extends handleUnaryCall<infer Req, infer Res>
    ? UnaryHandler<Req, Res>
    : Server[K] extends handleServerStreamingCall<infer Req, infer Res>
      ? StreamHandler<Req, Res>
      : never;
};

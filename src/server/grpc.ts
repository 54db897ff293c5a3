import {
  Server,
  ServerCredentials,
  status as GrpcCode,
  type ServiceDefinition,
  type MethodDefinition,
  type UntypedServiceImplementation,
  type ServerUnaryCall,
  type sendUnaryData,
  type ServerWritableStream,
  type Metadata,
} from '@grpc/grpc-js';
import { chmodSync, rmSync } from 'node:fs';
import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import type { CallContext, Handlers, StreamHandler, UnaryHandler } from './handler';
import { codeName, toServiceError } from './status';
import { unimplemented } from '../errors';
import { PreEncoded } from './pre_encoded';
import type { MethodRpcMetrics } from '../metrics/rpc_metrics';

export interface CriServerOptions {
  log: Logger;
  metrics: Metrics;
  maxMessageBytes: number;
}

type AnyUnary = UnaryHandler<unknown, unknown>;
type AnyStream = StreamHandler<unknown, unknown>;

/**
 * gRPC wiring for the CRI services: turns our handler maps into grpc-js implementations, answers
 * UNIMPLEMENTED for what a map lacks, and records every call in the log and metrics.
 */
export class CriServer {
  private readonly server: Server;
  private socketPath: string | undefined;

  constructor(private readonly opts: CriServerOptions) {
    this.server = new Server({
      'grpc.max_receive_message_length': opts.maxMessageBytes,
      'grpc.max_send_message_length': opts.maxMessageBytes,
      // Nothing reads channelz here; its per-call bookkeeping (timestamps, closures) is skipped.
      'grpc.enable_channelz': 0,
    });
  }

  addService<S>(serviceName: string, definition: ServiceDefinition, handlers: Handlers<S>): void {
    const impl: UntypedServiceImplementation = {};
    const byKey = handlers as Record<string, AnyUnary | AnyStream | undefined>;
    for (const [key, method] of Object.entries(definition)) {
      const wireName = method.path.slice(method.path.lastIndexOf('/') + 1);
      const handler = byKey[key];
      impl[key] = method.responseStream
        ? this.streamCall(serviceName, wireName, handler as AnyStream | undefined)
        : this.unaryCall(serviceName, wireName, handler as AnyUnary | undefined);
    }
    this.server.addService(withPreEncodedResponses(definition), impl);
  }

  async listen(socketPath: string): Promise<void> {
    // Whoever calls this holds the socket's lock file, so a socket already there is a crash's leftover.
    rmSync(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.bindAsync(`unix://${socketPath}`, ServerCredentials.createInsecure(), (err) =>
        err ? reject(new Error(`listening on ${socketPath}: ${err.message}`)) : resolve(),
      );
    });
    chmodSync(socketPath, 0o660);
    this.socketPath = socketPath;
  }

  /** Stops taking calls, lets in-flight ones finish for up to `graceMs`, then cuts the rest. */
  async shutdown(graceMs: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.opts.log.warn({ graceMs }, 'in-flight calls did not finish in time; closing them');
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (this.socketPath) rmSync(this.socketPath, { force: true });
  }

  /**
   * Ends a call's bookkeeping: its metrics, and a log line (an error for INTERNAL and UNKNOWN,
   * debug otherwise, built only when debug is on).
   */
  private record(metrics: MethodRpcMetrics, method: string, started: number, code: GrpcCode, err?: unknown): void {
    const ms = performance.now() - started;
    metrics.record(code, codeName, ms / 1000);
    const log = this.opts.log;
    if (code === GrpcCode.INTERNAL || code === GrpcCode.UNKNOWN) {
      log.error({ method, code: codeName(code), ms: round(ms), err }, 'rpc failed');
    } else if (log.isLevelEnabled('debug')) {
      const line = { method, code: codeName(code), ms: round(ms) };
      if (err !== undefined) log.debug({ ...line, error: (err as Error).message }, 'rpc');
      else log.debug(line, 'rpc');
    }
  }

  /**
   * Every unary call passes here, so it is kept lean: a call's own cost was measured against
   * containerd's in bench/cri.ts, and label hashing, a BigInt clock, closures per call and an
   * extra promise hop each showed (bench/README.md, seventh session).
   */
  private unaryCall(service: string, method: string, handler: AnyUnary | undefined) {
    const metrics = this.opts.metrics.rpc.forMethod(service, method);
    return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void => {
      const started = performance.now();
      const run = handler
        ? attempt(() => handler(call.request, new RpcContext(method, call)))
        : Promise.reject(unimplemented(`${service}.${method} is not implemented by shoal yet`));
      run.then(
        (response) => {
          this.record(metrics, method, started, GrpcCode.OK);
          callback(null, response);
        },
        (err: unknown) => {
          const serviceError = toServiceError(err);
          this.record(metrics, method, started, serviceError.code, err);
          callback(serviceError);
        },
      );
    };
  }

  private streamCall(service: string, method: string, handler: AnyStream | undefined) {
    const metrics = this.opts.metrics.rpc.forMethod(service, method);
    return (call: ServerWritableStream<unknown, unknown>): void => {
      const started = performance.now();
      const send = (response: unknown): boolean => (call.cancelled || call.destroyed ? false : call.write(response));
      const run = handler
        ? attempt(() => handler(call.request, send, new RpcContext(method, call)))
        : Promise.reject(unimplemented(`${service}.${method} is not implemented by shoal yet`));
      run.then(
        () => {
          this.record(metrics, method, started, GrpcCode.OK);
          call.end();
        },
        (err: unknown) => {
          const serviceError = toServiceError(err);
          this.record(metrics, method, started, serviceError.code, err);
          call.emit('error', serviceError);
        },
      );
    };
  }
}

const round = (ms: number): number => Math.round(ms * 1e3) / 1e3;

/** The handler's promise, with a synchronous throw turned into its rejection. */
function attempt<T>(handler: () => Promise<T>): Promise<T> {
  try {
    return handler();
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * A call's context. Its AbortSignal is made on first use: most calls never look at it, and an
 * AbortController with its listener was a measurable share of a small call's cost.
 */
class RpcContext implements CallContext {
  private abort: AbortController | undefined;

  constructor(
    readonly method: string,
    private readonly call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>,
  ) {}

  get metadata(): Metadata {
    return this.call.metadata;
  }

  get signal(): AbortSignal {
    if (!this.abort) {
      const made = new AbortController();
      const cancel = (): void => made.abort(new Error(`${this.method} cancelled by the client`));
      if (this.call.cancelled) cancel();
      else this.call.once('cancelled', cancel);
      this.abort = made;
    }
    return this.abort.signal;
  }

  drained(): Promise<void> {
    const stream = 'writableNeedDrain' in this.call ? this.call : undefined;
    if (!stream || !stream.writableNeedDrain) return Promise.resolve();
    const signal = this.signal;
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        stream.off('drain', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      stream.on('drain', done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** The same service with serializers that pass a PreEncoded response through untouched. */
function withPreEncodedResponses(definition: ServiceDefinition): ServiceDefinition {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [key, method] of Object.entries(definition)) {
    const serialize = method.responseSerialize;
    out[key] = {
      ...method,
      responseSerialize: (value: unknown): Buffer =>
        value instanceof PreEncoded ? Buffer.from(value.bytes.buffer, value.bytes.byteOffset, value.bytes.byteLength) : serialize(value),
    };
  }
  return out;
}

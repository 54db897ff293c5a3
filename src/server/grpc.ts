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
} from '@grpc/grpc-js';
import { chmodSync, rmSync } from 'node:fs';
import type { Logger } from '../log';
import type { Metrics } from '../metrics/metrics';
import type { CallContext, Handlers, StreamHandler, UnaryHandler } from './handler';
import { codeName, toServiceError } from './status';
import { unimplemented } from '../errors';
import { PreEncoded } from './pre_encoded';

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
   * The call's context. Its AbortSignal is made on first use: most calls never look at it, and an
   * AbortController with its listener was a measurable share of a small call's cost.
   */
  private context(method: string, call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>): CallContext {
    let abort: AbortController | undefined;
    const signal = (): AbortSignal => {
      if (!abort) {
        const made = new AbortController();
        const cancel = (): void => made.abort(new Error(`${method} cancelled by the client`));
        if (call.cancelled) cancel();
        else call.once('cancelled', cancel);
        abort = made;
      }
      return abort.signal;
    };
    const stream = 'writableNeedDrain' in call ? call : undefined;
    const drained = (): Promise<void> =>
      new Promise<void>((resolve) => {
        if (!stream || !stream.writableNeedDrain || signal().aborted) return resolve();
        const done = (): void => {
          stream.off('drain', done);
          signal().removeEventListener('abort', done);
          resolve();
        };
        stream.on('drain', done);
        signal().addEventListener('abort', done, { once: true });
      });
    return {
      method,
      metadata: call.metadata,
      get signal() {
        return signal();
      },
      drained,
    };
  }

  private record(service: string, method: string, started: bigint, code: GrpcCode, err?: unknown): void {
    const labels = { service, method, code: codeName(code) };
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.opts.metrics.rpcRequests.inc(labels);
    this.opts.metrics.rpcDuration.observe(labels, seconds);
    const line = { method, code: labels.code, ms: Math.round(seconds * 1e6) / 1e3 };
    if (code === GrpcCode.INTERNAL || code === GrpcCode.UNKNOWN) {
      this.opts.log.error({ ...line, err }, 'rpc failed');
    } else if (err !== undefined) {
      this.opts.log.debug({ ...line, error: (err as Error).message }, 'rpc');
    } else {
      this.opts.log.debug(line, 'rpc');
    }
  }

  private unaryCall(service: string, method: string, handler: AnyUnary | undefined) {
    return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void => {
      const started = process.hrtime.bigint();
      const ctx = this.context(method, call);
      const run = handler
        ? Promise.resolve().then(() => handler(call.request, ctx))
        : Promise.reject(unimplemented(`${service}.${method} is not implemented by shoal yet`));
      run.then(
        (response) => {
          this.record(service, method, started, GrpcCode.OK);
          callback(null, response);
        },
        (err: unknown) => {
          const serviceError = toServiceError(err);
          this.record(service, method, started, serviceError.code, err);
          callback(serviceError);
        },
      );
    };
  }

  private streamCall(service: string, method: string, handler: AnyStream | undefined) {
    return (call: ServerWritableStream<unknown, unknown>): void => {
      const started = process.hrtime.bigint();
      const ctx = this.context(method, call);
      const send = (response: unknown): boolean => (call.cancelled || call.destroyed ? false : call.write(response));
      const run = handler
        ? Promise.resolve().then(() => handler(call.request, send, ctx))
        : Promise.reject(unimplemented(`${service}.${method} is not implemented by shoal yet`));
      run.then(
        () => {
          this.record(service, method, started, GrpcCode.OK);
          call.end();
        },
        (err: unknown) => {
          const serviceError = toServiceError(err);
          this.record(service, method, started, serviceError.code, err);
          call.emit('error', serviceError);
        },
      );
    };
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

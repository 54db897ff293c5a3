import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';

/**
 * A CRI client built straight from proto/ with proto-loader, independent of the daemon's generated
 * code: what the tests see is what the wire carries. Field names stay snake_case as in the proto,
 * int64 come back as strings, enums as their names.
 */
const definition = protoLoader.loadSync(join(__dirname, '../../proto/runtime/v1/api.proto'), {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});
const runtimeV1 = (grpc.loadPackageDefinition(definition).runtime as grpc.GrpcObject).v1 as grpc.GrpcObject;

type Message = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface CriClient {
  runtime(method: string, request?: Message, deadlineMs?: number): Promise<Message>;
  image(method: string, request?: Message, deadlineMs?: number): Promise<Message>;
  /** A server-streaming call, collected to its end. */
  runtimeStream(method: string, request?: Message): Promise<Message[]>;
  imageStream(method: string, request?: Message): Promise<Message[]>;
  /** The raw grpc-js clients, for streaming calls a test reads incrementally. */
  readonly raw: { runtime: grpc.Client; image: grpc.Client };
  close(): void;
}

export function criClient(socketPath: string): CriClient {
  const RuntimeService = runtimeV1.RuntimeService as grpc.ServiceClientConstructor;
  const ImageService = runtimeV1.ImageService as grpc.ServiceClientConstructor;
  const options = { 'grpc.max_receive_message_length': 64 * 1024 * 1024 };
  const runtime = new RuntimeService(`unix://${socketPath}`, grpc.credentials.createInsecure(), options);
  const image = new ImageService(`unix://${socketPath}`, grpc.credentials.createInsecure(), options);
  const unary = (client: grpc.Client, method: string, request: Message, deadlineMs: number): Promise<Message> =>
    new Promise((resolve, reject) => {
      const fn = (client as unknown as Record<string, Function>)[method];
      if (typeof fn !== 'function') return reject(new Error(`no such CRI method ${method}`));
      fn.call(client, request, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, res: Message) =>
        err ? reject(err) : resolve(res),
      );
    });
  const collect = (client: grpc.Client, method: string, request: Message): Promise<Message[]> =>
    new Promise((resolve, reject) => {
      const fn = (client as unknown as Record<string, Function>)[method];
      if (typeof fn !== 'function') return reject(new Error(`no such CRI method ${method}`));
      const out: Message[] = [];
      const call = fn.call(client, request) as grpc.ClientReadableStream<Message>;
      call.on('data', (m: Message) => out.push(m));
      call.on('error', reject);
      call.on('end', () => resolve(out));
    });
  return {
    runtime: (method, request = {}, deadlineMs = 60_000) => unary(runtime, method, request, deadlineMs),
    image: (method, request = {}, deadlineMs = 300_000) => unary(image, method, request, deadlineMs),
    runtimeStream: (method, request = {}) => collect(runtime, method, request),
    imageStream: (method, request = {}) => collect(image, method, request),
    raw: { runtime, image },
    close() {
      runtime.close();
      image.close();
    },
  };
}

/** The gRPC status code name of a failed call ("NOT_FOUND"…), for assertions. */
export function codeOf(err: unknown): string {
  const code = (err as grpc.ServiceError).code;
  return grpc.status[code] ?? String(code);
}

import { status as GrpcCode, type ServiceError, Metadata } from '@grpc/grpc-js';
import { CriError, type ErrorKind } from '../errors';

/** The one place where internal errors become gRPC statuses. */
const CODE_OF: Record<ErrorKind, GrpcCode> = {
  InvalidArgument: GrpcCode.INVALID_ARGUMENT,
  NotFound: GrpcCode.NOT_FOUND,
  AlreadyExists: GrpcCode.ALREADY_EXISTS,
  FailedPrecondition: GrpcCode.FAILED_PRECONDITION,
  DeadlineExceeded: GrpcCode.DEADLINE_EXCEEDED,
  ResourceExhausted: GrpcCode.RESOURCE_EXHAUSTED,
  Unimplemented: GrpcCode.UNIMPLEMENTED,
  Unavailable: GrpcCode.UNAVAILABLE,
  Internal: GrpcCode.INTERNAL,
};

export function toServiceError(err: unknown): ServiceError {
  const code = err instanceof CriError ? CODE_OF[err.kind] : GrpcCode.INTERNAL;
  const details = err instanceof Error ? err.message : String(err);
  return Object.assign(new Error(details), { code, details, metadata: new Metadata() });
}

/** The code's name as it appears in metrics and logs ("OK", "NOT_FOUND", …). */
export function codeName(code: GrpcCode): string {
  return GrpcCode[code] ?? String(code);
}

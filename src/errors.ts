/**
 * Errors that cross the gRPC boundary. Domain code throws these; src/server/status.ts is the one
 * place that turns them into gRPC status codes. The message always names the object and the cause.
 */
export type ErrorKind =
  | 'InvalidArgument'
  | 'NotFound'
  | 'AlreadyExists'
  | 'FailedPrecondition'
  | 'DeadlineExceeded'
  | 'ResourceExhausted'
  | 'Unimplemented'
  | 'Unavailable'
  | 'Internal';

export class CriError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = `CriError(${kind})`;
  }
}

export const invalidArgument = (msg: string): CriError => new CriError('InvalidArgument', msg);
export const notFound = (msg: string): CriError => new CriError('NotFound', msg);
export const alreadyExists = (msg: string): CriError => new CriError('AlreadyExists', msg);
export const failedPrecondition = (msg: string): CriError => new CriError('FailedPrecondition', msg);
export const deadlineExceeded = (msg: string): CriError => new CriError('DeadlineExceeded', msg);
export const resourceExhausted = (msg: string): CriError => new CriError('ResourceExhausted', msg);
export const unimplemented = (msg: string): CriError => new CriError('Unimplemented', msg);
export const unavailable = (msg: string): CriError => new CriError('Unavailable', msg);
export const internal = (msg: string): CriError => new CriError('Internal', msg);

/** The text of anything thrown, for wrapping into a message that adds what was being done. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

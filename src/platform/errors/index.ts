import { AppError, ERROR_CODES, GRPC_STATUS, type ErrorCode } from '../../domain/shared/errors.ts';

/** A code's status on each protocol, from the registry. GraphQL and WebSocket frames carry the code itself. */
export interface ProtocolStatuses {
  http: number;
  grpc: number;
  grpcName: keyof typeof GRPC_STATUS;
  graphql: ErrorCode;
}

export function statusesOf(code: ErrorCode): ProtocolStatuses {
  const entry = ERROR_CODES[code];
  return { http: entry.status, grpc: GRPC_STATUS[entry.grpc], grpcName: entry.grpc, graphql: code };
}

/**
 * Anything thrown, as an AppError: an AppError passes through, anything else
 * is an unexpected failure whose details stay in the logs (`cause`), never in
 * the answer. Transports that know their own library's errors (Fastify's,
 * Ajv's) map those first and fall back to this.
 */
export function asAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError('INTERNAL_ERROR', 'An unexpected error occurred; quote the request_id when reporting it', { cause: error });
}

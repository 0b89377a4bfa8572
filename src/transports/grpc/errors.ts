import { ConnectError, type Code } from '@connectrpc/connect';
import { durationFromMs } from '@bufbuild/protobuf/wkt';
import type { AppError } from '../../domain/shared/errors.ts';
import { statusesOf } from '../../platform/errors/index.ts';
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from './gen/google/rpc/error_details_pb.ts';

/** `ErrorInfo.domain` of every Stoa error. */
export const ERROR_DOMAIN = 'stoa';

/** ErrorInfo metadata is a string map: strings pass as they are, anything else as JSON. */
function metadataOf(extensions: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(extensions ?? {})) {
    if (value !== undefined) out[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}

/**
 * An AppError as a gRPC status: the code from the registry's gRPC column,
 * and `grpc-status-details-bin` (a google.rpc.Status) holding an ErrorInfo
 * (reason = the registry code, domain = stoa, metadata = the error's
 * extensions), a BadRequest with one violation per failing field (the field
 * codes of REST as `reason`), and RetryInfo when the caller may retry later.
 * `fieldName` renames a canonical field path into the method's own (`limit` → `page_size`).
 */
export function toConnectError(error: AppError, headers: Record<string, string>, fieldName: (field: string) => string = (f) => f): ConnectError {
  const details: ConstructorParameters<typeof ConnectError>[3] = [
    { desc: ErrorInfoSchema, value: { reason: error.code, domain: ERROR_DOMAIN, metadata: metadataOf(error.extensions) } },
  ];
  if (error.errors && error.errors.length > 0) {
    details.push({
      desc: BadRequestSchema,
      value: { fieldViolations: error.errors.map((e) => ({ field: fieldName(e.field), reason: e.code, description: e.message })) },
    });
  }
  if (error.retryAfterSeconds !== undefined) {
    details.push({ desc: RetryInfoSchema, value: { retryDelay: durationFromMs(error.retryAfterSeconds * 1000) } });
  }
  return new ConnectError(error.message, statusesOf(error.code).grpc as Code, headers, details, error);
}

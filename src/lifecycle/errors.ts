/**
 * Refusals of the admin layer, each with a stable code and HTTP status, rendered by the admin
 * API as `{"error":{"code","message","field"?}}`. Kept apart from the proxy's error table: these
 * codes describe management operations, not requests through the gateway.
 */
export const ADMIN_ERRORS = {
  invalid_input: 400,
  unauthorized: 401,
  key_pair_secret_not_credential: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  key_limit_reached: 409,
  read_only: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  internal_error: 500,
  store_unavailable: 503,
} as const;

export type AdminErrorCode = keyof typeof ADMIN_ERRORS;

export class AdminError extends Error {
  readonly code: AdminErrorCode;
  readonly status: number;
  /** The offending input field, for 400s. */
  readonly field: string | undefined;
  constructor(code: AdminErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'AdminError';
    this.code = code;
    this.status = ADMIN_ERRORS[code];
    this.field = field;
  }
}

/**
 * Refusals of the admin layer, each with a stable code and HTTP status, rendered by the admin
 * API as `{"error":{"code","message","field"?}}`. Kept apart from the proxy's error table: these
 * codes describe management operations, not requests through the gateway.
 */
export const ADMIN_ERRORS = {
  invalid_input: 400,
  key_lifetime_exceeded: 400,
  key_expiry_required: 400,
  unauthorized: 401,
  key_pair_secret_not_credential: 401,
  session_required: 401,
  oidc_failed: 401,
  forbidden: 403,
  csrf_failed: 403,
  scopes_not_held: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  key_limit_reached: 409,
  read_only: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_failed_credentials: 429,
  internal_error: 500,
  store_unavailable: 503,
  outcome_unknown: 503,
  console_not_built: 503,
  oidc_unavailable: 503,
} as const;

export type AdminErrorCode = keyof typeof ADMIN_ERRORS;

export class AdminError extends Error {
  readonly code: AdminErrorCode;
  readonly status: number;
  /** The offending input field, for 400s. */
  readonly field: string | undefined;
  /** `outcome_unknown`: the record the write was about, for the caller to look up before retrying. */
  readonly resource: { type: 'principal' | 'key' | 'group'; id: string } | undefined;
  constructor(code: AdminErrorCode, message: string, field?: string, resource?: { type: 'principal' | 'key' | 'group'; id: string }) {
    super(message);
    this.name = 'AdminError';
    this.code = code;
    this.status = ADMIN_ERRORS[code];
    this.field = field;
    this.resource = resource;
  }
}

/**
 * Every error keygate answers with, in one table: a stable `code` (clients and alerts key on it),
 * its HTTP status and a default message. `docs/errors.md` lists the same codes; a test keeps the
 * two in sync. Error bodies never echo request data: no credential, header or path can leak.
 */

export const ERRORS = {
  bad_path: { status: 400, message: 'The request path is not acceptable' },
  bad_host: { status: 400, message: 'The request names no single, valid host' },
  invalid_request: { status: 400, message: 'The request is malformed' },
  ambiguous_credentials: { status: 400, message: 'The request carries more than one credential' },
  invalid_json: { status: 400, message: 'The request body is not valid JSON' },
  check_identity_spelling: { status: 400, message: 'The request carries an identity header under another spelling (X_Authenticated_User) that the proxy asking would pass to the backend' },
  check_override_header: { status: 400, message: 'The request carries a method or target override header that the proxy asking would pass to the backend' },
  check_original_missing: { status: 400, message: 'The check request does not name a valid original method and URI' },
  missing_credentials: { status: 401, message: 'No credentials were presented' },
  invalid_key: { status: 401, message: 'The presented credential is not valid' },
  key_expired: { status: 401, message: 'The presented key has expired' },
  key_revoked: { status: 401, message: 'The presented key has been revoked' },
  principal_disabled: { status: 401, message: 'The principal of this key is disabled' },
  token_expired: { status: 401, message: 'The presented token has expired' },
  key_pair_secret_not_credential: { status: 401, message: 'A key pair secret is not a credential; exchange it for a short-lived token' },
  invalid_org_key: { status: 401, message: 'The org key is not valid for this principal' },
  user_key_required: { status: 401, message: 'A user-level credential is required; an org key alone is not enough' },
  forbidden: { status: 403, message: 'The principal lacks the permission this route requires' },
  check_untrusted_client: { status: 403, message: 'This client may not ask the check listener for decisions' },
  check_body_unavailable: { status: 403, message: 'This route reads a credential from the request body, which this proxy does not send to the check' },
  route_without_upstream: { status: 404, message: 'This route is decided by the check listener only; the proxy has nowhere to forward it' },
  route_not_found: { status: 404, message: 'No route matches this request' },
  request_timeout: { status: 408, message: 'The request was not received in time' },
  body_too_large: { status: 413, message: 'The request body is larger than credential extraction allows' },
  body_buffers_full: { status: 503, message: 'Too many request bodies are being read for credentials at once; retry shortly' },
  rate_limited: { status: 429, message: 'Rate limit exceeded' },
  quota_exhausted: { status: 429, message: 'Quota exhausted' },
  too_many_failed_credentials: { status: 429, message: 'Too many refused credentials from this address; retry later' },
  headers_too_large: { status: 431, message: 'The request headers are too large or too many' },
  internal_error: { status: 500, message: 'Internal error' },
  upstream_unavailable: { status: 502, message: 'The upstream could not be reached' },
  keystore_unavailable: { status: 503, message: 'The key store is unavailable' },
  upstream_timeout: { status: 504, message: 'The upstream did not answer in time' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** A failure with a stable code. `headers` are added to the response (e.g. WWW-Authenticate). */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly headers: Record<string, string> | undefined;

  constructor(code: ErrorCode, message?: string, opts?: { cause?: unknown; headers?: Record<string, string> }) {
    super(message ?? ERRORS[code].message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.headers = opts?.headers;
  }
}

/** The JSON body of every error response: `{"error":{"code","message","requestId"}}`. */
export function errorBody(code: ErrorCode, message: string, requestId: string): string {
  return JSON.stringify({ error: { code, message, requestId } });
}

/** Maps anything thrown on the request path to a GatewayError; unknown faults become 500. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError('internal_error', undefined, { cause: err });
}

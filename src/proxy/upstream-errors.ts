import { GatewayError } from '../errors.ts';

/**
 * undici and socket failures → the answer the client gets, in one table. The original error
 * is kept as `cause` for the log; the client only ever sees the stable code.
 */
const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

export type UpstreamErrorKind = 'timeout' | 'unavailable' | 'client_aborted';

export function classifyUpstreamError(err: unknown): UpstreamErrorKind {
  const code = (err as { code?: string } | null)?.code ?? '';
  if (TIMEOUTS.has(code)) return 'timeout';
  if (code === 'UND_ERR_ABORTED' || code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' || code === 'ECONNABORTED') return 'client_aborted';
  return 'unavailable';
}

export function upstreamError(err: unknown): GatewayError {
  const kind = classifyUpstreamError(err);
  if (kind === 'timeout') return new GatewayError('upstream_timeout', undefined, { cause: err });
  if (kind === 'client_aborted') return new GatewayError('invalid_request', 'The request body ended early', { cause: err });
  return new GatewayError('upstream_unavailable', undefined, { cause: err });
}

import { GatewayError } from '../errors.ts';

/**
 * `?apiKey=<key>` (off by default: RFC 6750 §5.3 — URLs are logged by browsers, proxies and
 * servers). Returns the key, or null when the parameter is absent; sent twice is refused.
 */
export function queryKey(query: string, param: string): string | null {
  if (query.length < 2) return null;
  const values = new URLSearchParams(query.slice(1)).getAll(param);
  if (values.length === 0) return null;
  if (values.length > 1) throw new GatewayError('invalid_request', `The ${param} query parameter is repeated`);
  return values[0] as string;
}

/** The query string without `param`, for forwarding under hideCredentials. */
export function withoutParam(query: string, param: string): string {
  const params = new URLSearchParams(query.slice(1));
  params.delete(param);
  const rest = params.toString();
  return rest === '' ? '' : `?${rest}`;
}

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

/**
 * The query string without `param`, for forwarding under hideCredentials. Every other byte is
 * kept as sent (issue 10): re-serializing through URLSearchParams would turn `%7E` into `~`,
 * `%20` into `+` and `a` into `a=`, and an upstream that signs or compares its query would see
 * another one. A field is the credential when its name, decoded the way `queryKey` decodes it
 * (`+` as space, percent escapes), is `param`; so `?api%4Bey=` is removed as surely as `?apiKey=`.
 */
export function withoutParam(query: string, param: string): string {
  if (query.length < 2) return query;
  const kept = query.slice(1).split('&').filter((field) => !isField(field, param));
  return kept.length === 0 ? '' : `?${kept.join('&')}`;
}

function isField(field: string, param: string): boolean {
  if (field === '') return false;
  const eq = field.indexOf('=');
  const name = eq === -1 ? field : field.slice(0, eq);
  // URLSearchParams on the name alone decodes it exactly as the full parse did.
  return new URLSearchParams(`${name}=`).keys().next().value === param;
}

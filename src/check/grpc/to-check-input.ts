import type { CheckInput } from './contract.ts';
import type { CheckRequest, HeaderValue, HttpRequestAttributes } from './messages.ts';

/** Envoy's mark on a buffered body (`with_request_body`): `false` when it is the whole body. */
const PARTIAL_BODY = 'x-envoy-auth-partial-body';

/**
 * Envoy's view of the original request → the decision input the HTTP shapes produce too.
 *
 * `path` is the request target exactly as the client sent it (path and query, undecoded), so it
 * goes through the same normalization as on the proxy. An empty method or path is passed on as
 * absent: the decider refuses it rather than deciding about `/`.
 *
 * `clientAddress` is the gRPC peer (Envoy itself), like the HTTP check listener's socket address
 * (nginx, Traefik): it is the address `check.trustedClients` vouches for.
 */
export function toCheckInput(req: CheckRequest, peerAddress: string): CheckInput {
  const http: HttpRequestAttributes = req.attributes?.request?.http ?? {};
  const headers = requestHeaders(http);
  const partial = headers[PARTIAL_BODY];
  delete headers[PARTIAL_BODY];
  const input: CheckInput = {
    mode: 'envoy-grpc',
    method: nonEmpty(http.method),
    uri: nonEmpty(http.path),
    headers,
    body: requestBody(http, partial),
    clientAddress: peerAddress,
  };
  const host = nonEmpty(http.host);
  if (host !== undefined) input.host = host;
  const scheme = nonEmpty(http.scheme);
  if (scheme !== undefined) input.proto = scheme;
  return input;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

/**
 * `headers` (a map, duplicates already comma-joined by Envoy, names lower-cased) or, with
 * `encode_raw_headers`, `header_map` (a list; a repeated name stays repeated so a second
 * Authorization is seen as ambiguous, as on the proxy). HTTP/2 pseudo-headers are dropped: their
 * content arrives as method, path, host and scheme.
 */
function requestHeaders(http: HttpRequestAttributes): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = Object.create(null) as Record<string, string | string[] | undefined>;
  const list = http.header_map?.headers;
  if (list !== undefined && list.length > 0) {
    for (const h of list) addHeader(out, (h.key ?? '').toLowerCase(), headerValue(h));
    return out;
  }
  for (const [name, value] of Object.entries(http.headers ?? {})) addHeader(out, name.toLowerCase(), value);
  return out;
}

function addHeader(out: Record<string, string | string[] | undefined>, name: string, value: string): void {
  if (name === '' || name.startsWith(':')) return;
  const prev = out[name];
  if (prev === undefined) out[name] = value;
  else out[name] = Array.isArray(prev) ? [...prev, value] : [prev, value];
}

/** Header bytes as the HTTP parser would hand them over (latin1: one char per byte, never lossy). */
function headerValue(h: HeaderValue): string {
  if (h.raw_value !== undefined && h.raw_value.length > 0) return Buffer.from(h.raw_value).toString('latin1');
  return h.value ?? '';
}

/**
 * The body, when Envoy sent all of it (`with_request_body`): `raw_body` with `pack_as_bytes`,
 * else `body`. Envoy marks a buffered body `x-envoy-auth-partial-body: true|false` in the headers,
 * as it does for the HTTP service; without the mark it sent none, and a truncated one is as good
 * as none. Either way the decider gets null, and refuses a body-credential route
 * (`check_body_unavailable`) rather than judge a `userKey` it could not see.
 */
function requestBody(http: HttpRequestAttributes, partial: string | string[] | undefined): Buffer | null {
  if (partial !== 'false') return null;
  if (http.raw_body !== undefined && http.raw_body.length > 0) return Buffer.from(http.raw_body);
  return Buffer.from(http.body ?? '', 'utf8');
}

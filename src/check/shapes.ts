import type { IncomingMessage } from 'node:http';
import type { CheckConfig } from '../config/types.ts';
import type { CheckInput } from './decide.ts';

/**
 * The check request shapes of the HTTP check listener, each as its proxy documents it, turned
 * into the one `CheckInput` the decider takes. A shape's own headers (the ones naming the
 * original request) are removed from the original headers: they describe the request, they
 * are not part of it.
 */

/** nginx `auth_request` (X-Original-URI set in the config) and ingress-nginx `auth-url` (X-Original-URL, absolute). */
const NGINX = ['x-original-method', 'x-original-uri', 'x-original-url'];
/** Traefik ForwardAuth and Caddy `forward_auth`. */
const FORWARD = ['x-forwarded-method', 'x-forwarded-uri', 'x-forwarded-host', 'x-forwarded-proto'];
/** Envoy marks a buffered body `x-envoy-auth-partial-body: true|false` (`with_request_body`). */
const ENVOY_PARTIAL = 'x-envoy-auth-partial-body';

/** The check path of nginx, ingress-nginx, Traefik and Caddy. */
export const CHECK_PATH = '/check';

type Headers = Record<string, string | string[] | undefined>;

/** The shape headers as sets, for the one pass that leaves them out. */
const BOTH_SET: ReadonlySet<string> = new Set([...NGINX, ...FORWARD]);
const ENVOY_SET: ReadonlySet<string> = new Set([ENVOY_PARTIAL]);

/**
 * Every header as sent, lower-case names; a repeated one becomes a list (so the stages see
 * duplicates), a single one stays a string: one object per request, no list per header.
 */
export function headerLists(req: IncomingMessage): Headers {
  const out: Headers = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) add(out, (raw[i] as string).toLowerCase(), raw[i + 1] as string);
  return out;
}

function add(out: Headers, name: string, value: string): void {
  const prev = out[name];
  if (prev === undefined) out[name] = value;
  else if (typeof prev === 'string') out[name] = [prev, value];
  else prev.push(value);
}

/** A header that must be sent exactly once; sent twice, it names no one request. */
function single(h: Headers, name: string): string | undefined {
  const v = h[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * A shape's own headers (they describe the request, they are not part of it) apart from the
 * original request's headers, in one pass over the raw list: no `delete`, which would turn the
 * record into a slow dictionary for every later lookup.
 */
function split(req: IncomingMessage, own: ReadonlySet<string>): { own: Headers; rest: Headers } {
  const mine: Headers = {};
  const rest: Headers = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    add(own.has(name) ? mine : rest, name, raw[i + 1] as string);
  }
  return { own: mine, rest };
}

/** `http://host/path?q` → its host and its origin-form target; anything else → undefined. */
function splitAbsolute(url: string | undefined): { host: string; uri: string } | undefined {
  if (url === undefined) return undefined;
  const m = /^https?:\/\/([^/?#]*)([^#]*)$/i.exec(url);
  if (m === null) return undefined;
  const rest = m[2] as string;
  return { host: m[1] as string, uri: rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest };
}

/**
 * `/check` from nginx. Plain nginx sets X-Original-Method and X-Original-URI in its config and
 * passes the original Host (`proxy_set_header Host $host`); ingress-nginx sets X-Original-URL,
 * absolute, whose authority is the original host (its Host names the auth service).
 */
function nginxShape(own: Headers, h: Headers, clientAddress: string): CheckInput {
  const uri = single(own, 'x-original-uri');
  const absolute = uri === undefined ? splitAbsolute(single(own, 'x-original-url')) : undefined;
  const host = absolute?.host ?? single(h, 'host');
  const input: CheckInput = { mode: 'nginx', method: single(own, 'x-original-method'), uri: uri ?? absolute?.uri, headers: h, clientAddress };
  if (host !== undefined) input.host = host;
  return input;
}

/** `/check` from Traefik or Caddy: X-Forwarded-Method, -Uri, -Host, -Proto. */
function forwardShape(own: Headers, h: Headers, clientAddress: string): CheckInput {
  const host = single(own, 'x-forwarded-host') ?? single(h, 'host');
  const proto = single(own, 'x-forwarded-proto');
  const input: CheckInput = { mode: 'forward', method: single(own, 'x-forwarded-method'), uri: single(own, 'x-forwarded-uri'), headers: h, clientAddress };
  if (host !== undefined) input.host = host;
  if (proto !== undefined) input.proto = proto;
  return input;
}

/**
 * Each proxy passes the client's own headers on to the check, and sets only its own family:
 * a client could send the other family's (an X-Forwarded-Uri through nginx, an X-Original-URI
 * through Traefik) to have another request decided. More than one family is refused.
 */
function familiesOf(h: Headers): string[] {
  const out: string[] = [];
  if (h['x-original-uri'] !== undefined) out.push('X-Original-URI');
  if (h['x-original-url'] !== undefined) out.push('X-Original-URL');
  if (h['x-forwarded-method'] !== undefined || h['x-forwarded-uri'] !== undefined) out.push('X-Forwarded-Method/-Uri');
  return out;
}

/** Which shape a check request is; null: not a check request (404). */
export function shapeOf(req: IncomingMessage, cfg: CheckConfig): 'check' | 'envoy-http' | null {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (path === CHECK_PATH) return 'check';
  return url.startsWith(`${cfg.pathPrefix}/`) ? 'envoy-http' : null;
}

/** `/check`: nginx's shape or Traefik's and Caddy's; one naming neither is refused as nginx's, never decided about /check. */
function checkShape(req: IncomingMessage, clientAddress: string): CheckInput {
  // Both families out of the original's headers: whichever the shape is, the other family's
  // headers are then visible to familiesOf and refused, never passed on as the original's.
  const { own, rest } = split(req, BOTH_SET);
  const families = familiesOf(own);
  if (families.length > 1) {
    return { ...nginxShape(own, rest, clientAddress), method: undefined, problem: `The check request names more than one original request (${families.join(', ')})` };
  }
  return families[0] === 'X-Forwarded-Method/-Uri' ? forwardShape(own, rest, clientAddress) : nginxShape(own, rest, clientAddress);
}

/**
 * Envoy HTTP `ext_authz`: the check request is the original request, its path behind
 * `path_prefix`. The body is the original's only when Envoy buffered it whole
 * (`with_request_body`, `x-envoy-auth-partial-body: false`); a partial body is as good as none.
 */
function envoyShape(req: IncomingMessage, cfg: CheckConfig, body: Buffer | null): CheckInput {
  return {
    mode: 'envoy-http',
    method: req.method,
    uri: (req.url ?? '').slice(cfg.pathPrefix.length),
    headers: split(req, ENVOY_SET).rest,
    body,
    clientAddress: req.socket.remoteAddress ?? '',
  };
}

/**
 * Is the check request's body the whole original body? Only when `check.withRequestBody` says
 * Envoy buffers bodies: it then sets `x-envoy-auth-partial-body` itself; otherwise that header
 * can only be the client's, and the body is not read at all.
 */
export function envoySentWholeBody(req: IncomingMessage, cfg: CheckConfig): boolean {
  return cfg.withRequestBody && req.headers[ENVOY_PARTIAL] === 'false';
}

export function checkInputOf(shape: 'check' | 'envoy-http', req: IncomingMessage, cfg: CheckConfig, body: Buffer | null): CheckInput {
  return shape === 'envoy-http' ? envoyShape(req, cfg, body) : checkShape(req, req.socket.remoteAddress ?? '');
}

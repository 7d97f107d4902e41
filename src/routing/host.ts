import type { DecisionContext } from '../context.ts';
import { GatewayError } from '../errors.ts';
import { hostName } from './match.ts';

/**
 * RFC 9110 §7.2 `uri-host [":" port]`, narrowed to what DNS names and IP literals use: no
 * userinfo, path, comma list or percent-encoding that one parser would read and another skip.
 * Empty is allowed (RFC 9112 §3.2: a target without an authority sends an empty Host).
 */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]*)(?::[0-9]{1,5})?$/;

function badHost(reason: string): GatewayError {
  return new GatewayError('bad_host', reason);
}

/** Host name and port in one comparable form: lower case, no trailing dot, the scheme's default port dropped. */
function canonicalAuthority(authority: string, defaultPort: string): string {
  const name = hostName(authority);
  const colon = authority.lastIndexOf(':');
  const port = colon !== -1 && colon > authority.lastIndexOf(']') ? authority.slice(colon + 1) : '';
  return port === '' || port === defaultPort ? name : `${name}:${port}`;
}

/**
 * The authority of an absolute-form target (RFC 9112 §3.2.2), which a server must prefer to the
 * Host header. Routing uses the Host header and the upstream may use either, so the two must
 * agree. `normalizeTarget` refuses other schemes, userinfo and an empty authority.
 */
function checkAbsoluteForm(url: string, host: string): void {
  const scheme = url.slice(0, 8).toLowerCase();
  const from = scheme.startsWith('http://') ? 7 : scheme === 'https://' ? 8 : -1;
  if (from === -1) return;
  let to = from;
  while (to < url.length && url[to] !== '/' && url[to] !== '?') to++;
  const authority = url.slice(from, to);
  if (!HOST.test(authority)) throw badHost('The request target names an invalid host');
  const defaultPort = from === 7 ? '80' : '443';
  if (canonicalAuthority(authority, defaultPort) !== canonicalAuthority(host, defaultPort)) {
    throw badHost('The request target names another host than the Host header');
  }
}

/**
 * Stage: one Host, well-formed, agreeing with an absolute-form target (RFC 9112 §3.2: "a server
 * MUST respond with a 400 … to any request message that contains more than one Host header
 * field line or a Host header field with an invalid field value"). Node keeps the first Host in
 * `req.headers` and every one in `rawHeaders`: routing on one and forwarding another would let
 * a request authorized for one virtual host reach another (issue 10 item 4).
 */
export function checkHost(ctx: DecisionContext): void {
  const raw = ctx.req.rawHeaders;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length !== 4 || name.toLowerCase() !== 'host') continue;
    if (host !== undefined) throw badHost('The request has more than one Host header');
    host = raw[i + 1] as string;
  }
  if (host !== undefined && !HOST.test(host)) throw badHost('The Host header is not a valid host');
  const url = ctx.req.url ?? '';
  if (url.charCodeAt(0) !== 0x2f /* / */) checkAbsoluteForm(url, host ?? '');
}

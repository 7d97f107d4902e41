import type { HeaderDropReason, RequestContext } from '../context.ts';
import { identityHeaders, isIdentityHeader } from '../identity/headers.ts';
import { connectionNamed, HOP_BY_HOP } from './hop-by-hop.ts';
import { collectProxyHeader, PROXY_HEADERS, pushProxyHeaders, type SeenProxyHeaders } from './client-address.ts';
import { isMethodOverride, METHOD_OVERRIDES, TARGET_OVERRIDES } from './override-headers.ts';
import { must } from '../must.ts';
import { withoutOwnCookies } from './own-cookies.ts';

/** Headers keygate sets itself or that describe this hop's framing: never the client's. */
const OWN = new Set(['host', 'expect', 'x-request-id', 'content-length']);

/** What the header list is for: a plain request (undici) or a WebSocket handshake (http-proxy-3). */
export type HeadersFor = 'http' | 'upgrade';

/**
 * The header list sent upstream, built in one pass over the client's raw headers.
 * Order matters and is fixed: strip (hop-by-hop, Connection-named, `_` names, identity family,
 * request-target and method overrides, proxy headers, the credential, keygate's own cookies,
 * Expect, Host) first, then
 * inject, so nothing the client sends — not even `Connection: X-Authenticated-User` — can
 * remove or spoof what keygate sets. docs/security.md (Headers) states the rules.
 */
export function upstreamHeaders(ctx: RequestContext, kind: HeadersFor = 'http'): string[] {
  const { req, gen } = ctx;
  const cfg = gen.config;
  const upstream = must(ctx.match?.upstream, 'forward() only runs after requireUpstream');
  const raw = req.rawHeaders;
  const named = connectionNamed(raw);
  const allowUnderscores = cfg.server.headers.allowUnderscores;
  const hide = cfg.credentials.hideCredentials;
  const hideHeader = hide && ctx.credential?.source.kind === 'header' ? ctx.credential.source.name : '';
  const hideOrgHeader = hide && ctx.orgKey?.source.kind === 'header' ? ctx.orgKey.source.name : '';
  // A body read for its credential is forwarded as a buffer: its own length replaces the client's framing.
  const buffered = ctx.body !== null;
  let proxy: SeenProxyHeaders = null;
  const out: string[] = [];
  let host = '';
  let hostSeen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (lower.includes('_')) {
      // CGI-style servers (WSGI, Rack, PHP) fold `_` and `-` together: `X_Authenticated_User`
      // and `Content_Length` reach them as the real thing. Dropped by default, as nginx does;
      // allowed, they still may not fold onto a header keygate controls.
      if (!allowUnderscores || controlled(folded(lower), ctx, named)) {
        drop(ctx, 'underscore');
        continue;
      }
      out.push(name, value);
      continue;
    }
    // PHP registers `$_SERVER` names with `.` turned into `_` (php_register_variable), so behind a
    // FastCGI front that passes names through (Caddy's php_fastcgi) `X.Authenticated.User` is
    // read as the identity. Other dotted names pass (nginx would drop them all).
    if (lower.includes('.') && controlled(folded(lower), ctx, named)) {
      drop(ctx, 'underscore');
      continue;
    }
    // Host is the request's, not the connection's: `Connection: Host` must not take it away.
    // The first one, as routing used (req.headers keeps the first).
    if (lower === 'host') {
      if (!hostSeen) host = value;
      hostSeen = true;
      continue;
    }
    if (HOP_BY_HOP.has(lower) || named?.has(lower)) continue;
    if (isIdentityHeader(lower, cfg.identity)) {
      drop(ctx, 'identity');
      continue;
    }
    if (TARGET_OVERRIDES.has(lower) || isMethodOverride(lower)) {
      // An honoured method override is sent again below, in one spelling per name.
      if (ctx.methodOverride === null) drop(ctx, 'override');
      continue;
    }
    if (PROXY_HEADERS.has(lower)) {
      proxy = collectProxyHeader(proxy, lower, value);
      continue;
    }
    // undici refuses `expect`; node has already answered 100 Continue to the client.
    if (lower === 'expect' || lower === 'x-request-id') continue;
    if (lower === hideHeader || lower === hideOrgHeader || (buffered && lower === 'content-length')) continue;
    if (lower === 'cookie') {
      const rest = withoutOwnCookies(value);
      if (rest !== null) out.push(name, rest);
      continue;
    }
    out.push(name, value);
  }
  pushProxyHeaders(out, ctx, host, proxy);
  out.push('x-request-id', ctx.id);
  if (ctx.methodOverride !== null) for (const n of METHOD_OVERRIDES) out.push(n, ctx.methodOverride);
  if (buffered && ctx.body !== null) out.push('content-length', String(ctx.body.length));
  if (upstream.preserveHost && host !== '') out.push('host', host);
  // Only a WebSocket handshake reaches here as an upgrade (server.ts lets no other through).
  if (kind === 'upgrade') out.push('connection', 'Upgrade', 'upgrade', 'websocket');
  if (ctx.principal !== null && ctx.key !== null) out.push(...identityHeaders(cfg.identity, ctx.principal, ctx.key));
  return out;
}

/** A name as CGI and PHP fold it, in the header's own spelling: `_` and `.` read as `-`. */
const folded = (lower: string): string => lower.replace(/[_.]/g, '-');

function drop(ctx: RequestContext, reason: HeaderDropReason): void {
  (ctx.headerDrops ??= { underscore: 0, identity: 0, override: 0 })[reason]++;
}

/** Would a header of this (folded) name be one that keygate strips, sets or reads a credential from? */
function controlled(folded: string, ctx: RequestContext, named: Set<string> | null): boolean {
  const cfg = ctx.gen.config;
  return HOP_BY_HOP.has(folded) || named?.has(folded) || OWN.has(folded) || isIdentityHeader(folded, cfg.identity)
    || TARGET_OVERRIDES.has(folded) || isMethodOverride(folded) || PROXY_HEADERS.has(folded)
    || folded === 'authorization' || folded === cfg.credentials.serviceKey.orgHeader.toLowerCase();
}

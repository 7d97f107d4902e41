import type { RequestContext } from '../context.ts';
import { identityHeaders, isIdentityHeader } from '../identity/headers.ts';
import { connectionNamed, HOP_BY_HOP } from './hop-by-hop.ts';

/**
 * The header list sent upstream, built in one pass over the client's raw headers.
 * Order matters and is fixed: strip (hop-by-hop, Connection-named, identity family, the
 * credential, Expect, Host) first, then inject, so nothing the client sends — not even
 * `Connection: X-Authenticated-User` — can remove or spoof what keygate sets.
 */
export function upstreamHeaders(ctx: RequestContext): string[] {
  const { req, gen } = ctx;
  const cfg = gen.config;
  const upstream = ctx.match!.upstream; // forward() only runs after a route matched
  const raw = req.rawHeaders;
  const named = connectionNamed(raw);
  const hide = cfg.credentials.hideCredentials;
  const hideHeader = hide && ctx.credential?.source.kind === 'header' ? ctx.credential.source.name : '';
  const hideOrgHeader = hide && ctx.orgKey?.source.kind === 'header' ? ctx.orgKey.source.name : '';
  // A body read for its credential is forwarded as a buffer: its own length replaces the client's framing.
  const buffered = ctx.body !== null;
  const out: string[] = [];
  let xff = '';
  let xfProto = '';
  let xfHost = '';
  let host = '';
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || (named !== null && named.has(lower))) continue;
    if (isIdentityHeader(lower, cfg.identity)) continue;
    switch (lower) {
      case 'host': host = value; continue;
      // undici refuses `expect`; node has already answered 100 Continue to the client.
      case 'expect': continue;
      case 'x-request-id': continue;
      case 'x-forwarded-for': xff = xff === '' ? value : `${xff}, ${value}`; continue;
      case 'x-forwarded-proto': xfProto = value; continue;
      case 'x-forwarded-host': xfHost = value; continue;
    }
    if (lower === hideHeader || lower === hideOrgHeader || (buffered && lower === 'content-length')) continue;
    out.push(name, value);
  }
  // X-Forwarded-For is appended to, never trusted or replaced: the upstream decides how many
  // hops it believes. -Proto and -Host describe this hop unless the operator trusts a proxy in front.
  const peer = req.socket?.remoteAddress ?? '';
  out.push('x-forwarded-for', xff === '' ? peer : `${xff}, ${peer}`);
  out.push('x-forwarded-proto', cfg.server.trustForwarded && xfProto !== '' ? xfProto : 'http');
  out.push('x-forwarded-host', cfg.server.trustForwarded && xfHost !== '' ? xfHost : host);
  out.push('x-request-id', ctx.id);
  if (buffered) out.push('content-length', String(ctx.body!.length));
  if (upstream.preserveHost && host !== '') out.push('host', host);
  if (ctx.principal !== null && ctx.key !== null) out.push(...identityHeaders(cfg.identity, ctx.principal, ctx.key));
  return out;
}

import { Agent } from 'node:http';
import type { Socket } from 'node:net';
import { createProxyServer } from 'http-proxy-3';
import type { RequestContext } from '../context.ts';
import { identityHeaders, isIdentityHeader } from '../identity/headers.ts';
import { connectionNamed, HOP_BY_HOP } from './hop-by-hop.ts';
import { upstreamPathOf } from './upstream-path.ts';

/**
 * WebSocket upgrades go through http-proxy-3 (its node:http path): undici's dispatcher does not
 * proxy an upgraded socket both ways. The request has already passed the same chain as any
 * other request; here its headers get the same strip-then-inject treatment before the hand-off.
 */
export function createWebSocketProxy() {
  const agent = new Agent({ keepAlive: true });
  const proxy = createProxyServer({ agent, xfwd: true, ws: true });
  proxy.on('error', (_err, _req, target) => {
    // After the hand-off the only thing left to do with a failed socket is close it.
    if (target !== undefined && 'destroy' in target) (target as Socket).destroy();
  });

  function prepareHeaders(ctx: RequestContext): void {
    const cfg = ctx.gen.config;
    const h = ctx.req.headers;
    const named = connectionNamed(ctx.req.rawHeaders);
    const dropForwarded = !cfg.server.trustForwarded;
    for (const name of Object.keys(h)) {
      // http-proxy-3's xfwd appends to X-Forwarded-*; untrusted client values for proto/host go first.
      const forwarded = dropForwarded && (name === 'x-forwarded-proto' || name === 'x-forwarded-host');
      const connectionOnly = named !== null && named.has(name) && name !== 'upgrade';
      // The upgrade itself needs Upgrade and Connection; every other hop-by-hop header
      // (Proxy-Authorization above all) stops here, as it does on the HTTP path.
      const hop = HOP_BY_HOP.has(name) && name !== 'upgrade' && name !== 'connection';
      if (forwarded || connectionOnly || hop || isIdentityHeader(name, cfg.identity)) delete h[name];
    }
    if (cfg.credentials.hideCredentials) {
      if (ctx.credential?.source.kind === 'header') delete h[ctx.credential.source.name];
      if (ctx.orgKey?.source.kind === 'header') delete h[ctx.orgKey.source.name];
    }
    h['x-request-id'] = ctx.id;
    if (ctx.principal !== null && ctx.key !== null) {
      const ids = identityHeaders(cfg.identity, ctx.principal, ctx.key);
      for (let i = 0; i < ids.length; i += 2) h[(ids[i] as string).toLowerCase()] = ids[i + 1] as string;
    }
  }

  return {
    forward(ctx: RequestContext, socket: Socket, head: Buffer): void {
      prepareHeaders(ctx);
      const upstream = ctx.match!.upstream; // admitted requests always have a route
      ctx.req.url = upstreamPathOf(ctx);
      proxy.ws(ctx.req, socket, head, { target: upstream.url.origin, changeOrigin: !upstream.preserveHost });
    },
    close(): void {
      proxy.close();
      agent.destroy();
    },
  };
}

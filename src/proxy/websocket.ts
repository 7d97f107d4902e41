import { Agent, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { createProxyServer } from 'http-proxy-3';
import type { RequestContext } from '../context.ts';
import { upstreamHeaders } from './request-headers.ts';
import { upstreamPathOf } from './upstream-path.ts';

/**
 * WebSocket upgrades go through http-proxy-3 (its node:http path): undici's dispatcher does not
 * proxy an upgraded socket both ways. The request has already passed the same chain as any
 * other request; its headers are built by the same function as a plain request's
 * (request-headers.ts), so both paths strip and inject alike. http-proxy-3 copies
 * `req.headers`, so the built list replaces them; its own X-Forwarded-* (xfwd) stay off.
 */
export function createWebSocketProxy() {
  const agent = new Agent({ keepAlive: true });
  const proxy = createProxyServer({ agent, xfwd: false, ws: true });
  proxy.on('error', (_err, _req, target) => {
    // After the hand-off the only thing left to do with a failed socket is close it.
    if (target !== undefined && 'destroy' in target) (target as Socket).destroy();
  });

  return {
    forward(ctx: RequestContext, socket: Socket, head: Buffer): void {
      ctx.req.headers = headerObject(upstreamHeaders(ctx, 'upgrade'));
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

/** A flat name/value list as node's outgoing header object; a repeated name keeps every value. */
function headerObject(list: string[]): IncomingHttpHeaders {
  const h: Record<string, string | string[]> = {};
  for (let i = 0; i < list.length; i += 2) {
    const name = (list[i] as string).toLowerCase();
    const value = list[i + 1] as string;
    const prev = h[name];
    h[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return h as IncomingHttpHeaders;
}

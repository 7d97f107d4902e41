import { Agent, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { createProxyServer } from 'http-proxy-3';
import type { RequestContext } from '../context.ts';
import { upstreamHeaders } from './request-headers.ts';
import { upstreamPathOf } from './upstream-path.ts';
import { classifyUpstreamError, upstreamError } from './upstream-errors.ts';
import { sendErrorOnSocket } from '../respond.ts';

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
  // The status of each handshake in flight, reported once: 101, the upstream's refusal, or ours.
  const pending = new WeakMap<IncomingMessage, (status: number) => void>();
  proxy.on('proxyReqWs', (proxyReq: ClientRequest, req: IncomingMessage) => {
    const report = pending.get(req);
    if (report === undefined) return;
    proxyReq.once('upgrade', () => report(101));
    proxyReq.once('response', (res: IncomingMessage) => report(res.statusCode ?? 502));
  });

  return {
    /** Hands the socket over; `finished` gets the status the client saw, once (499: it left first). */
    forward(ctx: RequestContext, socket: Socket, head: Buffer, finished: (status: number) => void): void {
      let reported = false;
      const report = (status: number) => {
        if (reported) return;
        reported = true;
        pending.delete(ctx.req);
        finished(status);
      };
      pending.set(ctx.req, report);
      socket.once('close', () => report(499));
      ctx.req.headers = headerObject(upstreamHeaders(ctx, 'upgrade'));
      const upstream = ctx.match!.upstream; // admitted requests always have a route
      ctx.req.url = upstreamPathOf(ctx);
      const options = { target: upstream.url.origin, changeOrigin: !upstream.preserveHost, connectTimeout: upstream.connectTimeoutMs };
      proxy.ws(ctx.req, socket, head, options, (err: Error) => {
        // Before the upstream answered, the client gets the same 502/504 as a plain request
        // rather than a silent hang-up; after the hand-off all that is left is to close.
        if (reported) return void socket.destroy();
        const e = upstreamError(err);
        ctx.upstreamError = classifyUpstreamError(err);
        ctx.errorCode = e.code;
        sendErrorOnSocket(socket, e, ctx.id);
        report(e.status);
      });
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

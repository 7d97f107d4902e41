import { Agent, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { createProxyServer } from 'http-proxy-3';
import type { RequestContext } from '../context.ts';
import { identityHeaders, isIdentityHeader } from '../identity/headers.ts';
import { connectionNamed, HOP_BY_HOP } from './hop-by-hop.ts';
import { upstreamPathOf } from './upstream-path.ts';
import { closeFrame, FrameGate } from './websocket-frames.ts';

/** An open WebSocket session, for ending it when its credential stops being valid. */
export interface WebSocketSession {
  /**
   * Ends the session on both sides with a Close frame (RFC 6455 §7.4: 1008 policy violation,
   * 1013 try again later), each sent after the frame in flight; the sockets are destroyed
   * if the peers have not closed within a second. Until the Close is sent, the client's
   * frames are still forwarded; after it, none are.
   */
  end(code: number, reason: string): void;
}

export interface WebSocketProxyOptions {
  /** A session was opened; returns the function to call when it closes. */
  opened?: (ctx: RequestContext, session: WebSocketSession) => () => void;
}

/** Peers get this long to answer keygate's Close before their sockets are destroyed. */
const CLOSE_GRACE_MS = 1000;

/**
 * WebSocket upgrades go through http-proxy-3 (its node:http path): undici's dispatcher does not
 * proxy an upgraded socket both ways. The request has already passed the same chain as any
 * other request; here its headers get the same strip-then-inject treatment before the hand-off.
 */
export function createWebSocketProxy(options: WebSocketProxyOptions = {}) {
  const agent = new Agent({ keepAlive: true });
  const proxy = createProxyServer({ agent, xfwd: true, ws: true });
  proxy.on('error', (_err, _req, target) => {
    // After the hand-off the only thing left to do with a failed socket is close it.
    if (target !== undefined && 'destroy' in target) (target as Socket).destroy();
  });
  /** Upgrades on their way: the upstream socket (known at its 101) → the client's side. */
  const opening = new Map<Socket, { ctx: RequestContext; client: Socket }>();
  const contexts = new WeakMap<IncomingMessage, RequestContext>();
  proxy.on('proxyReqWs', (proxyReq: ClientRequest, req: IncomingMessage, client: Socket) => {
    const ctx = contexts.get(req);
    if (ctx === undefined) return;
    // Runs before http-proxy-3's own `upgrade` listener, which pipes the two sockets and then emits `open`.
    proxyReq.once('upgrade', (_res: IncomingMessage, upstream: Socket) => {
      opening.set(upstream, { ctx, client });
      upstream.once('close', () => opening.delete(upstream));
    });
  });
  proxy.on('open', (upstream: Socket) => {
    const o = opening.get(upstream);
    if (o === undefined) return;
    opening.delete(upstream);
    gate(o.ctx, o.client, upstream);
  });

  /**
   * Re-pipes the two sockets through frame gates (http-proxy-3 piped them directly a moment
   * ago, synchronously, so no byte has flowed yet) and registers the session.
   */
  function gate(ctx: RequestContext, client: Socket, upstream: Socket): void {
    upstream.unpipe(client);
    client.unpipe(upstream);
    const down = new FrameGate();
    const up = new FrameGate();
    upstream.pipe(down).pipe(client);
    client.pipe(up).pipe(upstream);
    let ended = false;
    const closed = options.opened?.(ctx, {
      end(code, reason) {
        if (ended) return;
        ended = true;
        // The client's side first: the upstream may be in the middle of a message, which must
        // reach the client whole before the Close; only then is the upstream told, in the
        // client's place (a client's frames are masked).
        down.cut(closeFrame(code, reason, false), () => up.cut(closeFrame(code, reason, true)));
        const timer = setTimeout(() => { client.destroy(); upstream.destroy(); }, CLOSE_GRACE_MS);
        timer.unref();
        client.once('close', () => clearTimeout(timer));
      },
    });
    if (closed !== undefined) client.once('close', closed);
  }

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
      contexts.set(ctx.req, ctx);
      proxy.ws(ctx.req, socket, head, { target: upstream.url.origin, changeOrigin: !upstream.preserveHost });
    },
    close(): void {
      proxy.close();
      agent.destroy();
    },
  };
}

import { Agent, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { ProxyServer } from 'http-proxy-3';
import type { RequestContext } from '../context.ts';
import { upstreamHeaders } from './request-headers.ts';
import { upstreamPathOf } from './upstream-path.ts';
import { classifyUpstreamError, upstreamError } from './upstream-errors.ts';
import { sendErrorOnSocket } from '../respond.ts';
import { closeFrame, FrameGate } from './websocket-frames.ts';
import { must } from '../must.ts';
import { setsOwnCookie } from './own-cookies.ts';

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
 * other request; its headers are built by the same function as a plain request's
 * (request-headers.ts), so both paths strip and inject alike. http-proxy-3 copies
 * `req.headers`, so the built list replaces them; its own X-Forwarded-* (xfwd) stay off.
 */
function withoutOwnSetCookies(res: IncomingMessage): void {
  const sc = res.headers['set-cookie'];
  if (sc === undefined) return;
  const kept = sc.filter((v) => !setsOwnCookie(v));
  if (kept.length === 0) delete res.headers['set-cookie'];
  else res.headers['set-cookie'] = kept;
}

export function createWebSocketProxy(options: WebSocketProxyOptions = {}) {
  // The status of each handshake in flight, reported once: 101, the upstream's refusal, or ours.
  const pending = new WeakMap<IncomingMessage, (status: number) => void>();
  /** Upgrades on their way: the upstream socket (known at its 101) → the client's side. */
  const opening = new Map<Socket, { ctx: RequestContext; client: Socket }>();
  const contexts = new WeakMap<IncomingMessage, RequestContext>();
  let agent: Agent | null = null;
  let proxy: ProxyServer | null = null;

  /**
   * http-proxy-3 (and follow-redirects under it) loaded and its proxy built at the first
   * upgrade, not at start: most gateways never see a WebSocket, and the modules are RSS held for
   * nothing (issue 12). Synchronous (`require`, it is CommonJS), as the hand-off is.
   */
  function proxyServer(): ProxyServer {
    if (proxy !== null) return proxy;
    const { createProxyServer } = createRequire(import.meta.url)('http-proxy-3') as typeof import('http-proxy-3');
    agent = new Agent({ keepAlive: true });
    const p = (proxy = createProxyServer({ agent, xfwd: false, ws: true }));
    p.on('proxyReqWs', (proxyReq: ClientRequest, req: IncomingMessage) => {
      // Registered before http-proxy-3's own listeners, which write `res.headers` to the client:
      // the 101, or a refusal, must not set keygate's own cookies (own-cookies.ts).
      proxyReq.once('upgrade', withoutOwnSetCookies);
      proxyReq.once('response', withoutOwnSetCookies);
      const report = pending.get(req);
      if (report === undefined) return;
      proxyReq.once('upgrade', () => report(101));
      proxyReq.once('response', (res: IncomingMessage) => report(res.statusCode ?? 502));
    });
    p.on('proxyReqWs', (proxyReq: ClientRequest, req: IncomingMessage, client: Socket) => {
      const ctx = contexts.get(req);
      if (ctx === undefined) return;
      // Runs before http-proxy-3's own `upgrade` listener, which pipes the two sockets and then emits `open`.
      proxyReq.once('upgrade', (_res: IncomingMessage, upstream: Socket) => {
        opening.set(upstream, { ctx, client });
        upstream.once('close', () => opening.delete(upstream));
      });
    });
    p.on('open', (upstream: Socket) => {
      const o = opening.get(upstream);
      if (o === undefined) return;
      opening.delete(upstream);
      gate(o.ctx, o.client, upstream);
    });
    return p;
  }

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
      const upstream = must(ctx.match?.upstream, 'admitted requests passed requireUpstream');
      ctx.req.url = upstreamPathOf(ctx);
      contexts.set(ctx.req, ctx);
      const options = { target: upstream.url.origin, changeOrigin: !upstream.preserveHost, connectTimeout: upstream.connectTimeoutMs };
      proxyServer().ws(ctx.req, socket, head, options, (err: Error) => {
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
      proxy?.close();
      agent?.destroy();
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

import type { Dispatcher } from 'undici';
import type { RequestContext } from '../context.ts';
import type { UpstreamPool } from './pools.ts';
import { retryReason } from './retry.ts';
import { upstreamHeaders } from './request-headers.ts';
import { clientHeaders } from './response-headers.ts';
import { classifyUpstreamError, upstreamError } from './upstream-errors.ts';
import type { GatewayError } from '../errors.ts';
import { upstreamPathOf } from './upstream-path.ts';

/** A body is sent only when the request says it has one (RFC 9112 §6.3). */
function hasBody(ctx: RequestContext): boolean {
  const h = ctx.req.headers;
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0');
}

/**
 * Streams the request to its upstream with undici's dispatch API and the response back, both
 * ways with backpressure and no buffering. Resolves when the exchange is over (either side).
 * Errors before response headers reject with a GatewayError for the error responder; after
 * them the client response is destroyed, since a status can no longer be sent. A request lost
 * to a stale keep-alive connection is sent once more on a new connection when that is safe
 * (retry.ts). Interim 1xx responses never get here: the connection drops them (interim-filter.ts).
 */
export function forward(ctx: RequestContext, upstream: UpstreamPool): Promise<void> {
  const { res, req } = ctx;
  const target = ctx.match?.upstream;
  // The gateway forwards only matched HTTP requests; upgrades go through proxy/websocket.ts.
  if (res === undefined || target === undefined || target === null) return Promise.reject(new Error('forward() needs a matched HTTP request with an upstream'));
  return new Promise<void>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | null = null;
    let clientGone = false;
    let settled = false;
    const done = (err?: GatewayError) => {
      if (settled) return;
      settled = true;
      res.off('close', onClientClose);
      if (waitingForDrain) res.off('drain', onDrain);
      if (err === undefined) resolve();
      else reject(err);
    };
    // A client that goes away aborts the upstream exchange at once, so no pool connection
    // stays tied to a dead client.
    const onClientClose = () => {
      if (res.writableFinished) return;
      clientGone = true;
      controller?.abort(new Error('client closed the connection'));
      done();
    };
    // 'drain' is listened for only while the client is behind: most responses never need it,
    // and a listener added and removed per request is measurable at these rates.
    let waitingForDrain = false;
    const onDrain = () => {
      waitingForDrain = false;
      controller?.resume();
    };
    res.on('close', onClientClose);

    const options: Dispatcher.DispatchOptions = {
      path: upstreamPathOf(ctx),
      method: req.method ?? 'GET',
      headers: upstreamHeaders(ctx),
      body: ctx.body ?? (hasBody(ctx) ? req : null),
      headersTimeout: target.timeoutMs,
      bodyTimeout: target.bodyTimeoutMs,
    };
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (clientGone) c.abort(new Error('client closed the connection'));
      },
      onResponseStart(c, statusCode, _headers, statusMessage) {
        // Not reached for 1xx (filtered on the connection); kept so none could become the client's status line.
        if (statusCode < 200) return;
        res.writeHead(statusCode, statusMessage, clientHeaders(c.rawHeaders as (Buffer | string)[], ctx.id));
      },
      onResponseData(c, chunk) {
        if (!res.write(chunk) && !waitingForDrain) {
          waitingForDrain = true;
          c.pause();
          res.once('drain', onDrain);
        }
      },
      onResponseEnd() {
        res.end();
        done();
      },
      onResponseError(_c, err) {
        if (!clientGone && !res.headersSent && ctx.upstreamRetry === null) {
          const reason = retryReason(ctx, err);
          if (reason !== null) {
            ctx.upstreamRetry = reason;
            controller = null;
            upstream.fresh.dispatch(options, handler);
            return;
          }
        }
        ctx.upstreamError = clientGone ? 'client_aborted' : classifyUpstreamError(err);
        if (clientGone) return done();
        if (res.headersSent) {
          // Too late for a status: cut the client off so it sees a truncated response, not a complete one.
          res.destroy(err);
          return done();
        }
        done(upstreamError(err));
      },
    };
    upstream.pool.dispatch(options, handler);
  });
}

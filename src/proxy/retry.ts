import type { RequestContext } from '../context.ts';
import { connectionFacts } from './upstream-socket.ts';

/**
 * Which failed upstream exchanges are sent again, once, on a new connection.
 *
 * An upstream closes an idle keep-alive connection on its own timer; a request written at that
 * moment is lost with it (the HTTP/1.1 keep-alive race). RFC 9112 §9.3.1 lets a client retry
 * such a request when its method is idempotent and forbids a proxy from retrying others; nginx
 * (`proxy_next_upstream error`) and Node's own guidance (`request.reusedSocket`) do the same.
 * keygate retries when every one of these holds:
 *
 * 1. the method is GET, HEAD, OPTIONS, PUT or DELETE (idempotent, RFC 9110 §9.2.2);
 * 2. the body can be sent again: there is none (no Transfer-Encoding, Content-Length absent or
 *    0), or keygate already holds all of it (a body read for its credential). A streamed body
 *    was consumed by the first attempt and is never replayed;
 * 3. the connection had carried an earlier request (a reused pooled connection: a new one
 *    failing is the upstream failing, and retrying could repeat a request that crashed it);
 * 4. not one byte of a response had arrived on it for this request (not even an interim 1xx);
 * 5. the failure is the connection closing or being reset (not a timeout, not a parse error);
 * 6. nothing has been sent to the client yet, and it is still there.
 *
 * From the outside "the upstream never saw the request" cannot be proven (an upstream could read
 * a request and die without a word); 1 is what makes a retry safe even then.
 */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** `keygate_upstream_retries_total` reason label: how the reused connection failed. */
export type RetryReason = 'connection_closed' | 'connection_reset';

function replayableBody(ctx: RequestContext): boolean {
  if (ctx.body !== null) return true;
  const h = ctx.req.headers;
  return h['transfer-encoding'] === undefined && (h['content-length'] === undefined || h['content-length'] === '0');
}

function failureReason(err: unknown): RetryReason | null {
  switch ((err as { code?: string } | null)?.code) {
    case 'UND_ERR_SOCKET': return 'connection_closed'; // FIN: undici's "other side closed"
    case 'ECONNRESET':
    case 'EPIPE': return 'connection_reset';
    default: return null;
  }
}

/** The reason to retry this failed exchange, or null when it must not be retried. */
export function retryReason(ctx: RequestContext, err: unknown): RetryReason | null {
  if (!IDEMPOTENT.has(ctx.req.method ?? '') || !replayableBody(ctx)) return null;
  const facts = connectionFacts(err);
  if (facts === undefined || !facts.reused || facts.responseBytes > 0) return null;
  return failureReason(err);
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DecisionContext, RequestContext } from './context.ts';
import type { Generation } from './generation.ts';
import type { KeyResolver } from './keystore/resolve.ts';
import type { KeyRecord } from './keystore/types.ts';
import { GatewayError, toGatewayError } from './errors.ts';
import { sendError } from './respond.ts';
import { runStages, timedAuth, type Stage } from './stages.ts';
import { normalizePath, matchRoute, requireUpstream } from './routing/stages.ts';
import { checkHost } from './routing/host.ts';
import { extractCredential } from './credentials/extract.ts';
import { authenticate } from './keystore/authenticate.ts';
import { authorizeRoute } from './authz/check-route.ts';
import { forward } from './proxy/forward.ts';
import { createRefusedCredentials, guardRefusedCredentials, type RefusedCredentials } from './limits/refused-credentials.ts';
import { enforceLimits, type LimitRefusal } from './limits/stage.ts';
import type { Limiter } from './limits/limiter.ts';
import { requestIdOf } from './log/request-id.ts';
import { must } from './must.ts';

export interface GatewayDeps {
  /** The config generation new requests start on. */
  current: () => Generation;
  resolver: KeyResolver;
  /** Called for every request authenticated by a key (last-used bookkeeping; must be cheap). */
  onAuthenticated?: (key: KeyRecord, now: number) => void;
  /** Called once per request when it is over (access log, metrics, audit): off the forwarding path. */
  onFinished: (ctx: RequestContext, status: number) => void;
  /** An unexpected fault (a bug or a broken dependency). */
  onFault: (ctx: RequestContext, err: GatewayError) => void;
  /** Rate limits and quotas (src/limits/); absent: none are enforced. */
  limiter?: Limiter;
  /** A request refused by a limit or quota (metrics, the sampled `limit.exceeded` event). */
  onLimited?: (ctx: DecisionContext, refusal: LimitRefusal) => void;
  /** A credential refused before lookup by limiter.refusedCredentials, by style. */
  onCredentialsLimited?: (style: string) => void;
  /** The built-in token exchange endpoint (tokens.path), when tokens are enabled. */
  tokenExchange?: (ctx: RequestContext, res: ServerResponse, refused: RefusedCredentials) => Promise<void>;
}

export interface Gateway {
  handle(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): Promise<void>;
  /** Every check of the chain without forwarding (WebSocket upgrades); throws to refuse. */
  admit(ctx: RequestContext): void | Promise<void>;
  newContext(req: IncomingMessage, res: ServerResponse | undefined, expectContinue: boolean): RequestContext;
}

/** Guard that Node's own limits do not give: it drops headers past maxHeadersCount silently. */
function checkHeaderCount(ctx: DecisionContext): void {
  if (ctx.req.rawHeaders.length / 2 > ctx.gen.config.server.maxHeaders) throw new GatewayError('headers_too_large');
}

/** Answer 100 Continue only for an authorized request, so a refused upload is never sent. */
function continueUpload(ctx: DecisionContext): void {
  if (ctx.expectContinue) ctx.res?.writeContinue();
}

/** Was the body of this request possibly left unread when we answered? */
function bodyUnread(req: IncomingMessage): boolean {
  return !req.complete && (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0');
}

/** The status the client got; 499 when it went away before the response was complete (nginx's convention). */
function finalStatus(res: ServerResponse | undefined): number {
  if (res === undefined) return 101;
  return res.writableFinished || res.headersSent ? res.statusCode : 499;
}

/** The request target made safe to match: the same on the proxy and the check listener. */
export const frontStages: readonly Stage[] = [checkHeaderCount, checkHost, normalizePath];

/**
 * The decision: which route, whose credential, allowed or not. The proxy goes on to forward;
 * the check listener (src/check/decide.ts) answers with the identity instead.
 */
export function decisionStages(
  deps: Pick<GatewayDeps, 'resolver' | 'onAuthenticated' | 'current' | 'limiter' | 'onLimited' | 'onCredentialsLimited'>, afterMatch: readonly Stage[] = [],
  refused: RefusedCredentials = createRefusedCredentials(() => deps.current().config.limiter, { limited: deps.onCredentialsLimited }),
): Stage[] {
  return [
    matchRoute,
    ...afterMatch,
    timedAuth([
      // A client address refused too often is refused before the key store is asked.
      guardRefusedCredentials(deps.resolver, () => deps.current().config.limiter, {
        extract: extractCredential,
        lookup: authenticate(deps.resolver, deps.onAuthenticated),
      }, { limited: deps.onCredentialsLimited }, refused),
      authorizeRoute,
    ]),
    // Rate limits and quotas count authorized requests only.
    ...(deps.limiter === undefined ? [] : [enforceLimits(deps.limiter, deps.onLimited)]),
  ];
}

export function createGateway(deps: GatewayDeps): Gateway {
  // The request path, in order. Reading these lists tells the whole story of a request.
  const front = frontStages;
  // One budget of refused credentials per address, for the chain and the token exchange alike.
  const refused = createRefusedCredentials(() => deps.current().config.limiter, { limited: deps.onCredentialsLimited });
  const chain: Stage[] = [...decisionStages(deps, [requireUpstream], refused), continueUpload];

  function newContext(req: IncomingMessage, res: ServerResponse | undefined, expectContinue: boolean): RequestContext {
    const gen = deps.current();
    return {
      id: requestIdOf(req, gen.config), start: process.hrtime.bigint(), gen, req, res, expectContinue,
      path: '', query: '', match: null, credential: null, malformedStyle: null, orgKey: null, org: null, body: null, principal: null, key: null, errorCode: null,
      authNs: null, upstreamStart: null, forwarded: false, upstreamError: null,
      upstreamRetry: null,
      methodOverride: null, headerDrops: null,
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): Promise<void> {
    const ctx = newContext(req, res, expectContinue);
    try {
      runStages(front, ctx); // synchronous stages
      const tokens = ctx.gen.config.tokens;
      if (tokens.enabled && deps.tokenExchange !== undefined && ctx.path === tokens.path) {
        if (ctx.expectContinue) res.writeContinue();
        await deps.tokenExchange(ctx, res, refused);
        deps.onFinished(ctx, finalStatus(res));
        return;
      }
      const admitted = runStages(chain, ctx);
      if (admitted !== undefined) await admitted;
      ctx.forwarded = true;
      ctx.upstreamStart = process.hrtime.bigint();
      const upstream = must(ctx.match?.upstream, 'stages admitted the request, so a route with an upstream matched');
      await forward(ctx, must(ctx.gen.pools.get(upstream.name), 'pools cover every upstream of the generation'));
    } catch (e) {
      const err = toGatewayError(e);
      ctx.errorCode = err.code;
      sendError(res, err, ctx.id, bodyUnread(req));
      if (err.code === 'internal_error') deps.onFault(ctx, err);
    }
    deps.onFinished(ctx, finalStatus(res));
  }

  return {
    handle,
    admit: (ctx) => {
      runStages(front, ctx);
      return runStages(chain, ctx);
    },
    newContext,
  };
}

import type { DecisionContext } from '../context.ts';
import { GatewayError } from '../errors.ts';
import { normalizeTarget } from './normalize.ts';
import { requestedOverride } from '../proxy/override-headers.ts';

/** Stage: normalize the request target once; the result is both matched and forwarded. */
export function normalizePath(ctx: DecisionContext): void {
  const url = ctx.req.url ?? '';
  const t = normalizeTarget(url, { semicolons: ctx.gen.config.server.pathSemicolons });
  ctx.path = t.path;
  ctx.query = t.query;
}

/**
 * Stage (proxy only): a decision-only route, written without an `upstream`, is served by the
 * check listener alone; the proxy refuses it before looking at any credential.
 */
export function requireUpstream(ctx: DecisionContext): void {
  if (ctx.match?.upstream === null) throw new GatewayError('route_without_upstream');
}

/**
 * Stage: first route in file order that matches method, host and path; none is a 404.
 * A POST asking for another method (X-HTTP-Method-Override …) is matched as that method, and
 * so authorized as it, when the route it reaches opts in (`methodOverride`); anywhere else the
 * override is removed before forwarding, so the upstream executes the method that was checked.
 */
export function matchRoute(ctx: DecisionContext): void {
  const host = ctx.req.headers.host ?? '';
  const override = requestedOverride(ctx.req);
  if (override !== null) {
    const m = ctx.gen.router.match(override, host, ctx.path);
    if (m?.route.methodOverride) {
      ctx.match = m;
      ctx.methodOverride = override;
      return;
    }
  }
  ctx.match = ctx.gen.router.match(ctx.req.method ?? 'GET', host, ctx.path);
  if (ctx.match === null) throw new GatewayError('route_not_found');
}

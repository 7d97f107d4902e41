import type { RequestContext } from '../context.ts';
import { GatewayError } from '../errors.ts';
import { normalizeTarget } from './normalize.ts';

/** Stage: normalize the request target once; the result is both matched and forwarded. */
export function normalizePath(ctx: RequestContext): void {
  const url = ctx.req.url ?? '';
  const t = normalizeTarget(url, { semicolons: ctx.gen.config.server.pathSemicolons });
  ctx.path = t.path;
  ctx.query = t.query;
}

/** Stage: first route in file order that matches method, host and path; none is a 404. */
export function matchRoute(ctx: RequestContext): void {
  const host = ctx.req.headers.host ?? '';
  ctx.match = ctx.gen.router.match(ctx.req.method ?? 'GET', host, ctx.path);
  if (ctx.match === null) throw new GatewayError('route_not_found');
}

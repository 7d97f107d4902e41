import type { RequestContext } from '../context.ts';
import { must } from '../must.ts';

/** Upstream path: the upstream's base path, the normalized path (minus a route's stripPrefix), the raw query. */
export function upstreamPathOf(ctx: RequestContext): string {
  const { route } = must(ctx.match, 'only called after a route matched');
  const upstream = must(ctx.match?.upstream, 'only called after requireUpstream');
  let path = ctx.path;
  if (route.stripPrefix !== '' && path.startsWith(route.stripPrefix)) {
    path = path.slice(route.stripPrefix.length);
    if (path === '' || path[0] !== '/') path = `/${path}`;
  }
  const base = upstream.url.pathname;
  if (base !== '/' && base !== '') path = base.endsWith('/') ? base + path.slice(1) : base + path;
  return path + ctx.query;
}

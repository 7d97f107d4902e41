import type { CredentialStyleName, RouteConfig, UpstreamConfig } from './types.ts';
import { compileRoutes } from '../routing/match.ts';
import { bool, defined, duration, num, obj, str, strings, type Obj, type Report } from './raw.ts';
import { routePathParams, routePathProblem } from './route-path.ts';

export function buildUpstreams(raw: Obj, report: Report): Map<string, UpstreamConfig> {
  const out = new Map<string, UpstreamConfig>();
  for (const [name, v] of Object.entries(raw)) {
    const at = `/upstreams/${name}`;
    const u = obj(v);
    const url = upstreamUrl(str(u['url']), `${at}/url`, report);
    out.set(name, {
      name,
      url: url ?? new URL('http://invalid.invalid/'),
      timeoutMs: duration(u['timeout'], `${at}/timeout`, report),
      connectTimeoutMs: duration(u['connectTimeout'], `${at}/connectTimeout`, report),
      bodyTimeoutMs: duration(u['bodyTimeout'], `${at}/bodyTimeout`, report),
      connections: num(u['connections']),
      preserveHost: bool(u['preserveHost']),
      keepAliveTimeoutMs: keepAliveTimeout(u['keepAliveTimeout'], `${at}/keepAliveTimeout`, report),
    });
  }
  return out;
}

/** undici refuses a zero idle timeout; "no keep-alive" is not what a 0 here would mean anyway. */
function keepAliveTimeout(v: unknown, at: string, report: Report): number {
  const ms = duration(v, at, report);
  if (ms === 0 && v !== undefined) report(at, 'must be more than 0');
  return ms;
}

function upstreamUrl(text: string, at: string, report: Report): URL | null {
  // Messages end up in logs: never echo a password written into the URL.
  const shown = text.replace(/\/\/[^/@]*@/, '//***@');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    report(at, `"${shown}" is not a URL`);
    return null;
  }
  const wrong = url.protocol !== 'http:' && url.protocol !== 'https:' ? `scheme "${url.protocol}" (http: or https: only)`
    : url.hostname === '' ? 'no host'
    : url.search !== '' || text.includes('?') ? 'a query string'
    : url.hash !== '' || text.includes('#') ? 'a fragment'
    : url.username !== '' || url.password !== '' ? 'credentials (they would be sent to the upstream on every request)'
    : null;
  if (wrong === null) return url;
  report(at, `"${shown}" has ${wrong}: an upstream URL is http(s)://host[:port][/base-path]`);
  return null;
}

export interface RouteContext {
  upstreams: Map<string, UpstreamConfig>;
  /** Credential styles enabled globally (a route may only narrow them). */
  enabled: Set<CredentialStyleName>;
  caseSensitive: boolean;
  /** A `check` section is present, so routes may omit `upstream`. */
  checkEnabled: boolean;
  report: Report;
  lineOf(path: string): number;
}

export function buildRoutes(raw: unknown[], ctx: RouteContext): RouteConfig[] {
  const seen = new Map<string, number>();
  return raw.map((v, i) => {
    const at = `/routes/${i}`;
    const r = obj(v);
    const name = str(r['name']);
    const first = seen.get(name);
    if (first !== undefined) ctx.report(`${at}/name`, `route name "${name}" is already used at /routes/${first} (line ${ctx.lineOf(`/routes/${first}`)})`);
    else seen.set(name, i);

    // Decision-only deployments (keygate behind nginx, Envoy, …) have nothing to forward to.
    const upstream = r['upstream'] === undefined ? null : str(r['upstream']);
    if (upstream === null && !ctx.checkEnabled) ctx.report(`${at}/upstream`, 'missing required field "upstream" (without one, a route is decision-only: that needs a `check` section)');
    if (upstream !== null && !ctx.upstreams.has(upstream)) ctx.report(`${at}/upstream`, `upstream "${upstream}" is not defined (defined: ${defined(ctx.upstreams.keys())})`);

    const isPublic = bool(r['public']);
    const actions = strings(r['action']);
    if (isPublic && actions.length > 0) ctx.report(`${at}/action`, 'a public route takes no action (it forwards without authentication)');
    if (!isPublic && actions.length === 0) ctx.report(at, 'a protected route needs an action (or public: true)');

    const credentials = r['credentials'] === undefined ? null : strings(r['credentials']) as CredentialStyleName[];
    credentials?.forEach((style, j) => {
      if (!ctx.enabled.has(style)) ctx.report(`${at}/credentials/${j}`, `credential style "${style}" is not enabled under credentials (or tokens)`);
    });

    const path = str(r['path']);
    const pathProblem = routePathProblem(path);
    if (pathProblem !== null) ctx.report(`${at}/path`, pathProblem);

    const res = r['resource'] === undefined ? null : obj(r['resource']);
    const resource = res === null ? null : { type: str(res['type']), param: str(res['param']) };
    if (resource !== null && pathProblem === null && !routePathParams(path).includes(resource.param)) {
      ctx.report(`${at}/resource/param`, `the path has no :${resource.param} parameter`);
    }

    const route: RouteConfig = {
      name, path, methods: strings(r['methods']), hosts: strings(r['host']).map((h) => h.toLowerCase()),
      upstream, actions, public: isPublic, methodOverride: bool(r['methodOverride']), stripPrefix: str(r['stripPrefix']),
      credentials, accepts: new Set((credentials ?? [...ctx.enabled].filter((s) => s !== 'body')).filter((s) => ctx.enabled.has(s))),
      resource, line: ctx.lineOf(at),
    };
    if (r['limit'] !== undefined) route.limit = str(r['limit']);
    if (pathProblem === null) matcherProblem(route, ctx, `${at}/path`);
    return route;
  });
}

/**
 * The router's own compile step: it also refuses literal segments that path normalization would
 * change, which could never match. Run with a stand-in upstream so an undefined upstream does
 * not hide a path problem.
 */
function matcherProblem(route: RouteConfig, ctx: RouteContext, at: string): void {
  const stand: UpstreamConfig = { name: route.upstream ?? 'stand', url: new URL('http://stand.invalid/'), timeoutMs: 0, connectTimeoutMs: 0, bodyTimeoutMs: 0, connections: 1, preserveHost: false, keepAliveTimeoutMs: 0 };
  try {
    compileRoutes([route], new Map([[route.upstream ?? 'stand', stand]]), { caseSensitive: ctx.caseSensitive });
  } catch (e) {
    // The router prefixes `route "name" (line N): `; the problem already says where.
    ctx.report(at, (e as Error).message.replace(/^route ".*?" \(line \d+\): /, ''));
  }
}

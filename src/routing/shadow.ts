import type { RouteConfig } from '../config/types.ts';

/** A route no request can reach: every request it would match meets `by` first. */
export interface ShadowedRoute {
  route: RouteConfig;
  by: RouteConfig;
  message: string;
}

type Seg = { literal: string } | { param: true };

interface Shape {
  methods: ReadonlySet<string> | null;
  /** Exact names; `*.x` kept as written. Empty: any host. */
  hosts: readonly string[];
  segments: Seg[];
  rest: boolean;
}

function shape(r: RouteConfig, caseSensitive: boolean): Shape {
  const parts = r.path.slice(1).split('/');
  const rest = parts[parts.length - 1] === '*';
  if (rest) parts.pop();
  return {
    methods: r.methods.length === 0 ? null : new Set(r.methods),
    hosts: r.hosts.map((h) => h.toLowerCase()),
    segments: parts.map((p) => (p.startsWith(':') ? { param: true } : { literal: caseSensitive ? p : p.toLowerCase() })),
    rest,
  };
}

/** Host pattern `a` matches every name pattern `b` matches (`*.x` covers `y.x` and `*.y.x`). */
function hostCovers(a: string, b: string): boolean {
  if (a === b) return true;
  if (!a.startsWith('*.')) return false;
  const suffix = a.slice(1);
  return b.length > suffix.length && b.endsWith(suffix);
}

/** A segment pattern covers another: a `:param` takes any non-empty segment; a literal only itself. */
function segCovers(a: Seg, b: Seg): boolean {
  if ('param' in a) return 'param' in b || b.literal !== '';
  return 'literal' in b && a.literal === b.literal;
}

/** Every request `b` matches, `a` matches too (same rules as routing/match.ts). */
function covers(a: Shape, b: Shape): boolean {
  if (a.methods !== null && (b.methods === null || [...b.methods].some((m) => !a.methods?.has(m)))) return false;
  if (a.hosts.length > 0 && (b.hosts.length === 0 || !b.hosts.every((h) => a.hosts.some((x) => hostCovers(x, h))))) return false;
  const k = a.segments.length;
  if (a.rest) {
    if (b.segments.length < k) return false;
  } else if (b.rest || b.segments.length !== k) {
    return false;
  }
  for (let i = 0; i < k; i++) if (!segCovers(a.segments[i] as Seg, b.segments[i] as Seg)) return false; // i < k <= b's length
  return true;
}

/**
 * Routes that an earlier route shadows: first match wins (routing/match.ts), so a route listed
 * after one that covers all its methods, hosts and paths never matches — usually a more
 * specific rule written below a catch-all, whose stricter action then silently never applies.
 * A warning, not an error: the config is valid, just not what was meant.
 */
export function shadowedRoutes(routes: readonly RouteConfig[], opts: { caseSensitive: boolean }): ShadowedRoute[] {
  const shapes = routes.map((r) => shape(r, opts.caseSensitive));
  const out: ShadowedRoute[] = [];
  routes.forEach((route, j) => {
    for (let i = 0; i < j; i++) {
      if (!covers(shapes[i] as Shape, shapes[j] as Shape)) continue; // i < j < length
      const by = routes[i] as RouteConfig;
      out.push({ route, by, message: `route "${route.name}" can never match: route "${by.name}" (line ${by.line}) comes first and matches every request it would; move it above "${by.name}" or narrow "${by.name}"` });
      return;
    }
  });
  return out;
}

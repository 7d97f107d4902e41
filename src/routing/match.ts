import type { RouteConfig, UpstreamConfig } from '../config/types.ts';
import { normalizeTarget } from './normalize.ts';
import type { RouteMatch, Router } from './types.ts';

/** Options of {@link compileRoutes}. */
export interface CompileOptions {
  /**
   * Compare literal path segments case-sensitively. Off, `/API/x` still meets the `/api/*`
   * route (and its authorization rule) instead of falling through to a later one.
   * @default false (set by `server.caseSensitivePaths`)
   */
  caseSensitive: boolean;
}

/** A literal segment (already canonical, lower-cased when matching ignores case) or a `:param`. */
type Segment = { literal: string } | { param: string };

interface CompiledRoute {
  route: RouteConfig;
  upstream: UpstreamConfig | null;
  /** null: any method. */
  methods: ReadonlySet<string> | null;
  /** False: any host. */
  hostBound: boolean;
  hosts: ReadonlySet<string>;
  /** `*.example.com` entries as `.example.com`. */
  suffixes: readonly string[];
  segments: readonly Segment[];
  /** Pattern ends in `*`: zero or more further segments. */
  rest: boolean;
  hasParams: boolean;
}

/**
 * Compiles routes once per config generation; `match` then only compares precomputed strings.
 * Routes are tried in file order and the first whose method, host and path all match wins.
 * `match` expects a path from `normalizeTarget` (starts with "/", no empty or dot segments
 * except a trailing "").
 */
export function compileRoutes(
  routes: RouteConfig[],
  upstreams: Map<string, UpstreamConfig>,
  opts: CompileOptions,
): Router {
  const caseSensitive = opts.caseSensitive;
  const compiled = routes.map((r) => compileRoute(r, upstreams, caseSensitive));
  const anyHosts = compiled.some((c) => c.hostBound);

  return {
    match: function matchRoute(method: string, host: string, path: string): RouteMatch | null {
      const requestHost = anyHosts ? hostName(host) : '';
      const escaped = path.includes('%');
      const text = escaped ? comparable(path) : path;
      const segs = (caseSensitive ? text : text.toLowerCase()).split('/');
      // Params keep the normalized path's spelling (case and escapes): the forwarded form.
      let original: string[] | null = caseSensitive && !escaped ? segs : null;
      for (const c of compiled) {
        if (c.methods !== null && !c.methods.has(method)) continue;
        if (c.hostBound && !hostMatches(c, requestHost)) continue;
        if (!pathMatches(c, segs)) continue;
        const params: Record<string, string> = Object.create(null);
        if (c.hasParams) {
          // Params keep the request's case; lower-casing never adds or removes a "/", so
          // indexes line up.
          original ??= path.split('/');
          for (let i = 0; i < c.segments.length; i++) {
            const s = c.segments[i] as Segment; // i < length
            if ('param' in s) params[s.param] = original[i + 1] ?? '';
          }
        }
        return { route: c.route, upstream: c.upstream, params };
      }
      return null;
    },
  };
}

/**
 * A normalized path decoded, for comparison only: `%3A` and `:`, `%C3%80` and `À` are one
 * character to every upstream that decodes its path, so a route literal `things:batch` must not
 * be dodged by `things%3Abatch`, nor `/àdmin` by a differently cased escape. Safe because
 * `normalizeTarget` lets through no escaped `/`, `\` or control character and only valid UTF-8.
 */
function comparable(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path; // not from normalizeTarget: compare as given
  }
}

/** `segs` is the path split on "/", so `segs[0]` is the "" before the leading slash. */
function pathMatches(c: CompiledRoute, segs: string[]): boolean {
  const n = segs.length - 1;
  const k = c.segments.length;
  if (c.rest ? n < k : n !== k) return false;
  for (let i = 0; i < k; i++) {
    const s = c.segments[i] as Segment; // i < k
    const seg = segs[i + 1] as string; // i < k <= n
    if ('literal' in s ? seg !== s.literal : seg === '') return false;
  }
  return true;
}

function hostMatches(c: CompiledRoute, host: string): boolean {
  if (c.hosts.has(host)) return true;
  for (const suffix of c.suffixes) {
    if (host.length > suffix.length && host.endsWith(suffix)) return true;
  }
  return false;
}

/**
 * Host header → bare lower-case name: port stripped, brackets of an IPv6 literal kept, one
 * trailing dot dropped (`example.com.` is the same name and must not dodge a host rule).
 */
export function hostName(header: string): string {
  let end = header.length;
  if (header.charCodeAt(0) === 0x5b /* [ */) {
    const close = header.indexOf(']');
    end = close === -1 ? end : close + 1;
  } else {
    const colon = header.lastIndexOf(':');
    if (colon !== -1) end = colon;
  }
  if (end > 0 && header.charCodeAt(end - 1) === 0x2e) end--;
  return header.slice(0, end).toLowerCase();
}

function compileRoute(r: RouteConfig, upstreams: Map<string, UpstreamConfig>, caseSensitive: boolean): CompiledRoute {
  const fail = (why: string): Error => new Error(`route "${r.name}" (line ${r.line}): ${why}`);
  const upstream = r.upstream === null ? null : upstreams.get(r.upstream);
  if (upstream === undefined) throw fail(`unknown upstream "${r.upstream}"`);
  if (!r.path.startsWith('/')) throw fail('path must start with "/"');

  const parts = r.path.slice(1).split('/');
  const rest = parts[parts.length - 1] === '*';
  if (rest) parts.pop();
  const segments: Segment[] = [];
  const names = new Set<string>();
  parts.forEach((p, i) => {
    if (p.includes('*')) throw fail('"*" is only allowed as the whole last segment');
    if (p.startsWith(':')) {
      const name = p.slice(1);
      if (name === '') throw fail('empty parameter name');
      if (names.has(name)) throw fail(`duplicate parameter ":${name}"`);
      names.add(name);
      segments.push({ param: name });
      return;
    }
    // A trailing "" (pattern ending in "/") is a real segment; elsewhere "" never matches a
    // normalized path.
    if (p === '' && (i !== parts.length - 1 || rest)) throw fail('empty segment');
    const literal = comparable(canonicalSegment(p, fail));
    segments.push({ literal: caseSensitive ? literal : literal.toLowerCase() });
  });

  const hosts = new Set<string>();
  const suffixes: string[] = [];
  for (const h of r.hosts) {
    const lower = h.toLowerCase();
    if (lower.startsWith('*.')) suffixes.push(lower.slice(1));
    else hosts.add(lower);
  }

  return {
    route: r,
    upstream,
    methods: r.methods.length === 0 ? null : new Set(r.methods),
    hostBound: r.hosts.length > 0,
    hosts,
    suffixes,
    segments,
    rest,
    hasParams: names.size > 0,
  };
}

/**
 * A pattern's literal segment in the form `normalizeTarget` gives request paths (UTF-8
 * percent-encoded, unreserved decoded, hex upper-cased), so `/caf%c3%a9` and `/café` in the
 * config both match what clients send. A segment that normalization would move or refuse
 * could never match, so it is a config error.
 */
function canonicalSegment(p: string, fail: (why: string) => Error): string {
  if (p === '') return '';
  let ascii: string;
  try {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is all of ASCII (everything else is percent-encoded)
    ascii = p.replace(/[^\x00-\x7f]+/gu, (m) => encodeURIComponent(m));
  } catch {
    throw fail('invalid Unicode in path');
  }
  let path: string;
  try {
    path = normalizeTarget(`/${ascii}`, { semicolons: 'allow' }).path;
  } catch {
    throw fail(`segment "${p}" can never match a normalized path`);
  }
  const seg = path.slice(1);
  if (seg === '' || seg.includes('/') || ascii.includes('?')) {
    throw fail(`segment "${p}" can never match a normalized path`);
  }
  return seg;
}

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compileRoutes } from '../../../src/routing/match.ts';
import { shadowedRoutes } from '../../../src/routing/shadow.ts';
import type { RouteConfig } from '../../../src/config/types.ts';

let line = 0;
function route(name: string, path: string, o: { methods?: string[]; hosts?: string[] } = {}): RouteConfig {
  return {
    name, path, methods: o.methods ?? [], hosts: o.hosts ?? [], upstream: 'app', actions: ['a:b'], public: false,
    stripPrefix: '', credentials: null, accepts: new Set(), resource: null, methodOverride: false, line: ++line,
  };
}

const shadowed = (routes: RouteConfig[], caseSensitive = false) => shadowedRoutes(routes, { caseSensitive }).map((s) => `${s.route.name}<${s.by.name}`);

describe('shadowedRoutes', () => {
  it.each<[string, RouteConfig[], string[]]>([
    ['a catch-all before a specific route', [route('all', '/api/*'), route('one', '/api/items/:id')], ['one<all']],
    ['the specific route first is fine', [route('one', '/api/items/:id'), route('all', '/api/*')], []],
    ['a param covers a literal', [route('p', '/a/:id'), route('l', '/a/b')], ['l<p']],
    ['a literal does not cover a param', [route('l', '/a/b'), route('p', '/a/:id')], []],
    ['`*` covers the bare prefix too', [route('all', '/a/*'), route('bare', '/a')], ['bare<all']],
    ['an exact path does not cover a wildcard', [route('exact', '/a/b'), route('all', '/a/b/*')], []],
    ['different lengths do not shadow', [route('two', '/a/:x'), route('three', '/a/:x/:y')], []],
    ['a param does not cover the trailing "/" segment', [route('p', '/a/:x'), route('slash', '/a/')], []],
    ['any method covers GET', [route('any', '/x'), route('get', '/x', { methods: ['GET'] })], ['get<any']],
    ['GET does not cover GET+POST', [route('get', '/x', { methods: ['GET'] }), route('both', '/x', { methods: ['GET', 'POST'] })], []],
    ['GET+HEAD covers GET', [route('gh', '/x', { methods: ['GET', 'HEAD'] }), route('get', '/x', { methods: ['GET'] })], ['get<gh']],
    ['disjoint methods do not shadow', [route('read', '/x', { methods: ['GET'] }), route('write', '/x', { methods: ['POST'] })], []],
    ['a host-bound route does not cover any host', [route('h', '/x', { hosts: ['a.example'] }), route('any', '/x')], []],
    ['any host covers a host-bound route', [route('any', '/x'), route('h', '/x', { hosts: ['a.example'] })], ['h<any']],
    ['a wildcard host covers its subdomains', [route('w', '/x', { hosts: ['*.example.com'] }), route('h', '/x', { hosts: ['api.example.com'] })], ['h<w']],
    ['a wildcard host does not cover the apex', [route('w', '/x', { hosts: ['*.example.com'] }), route('h', '/x', { hosts: ['example.com'] })], []],
    ['reported once, against the first route that covers it', [route('a', '/*'), route('b', '/x/*'), route('c', '/x/y')], ['b<a', 'c<a']],
  ])('%s', (_name, routes, want) => {
    expect(shadowed(routes)).toEqual(want);
  });

  it('compares literals as the router does: case-insensitively unless caseSensitivePaths', () => {
    const routes = [route('lower', '/api/*'), route('upper', '/API/x')];
    expect(shadowed(routes, false)).toEqual(['upper<lower']);
    expect(shadowed(routes, true)).toEqual([]);
  });

  it('says which route, where, and what to do', () => {
    const [s] = shadowedRoutes([route('all', '/api/*'), route('one', '/api/x')], { caseSensitive: false });
    expect(s?.message).toMatch(/route "one" can never match: route "all" \(line \d+\) comes first/);
  });
});

describe('shadowedRoutes agrees with the router', () => {
  // Small alphabets so random routes overlap often; the property: a route reported as shadowed
  // is never the one the real router (routing/match.ts) picks, for any request.
  const seg = fc.constantFrom('a', 'b', ':p', ':q');
  const pathArb = fc.tuple(fc.array(seg, { minLength: 0, maxLength: 3 }), fc.boolean(), fc.boolean())
    .map(([segs, star, slash]) => {
      const names = new Set<string>();
      const parts = segs.map((s) => {
        if (!s.startsWith(':')) return s;
        if (names.has(s)) return 'a';
        names.add(s);
        return s;
      });
      if (star) return `/${[...parts, '*'].join('/')}`;
      return `/${parts.join('/')}${slash && parts.length > 0 ? '/' : ''}`;
    });
  const routeArb = fc.record({
    path: pathArb,
    methods: fc.subarray(['GET', 'POST']),
    hosts: fc.constantFrom<string[][]>([], ['x.example'], ['*.example']),
  });
  const requestArb = fc.record({
    method: fc.constantFrom('GET', 'POST'),
    host: fc.constantFrom('x.example', 'y.example', 'example', 'other'),
    path: fc.array(fc.constantFrom('a', 'b', 'c', ''), { minLength: 0, maxLength: 4 }).map((s) => `/${s.join('/')}`),
  });

  it('a shadowed route is never matched', () => {
    const upstream = { name: 'app', url: new URL('http://app.internal:3000'), timeoutMs: 1, connectTimeoutMs: 1, bodyTimeoutMs: 1, connections: 1, preserveHost: false, keepAliveTimeoutMs: 1 };
    fc.assert(fc.property(fc.array(routeArb, { minLength: 2, maxLength: 5 }), fc.array(requestArb, { minLength: 20, maxLength: 40 }), (specs, requests) => {
      const routes = specs.map((s, i) => route(`r${i}`, s.path, { methods: s.methods, hosts: s.hosts }));
      const dead = new Set(shadowedRoutes(routes, { caseSensitive: false }).map((s) => s.route.name));
      const router = compileRoutes(routes, new Map([['app', upstream]]), { caseSensitive: false });
      for (const r of requests) {
        // Empty inner segments never reach the router: normalizeTarget collapses them.
        if (/\/\/./.test(r.path)) continue;
        const hit = router.match(r.method, r.host, r.path);
        if (hit !== null) expect(dead.has(hit.route.name), `${r.method} ${r.host}${r.path} → ${hit.route.name} (${hit.route.path})`).toBe(false);
      }
    }), { numRuns: 400 });
  });
});

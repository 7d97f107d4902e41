import { describe, expect, it } from 'vitest';
import { compileRoutes, hostName } from '../../../src/routing/match.ts';
import type { RouteConfig, UpstreamConfig } from '../../../src/config/types.ts';

function upstream(name: string): UpstreamConfig {
  return {
    name,
    url: new URL(`http://${name}.internal:3000`),
    timeoutMs: 30_000,
    connectTimeoutMs: 5_000,
    bodyTimeoutMs: 30_000,
    connections: 128,
    preserveHost: false,
    keepAliveTimeoutMs: 4_000,
  };
}

const upstreams = new Map([['app', upstream('app')], ['web', upstream('web')]]);

let line = 0;
function route(name: string, path: string, over: Partial<RouteConfig> = {}): RouteConfig {
  return { name, path, methods: [], hosts: [], upstream: 'app', actions: ['x'], public: false, methodOverride: false, stripPrefix: '', credentials: null, accepts: new Set(['bearer']), resource: null, line: ++line, ...over };
}

const table: RouteConfig[] = [
  route('health', '/health', { public: true, actions: [] }),
  route('root', '/', { methods: ['GET'] }),
  route('trailing', '/docs/'),
  route('app-read', '/api/applications/:appId/*', { methods: ['GET', 'HEAD'] }),
  route('app-write', '/api/applications/:appId/*', { methods: ['POST'] }),
  route('member', '/api/orgs/:org/members/:user'),
  route('tenant', '/t/*', { hosts: ['api.example.com', '*.tenants.example.com'] }),
  route('admin', '/admin/*'),
  route('encoded', '/caf%c3%a9/%7euser'),
  route('unicode', '/café'),
  route('catchall', '/*', { upstream: 'web', public: true, actions: [] }),
];

describe('compileRoutes: first match in file order', () => {
  const router = compileRoutes(table, upstreams, { caseSensitive: false });
  // [method, host, normalized path, route name, params]
  const cases: [string, string, string, string, Record<string, string>][] = [
    ['GET', 'h', '/health', 'health', {}],
    ['POST', 'h', '/health', 'health', {}],
    ['GET', 'h', '/health/', 'catchall', {}],
    ['GET', 'h', '/healthz', 'catchall', {}],
    ['GET', 'h', '/health/x', 'catchall', {}],
    ['GET', 'h', '/HEALTH', 'health', {}],
    ['GET', 'h', '/', 'root', {}],
    ['POST', 'h', '/', 'catchall', {}],
    ['GET', 'h', '/docs/', 'trailing', {}],
    ['GET', 'h', '/docs', 'catchall', {}],
    ['GET', 'h', '/docs/x', 'catchall', {}],
    // `*` takes zero or more segments
    ['GET', 'h', '/api/applications/7', 'app-read', { appId: '7' }],
    ['GET', 'h', '/api/applications/7/', 'app-read', { appId: '7' }],
    ['GET', 'h', '/api/applications/7/a/b', 'app-read', { appId: '7' }],
    ['HEAD', 'h', '/api/applications/7/a', 'app-read', { appId: '7' }],
    ['POST', 'h', '/api/applications/7/a', 'app-write', { appId: '7' }],
    ['DELETE', 'h', '/api/applications/7/a', 'catchall', {}],
    ['get', 'h', '/api/applications/7/a', 'catchall', {}],
    // `:param` needs one non-empty segment
    ['GET', 'h', '/api/applications/', 'catchall', {}],
    ['GET', 'h', '/api/applications', 'catchall', {}],
    // case-insensitive literals; params keep the request's case
    ['GET', 'h', '/API/Applications/AbC/X', 'app-read', { appId: 'AbC' }],
    ['GET', 'h', '/api/orgs/Acme/members/Bob', 'member', { org: 'Acme', user: 'Bob' }],
    ['GET', 'h', '/api/orgs/Acme/members/Bob/', 'catchall', {}],
    ['GET', 'h', '/api/orgs/Acme/members', 'catchall', {}],
    ['GET', 'h', '/admin', 'admin', {}],
    ['GET', 'h', '/admin/', 'admin', {}],
    ['GET', 'h', '/Admin/x/y', 'admin', {}],
    ['GET', 'h', '/adminx', 'catchall', {}],
    ['GET', 'h', '/x/admin', 'catchall', {}],
    // hosts: port stripped, lower-cased, `*.suffix` needs at least one label
    ['GET', 'api.example.com', '/t/1', 'tenant', {}],
    ['GET', 'API.Example.COM:8443', '/t/1', 'tenant', {}],
    ['GET', 'api.example.com.', '/t/1', 'tenant', {}],
    ['GET', 'a.tenants.example.com', '/t', 'tenant', {}],
    ['GET', 'a.b.tenants.example.com:80', '/t/', 'tenant', {}],
    ['GET', 'tenants.example.com', '/t/1', 'catchall', {}],
    ['GET', '.tenants.example.com', '/t/1', 'catchall', {}],
    ['GET', 'evil-tenants.example.com', '/t/1', 'catchall', {}],
    ['GET', 'api.example.com.evil', '/t/1', 'catchall', {}],
    ['GET', '', '/t/1', 'catchall', {}],
    // config literals are canonicalized like request paths
    ['GET', 'h', '/caf%C3%A9/~user', 'encoded', {}],
    ['GET', 'h', '/CAF%c3%a9/~USER', 'encoded', {}],
    ['GET', 'h', '/caf%C3%A9', 'unicode', {}],
    ['GET', 'h', '/anything/else', 'catchall', {}],
  ];
  it.each(cases)('%s %s %s → %s', (method, host, path, name, params) => {
    const m = router.match(method, host, path);
    expect(m?.route.name).toBe(name);
    expect(m?.upstream?.name).toBe(name === 'catchall' ? 'web' : 'app');
    expect({ ...m?.params }).toEqual(params);
  });

  it('returns null when nothing matches', () => {
    const r = compileRoutes([route('a', '/a')], upstreams, { caseSensitive: false });
    expect(r.match('GET', 'h', '/b')).toBeNull();
    expect(r.match('GET', 'h', '/a/')).toBeNull();
  });

  it('returns params on a null-prototype object', () => {
    const r = compileRoutes([route('p', '/x/:__proto__/:constructor')], upstreams, { caseSensitive: false });
    const m = r.match('GET', 'h', '/x/polluted/c');
    // biome-ignore lint/suspicious/noProto: the test is that a parameter named __proto__ is an own property
    expect(m?.params['__proto__']).toBe('polluted');
    expect(m?.params['constructor']).toBe('c');
    expect(Object.getPrototypeOf(m?.params)).toBeNull();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('compileRoutes: an escape matches its decoded spelling (issue 10)', () => {
  // Every upstream that decodes its path reads `%3A` as `:`, so a route on the literal must
  // not be dodged by the escape (nor the other way round).
  for (const caseSensitive of [false, true]) {
    const router = compileRoutes(
      [
        route('verb', '/v1/things:batch'),
        route('amp', '/a%26b/*'),
        route('param', '/p/:id'),
        route('accented', '/àdmin/*'),
        route('catchall', '/*', { public: true, actions: [] }),
      ],
      upstreams,
      { caseSensitive },
    );
    it.each([
      ['/v1/things:batch', 'verb', {}],
      ['/v1/things%3Abatch', 'verb', {}],
      ['/a&b/x', 'amp', {}],
      ['/a%26b/x', 'amp', {}],
      ['/p/a%3Ab', 'param', { id: 'a%3Ab' }],
      ['/v1/things%3Bbatch', 'catchall', {}],
      ['/%C3%A0dmin/x', 'accented', {}],
      ['/%C3%80dmin/x', caseSensitive ? 'catchall' : 'accented', {}],
    ])(`caseSensitive ${caseSensitive}: %s → %s`, (path, name, params) => {
      const m = router.match('GET', 'h', path);
      expect(m?.route.name).toBe(name);
      expect(m?.params).toEqual(params);
    });
  }
});

describe('compileRoutes: case-sensitive', () => {
  const router = compileRoutes(table, upstreams, { caseSensitive: true });
  it.each([
    ['/api/applications/7/x', 'app-read'],
    ['/API/applications/7/x', 'catchall'],
    ['/Admin/x', 'catchall'],
    ['/admin/X', 'admin'],
    ['/caf%C3%A9/~user', 'encoded'],
  ])('%s → %s', (path, name) => {
    expect(router.match('GET', 'h', path)?.route.name).toBe(name);
  });
});

describe('compileRoutes: invalid patterns are config errors', () => {
  it.each([
    ['no-slash', 'api/*', /must start with/],
    ['mid-star', '/a/*/b', /"\*"/],
    ['partial-star', '/a*', /"\*"/],
    ['empty-param', '/a/:', /empty parameter/],
    ['dup-param', '/:a/:a', /duplicate parameter/],
    ['empty-seg', '/a//b', /empty segment/],
    ['slash-star', '/a//*', /empty segment/],
    ['dot', '/a/./b', /can never match/],
    ['dotdot', '/a/../b', /can never match/],
    ['enc-slash', '/a%2fb', /can never match/],
    ['bad-escape', '/a%zz', /can never match/],
    ['query', '/a?b', /can never match/],
  ])('%s (%s)', (name, path, message) => {
    expect(() => compileRoutes([route(name, path)], upstreams, { caseSensitive: false })).toThrow(message);
  });

  it('rejects an unknown upstream', () => {
    expect(() => compileRoutes([route('u', '/u', { upstream: 'nope' })], upstreams, { caseSensitive: false })).toThrow(
      /unknown upstream "nope"/,
    );
  });
});

describe('hostName', () => {
  it.each([
    ['example.com', 'example.com'],
    ['Example.COM:8080', 'example.com'],
    ['example.com.', 'example.com'],
    ['example.com.:80', 'example.com'],
    ['[::1]:8080', '[::1]'],
    ['[::1]', '[::1]'],
    ['', ''],
  ])('%j → %j', (header, name) => {
    expect(hostName(header)).toBe(name);
  });
});

/**
 * Every default documented in src/config/types.ts applies when its field or whole section is
 * missing: a file with only `upstreams` and `routes` loads into a complete GatewayConfig.
 */
import { describe, expect, it } from 'vitest';
import { good, MINIMAL } from './support.ts';

describe('defaults', () => {
  const c = good(MINIMAL.join('\n'));

  it('fills every section a minimal file leaves out', () => {
    expect(c.server).toEqual({
      port: 8080, host: '0.0.0.0', headersTimeoutMs: 10_000, requestTimeoutMs: 300_000, keepAliveTimeoutMs: 5_000,
      maxHeaderBytes: 16_384, maxHeaders: 100, drainTimeoutMs: 30_000, workers: 1, caseSensitivePaths: false,
      pathSemicolons: 'reject', trustedProxies: [], trusted: null, headers: { allowUnderscores: false, credentialPatterns: [] },
    });
    expect(c.admin).toEqual({ port: 9090, host: '127.0.0.1', token: '' });
    expect(c.store).toEqual({
      redis: '', sentinel: null, cluster: null, username: '', password: '', tls: false, prefix: 'kg', onError: 'serve-stale', staleTtlMs: 30_000,
      cache: { max: 100_000, negativeMax: 10_000, ttlMs: 60_000, negativeTtlMs: 2_000 },
    });
    expect(c.keys).toEqual({ prefix: 'kg_', maxPerPrincipal: 10, pepper: '', maxLifetimeMs: null, defaultLifetimeMs: null, requireExpiry: false, expiryCheckIntervalMs: 60_000 });
    expect(c.webhooks).toEqual([]);
    expect(c.tokens).toEqual({ enabled: false, path: '/auth/token', ttlMs: 3_600_000, maxTtlMs: 43_200_000, signingKeys: [] });
    expect(c.credentials).toEqual({
      bearer: true, hideCredentials: true,
      apiKey: { enabled: false, scheme: 'APIKEY' },
      serviceKey: { enabled: false, orgHeader: 'API-Key', requireOrgKey: false },
      body: { enabled: false, field: 'userKey', orgField: 'orgToken', maxBytes: 1_048_576, maxDepth: 64, maxBufferedBytes: 268_435_456 },
      query: { enabled: false, param: 'apiKey' },
      requireUserKey: false,
    });
    expect(c.log).toEqual({ level: 'info' });
    expect(c.roles.size).toBe(0);
    expect(c.orgs.size).toBe(0);
    expect(c.principals).toEqual([]);
  });

  it('derives the identity header family from the default header', () => {
    expect(c.identity).toEqual({
      header: 'X-Authenticated-User', prefix: 'x-authenticated-', strip: [],
      names: { user: 'X-Authenticated-User', id: 'X-Authenticated-Id', kind: 'X-Authenticated-Kind', keyId: 'X-Authenticated-Key-Id', roles: 'X-Authenticated-Roles', org: 'X-Authenticated-Org' },
    });
  });

  it('derives it from a custom header in the user\'s casing, and lower-cases strip entries', () => {
    const custom = good([...MINIMAL, 'identity: { header: X-Remote-Principal-Name, strip: [X-Forwarded-User] }'].join('\n'));
    expect(custom.identity.prefix).toBe('x-remote-principal-');
    expect(custom.identity.names).toEqual({
      user: 'X-Remote-Principal-Name', id: 'X-Remote-Principal-Id', kind: 'X-Remote-Principal-Kind',
      keyId: 'X-Remote-Principal-Key-Id', roles: 'X-Remote-Principal-Roles', org: 'X-Remote-Principal-Org',
    });
    expect(custom.identity.strip).toEqual(['x-forwarded-user']);
  });

  it('fills upstream and route defaults, and remembers each route\'s line', () => {
    const app = c.upstreams.get('app');
    expect(app?.url.href).toBe('http://127.0.0.1:3000/');
    expect(app).toMatchObject({ name: 'app', timeoutMs: 30_000, connectTimeoutMs: 5_000, bodyTimeoutMs: 30_000, connections: 128, preserveHost: false, keepAliveTimeoutMs: 4_000 });
    expect(c.routes).toEqual([{
      name: 'api', path: '/api/*', methods: [], hosts: [], upstream: 'app', actions: ['application:view'],
      public: false, methodOverride: false, stripPrefix: '', credentials: null, accepts: new Set(['bearer']), resource: null, line: 4,
    }]);
  });

  it('turns one-or-many fields into lists and durations into milliseconds', () => {
    const c2 = good([
      'server: { headersTimeout: 500ms, requestTimeout: 5m, drainTimeout: 1h }',
      'upstreams:',
      '  app: { url: "https://svc.internal/base", timeout: 2s, connectTimeout: 0s }',
      'routes:',
      '  - { name: a, path: "/a/:id", upstream: app, action: [a:view, a:edit], host: [API.Example.com, "*.t.example.com"], methods: [GET] }',
      '  - { name: b, path: /b, upstream: app, action: b:view, host: B.example.com }',
    ].join('\n'));
    expect(c2.server).toMatchObject({ headersTimeoutMs: 500, requestTimeoutMs: 300_000, drainTimeoutMs: 3_600_000 });
    expect(c2.upstreams.get('app')).toMatchObject({ timeoutMs: 2_000, connectTimeoutMs: 0 });
    expect(c2.routes[0]).toMatchObject({ actions: ['a:view', 'a:edit'], hosts: ['api.example.com', '*.t.example.com'], methods: ['GET'] });
    expect(c2.routes[1]).toMatchObject({ actions: ['b:view'], hosts: ['b.example.com'] });
  });

  it('reads declared principals and keys, with dates', () => {
    const hash = `sha256:${'ab'.repeat(32)}`;
    const c3 = good([...MINIMAL,
      'roles: { viewer: { actions: [application:view] } }',
      'principals:',
      '  - name: ci-bot',
      '    kind: service',
      '    roles: [viewer]',
      `    keys: [{ id: ci-1, hash: "${hash}", name: CI, expiresAt: 2027-01-31 }]`,
    ].join('\n'));
    expect(c3.principals).toEqual([{
      name: 'ci-bot', kind: 'service', roles: ['viewer'], disabled: false,
      keys: [{ id: 'ci-1', hash, name: 'CI', expiresAt: new Date('2027-01-31T00:00:00Z') }],
    }]);
  });
});

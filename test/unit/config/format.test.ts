import { describe, expect, it } from 'vitest';
import { formatProblems, summarizeConfig } from '../../../src/config/format.ts';
import { good, MINIMAL } from './support.ts';

const HASH = `sha256:${'c0'.repeat(32)}`;

describe('formatProblems', () => {
  it('writes one file:line:column: /path: reason line per problem, without a path when there is none', () => {
    expect(formatProblems([
      { file: '/etc/kg.yaml', line: 3, column: 7, path: '/routes/0/upstream', message: 'upstream "x" is not defined (defined: app)' },
      { file: '/etc/kg.yaml', line: 0, column: 0, path: '', message: 'cannot read the config file: no such file' },
    ])).toBe('/etc/kg.yaml:3:7: /routes/0/upstream: upstream "x" is not defined (defined: app)\n/etc/kg.yaml:0:0: cannot read the config file: no such file');
  });
});

describe('summarizeConfig', () => {
  const config = good([
    'server: { port: 8443 }',
    'store: { redis: "redis://:s3cret-pass@redis.internal:6379/0" }',
    'admin: { token: admin-t0ken-value }',
    'roles: { viewer: { actions: [application:view] } }',
    'upstreams:',
    '  app: { url: "http://127.0.0.1:3000/base" }',
    'routes:',
    '  - { name: health, path: /health, upstream: app, public: true }',
    '  - { name: read, path: "/api/:id/*", methods: [GET, HEAD], host: api.example.com, upstream: app, action: application:view }',
    'principals:',
    `  - { name: bot, kind: service, roles: [viewer], keys: [{ id: bot-1, hash: "${HASH}" }, { id: bot-2, hash: "sha256:${'d1'.repeat(32)}" }] }`,
  ].join('\n'));
  const text = summarizeConfig(config);

  it('says where it listens, which store and which upstreams', () => {
    expect(text).toMatch(/^listen +0\.0\.0\.0:8443 +admin 127\.0\.0\.1:9090$/m);
    expect(text).toMatch(/^store +redis \(redis\.internal:6379\)$/m);
    expect(text).toMatch(/^upstreams +app=http:\/\/127\.0\.0\.1:3000\/base$/m);
  });

  it('has a routes table with methods, host, path, upstream and access', () => {
    expect(text).toMatch(/^ROUTE +METHODS +HOST +PATH +UPSTREAM +ACCESS$/m);
    expect(text).toMatch(/^health +any +any +\/health +app +public$/m);
    expect(text).toMatch(/^read +GET,HEAD +api\.example\.com +\/api\/:id\/\* +app +application:view$/m);
  });

  it('counts roles, principals and keys', () => {
    expect(text).toContain('1 roles, 1 declared principals, 2 declared keys, 0 orgs');
  });

  it('never prints a hash, the admin token or the Redis password', () => {
    expect(text).not.toMatch(/[0-9a-f]{64}/);
    expect(text).not.toContain('admin-t0ken-value');
    expect(text).not.toContain('s3cret-pass');
  });

  it('says when the store is the embedded one', () => {
    expect(summarizeConfig(good(MINIMAL.join('\n')))).toMatch(/^store +embedded/m);
  });
});

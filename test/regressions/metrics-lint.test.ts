import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { newKey } from '../helpers/keys.ts';

/**
 * Issue 10.19: `promtool check metrics` reported prom-client's default gauges named `*_total`
 * (`nodejs_active_handles_total` and friends), a suffix Prometheus reserves for counters. The
 * whole exposition of a live gateway — keygate's metrics and the default ones, after traffic of
 * every kind — must pass the lint with nothing to report.
 */

const alice = newKey();
let redis: TestRedis;
let up: TestUpstream;
let gw: TestGateway;

beforeAll(async () => {
  redis = await startRedis();
  up = await startUpstream();
  gw = await startTestGateway(`
log: { level: silent }
store: { redis: "${redis.url}" }
tokens: { enabled: true, ttl: 10m, signingKeys: [{ id: k1, secret: "metrics-lint-regression-signing-secret-0" }] }
upstreams:
  app: { url: "${up.url}" }
  gone: { url: "http://127.0.0.1:1", connectTimeout: 1s }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: health, path: /health, upstream: app, public: true }
  - { name: app, path: "/api/applications/:appId/*", upstream: app, action: application:view }
  - { name: gone, path: "/gone/*", upstream: gone, action: application:view }
principals:
  - { name: alice, kind: user, roles: [viewer], keys: [{ id: alice-1, hash: "${alice.hash}" }] }
`);
  // Traffic of every kind, so every labelled series exists when the lint runs.
  const auth = { authorization: `Bearer ${alice.secret}` };
  for (const [path, headers] of [
    ['/health', {}], ['/api/applications/a1/x', auth], ['/api/applications/a1/x', {}], ['/api/applications/a1/x', { authorization: 'Bearer not@valid' }],
    ['/api/applications/a1/x', { authorization: `Bearer ${newKey().secret}` }], ['/nowhere', {}], ['/gone/x', auth],
  ] as const) {
    const res = await request(`${gw.url}${path}`, { headers });
    await res.body.text();
  }
  const ex = await request(`${gw.url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"key_id":"nope","key_secret":"nope"}' });
  await ex.body.text();
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
  await redis?.stop();
});

describe('promtool check metrics on a live /metrics', () => {
  it('reports nothing and exits 0', async () => {
    const res = await request(`${gw.adminUrl}/metrics`);
    const exposition = await res.body.text();
    expect(res.statusCode).toBe(200);
    // The traffic above is in it: the lint ran over labelled series, not an empty registry.
    expect(exposition).toMatch(/^keygate_auth_total\{route="app",credential="bearer",result="allowed"\} 1$/m);
    expect(exposition).toMatch(/^keygate_upstream_errors_total\{upstream="gone",kind="unavailable"\} 1$/m);
    expect(exposition).toMatch(/^nodejs_active_handles\{/m); // the per-type gauges stay
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
    expect(lint.error, 'promtool must be installed (Debian: apt-get install prometheus)').toBeUndefined();
    expect(`${lint.stdout}${lint.stderr}`.trim()).toBe('');
    expect(lint.status).toBe(0);
  });
});

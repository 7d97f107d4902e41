import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { runCli } from '../helpers/cli.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';

/**
 * Issue 13: a decision-only deployment (keygate behind an ingress) writes routes without an
 * upstream, and may have no `upstreams` at all. The check listener decides them; the proxy
 * listener refuses them; `check-config` says which routes each mode can serve.
 */
const editor = newKey();
const YAML = `
check: { grpcPort: 9191, withRequestBody: true }
credentials: { body: { enabled: true } }
roles: { editor: { actions: ["application:*"] } }
routes:
  - { name: health, path: /health, public: true }
  - { name: scan, path: /agent/scan, methods: [POST], action: application:view, credentials: [body] }
  - { name: apps, path: "/api/applications/:appId/*", action: application:edit }
principals:
  - { name: alice, kind: user, roles: [editor], keys: [{ id: alice-1, hash: "${editor.hash}" }] }
`;

let gw: TestGateway;
let file: string;
beforeAll(async () => {
  file = join(mkdtempSync(join(tmpdir(), 'keygate-decision-only-')), 'keygate.yaml');
  writeFileSync(file, YAML);
  gw = await startTestGateway(YAML);
});
afterAll(async () => {
  await gw?.close();
});

describe('decision-only routes', () => {
  it('the check listener decides them', async () => {
    const res = await request(`${gw.checkUrl}/check`, { headers: { 'x-original-method': 'DELETE', 'x-original-uri': '/api/applications/7/x', authorization: `Bearer ${editor.secret}` } });
    await res.body.text();
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-authenticated-user']).toBe('alice');
  });

  it('the proxy listener refuses them before reading any credential', async () => {
    const res = await request(`${gw.url}/api/applications/7/x`, { headers: { authorization: `Bearer ${editor.secret}` } });
    expect(res.statusCode).toBe(404);
    expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe('route_without_upstream');
  });

  it('without a check section, a route without an upstream is a config problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keygate-decision-only-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, YAML.replace('check: { grpcPort: 9191, withRequestBody: true }', ''));
    const r = await runCli(['check-config', bad]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/\/upstreams: missing required field "upstreams"/);
    expect(r.stderr).toMatch(/\/routes\/0\/upstream: missing required field "upstream" \(without one, a route is decision-only: that needs a `check` section\)/);
  });
});

describe('check-config', () => {
  it('says which routes each mode can serve (--json)', async () => {
    const r = await runCli(['check-config', '--json', file]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { summary: { check: Record<string, unknown>; routes: { name: string; upstream: string | null; servedBy: string[] }[] } };
    expect(out.summary.check).toEqual({ listen: '127.0.0.1:8081', grpc: '127.0.0.1:9191', pathPrefix: '/envoy', trustedClients: ['127.0.0.0/8', '::1'] });
    expect(Object.fromEntries(out.summary.routes.map((x) => [x.name, x.servedBy]))).toEqual({
      health: ['nginx', 'forward', 'envoy-http', 'envoy-grpc'],
      // The body is only ever sent by Envoy (with_request_body).
      scan: ['envoy-http', 'envoy-grpc'],
      apps: ['nginx', 'forward', 'envoy-http', 'envoy-grpc'],
    });
    expect(out.summary.routes[0]?.upstream).toBeNull();
  });

  it('without check.withRequestBody no shape serves a body-credential route', async () => {
    const plain = join(mkdtempSync(join(tmpdir(), 'keygate-decision-only-')), 'keygate.yaml');
    writeFileSync(plain, YAML.replace(', withRequestBody: true', ''));
    const r = await runCli(['check-config', '--json', plain]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { warnings: { message: string }[]; summary: { routes: { name: string; servedBy: string[] }[] } };
    expect(Object.fromEntries(out.summary.routes.map((x) => [x.name, x.servedBy]))['scan']).toEqual([]);
    // Valid, but never an allowed request: said, not failed.
    expect(out.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/^route "scan" can never be allowed: .*check\.withRequestBody: true/)]);
  });

  it('says it in the text summary too', async () => {
    const r = await runCli(['check-config', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('check      127.0.0.1:8081 (/check, Envoy HTTP under /envoy/)   gRPC 127.0.0.1:9191   trusted 127.0.0.0/8, ::1');
    expect(r.stdout).toMatch(/SERVED BY/);
    expect(r.stdout).toMatch(/^scan .*\(check only\).*envoy-http,envoy-grpc\s*$/m);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { exchange } from '../helpers/console.ts';
import { rawExchange } from '../helpers/raw.ts';

/**
 * The console's files on the admin listener (issue 15): the page and hashed assets with their
 * caching, the security headers on every /console response, path traversal, and the answer of a
 * checkout where the console was not built.
 */
const TOKEN = 'console-static-token-0123456789abcdef';
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const CONFIG = `
admin: { token: "${TOKEN}" }
upstreams: { app: { url: "http://127.0.0.1:9" } }
keys: { maxPerPrincipal: 7, defaultLifetime: 30d, maxLifetime: 2160h }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
`;
let gw: TestGateway;
let unbuilt: TestGateway;
let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'keygate-console-static-'));
  const dist = join(root, 'dist', 'console');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>keygate console</title>');
  writeFileSync(join(dist, 'assets', 'app-Q1W2E3R4.js'), 'export const built = true;');
  writeFileSync(join(dist, 'assets', 'app-Q1W2E3R4.css'), 'body{}');
  writeFileSync(join(dist, 'assets', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  // Files a traversal would be after: next to the console, and above it.
  writeFileSync(join(dist, 'secret.txt'), 'NEXT-TO-ASSETS');
  writeFileSync(join(root, 'dist', 'outside.txt'), 'ABOVE-THE-CONSOLE');
  gw = await startTestGateway(CONFIG, { consoleAssets: dist });
  const empty = mkdtempSync(join(tmpdir(), 'keygate-console-unbuilt-'));
  unbuilt = await startTestGateway(CONFIG, { consoleAssets: join(empty, 'console') });
});
afterAll(async () => {
  await gw?.close();
  await unbuilt?.close();
});

function expectConsoleHeaders(h: Record<string, string | string[] | undefined>): void {
  expect(h['content-security-policy']).toBe(CSP);
  expect(h['x-content-type-options']).toBe('nosniff');
  expect(h['referrer-policy']).toBe('no-referrer');
  expect(h['x-frame-options']).toBe('DENY');
}

describe('files', () => {
  it('serves index.html at /console/, never cached, with the security headers', async () => {
    const r = await exchange(`${gw.adminUrl}/console/`);
    expect(r.status).toBe(200);
    expect(r.text).toContain('keygate console');
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-store');
    expectConsoleHeaders(r.headers);
    const bare = await exchange(`${gw.adminUrl}/console`);
    expect(bare.status).toBe(301);
    expect(bare.headers.location).toBe('/console/');
  });

  it('serves hashed assets as immutable, others revalidated, each with its type', async () => {
    const js = await exchange(`${gw.adminUrl}/console/assets/app-Q1W2E3R4.js`);
    expect(js.status).toBe(200);
    expect(js.text).toBe('export const built = true;');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expectConsoleHeaders(js.headers);
    const css = await exchange(`${gw.adminUrl}/console/assets/app-Q1W2E3R4.css`);
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const svg = await exchange(`${gw.adminUrl}/console/assets/logo.svg`);
    expect(svg.headers['content-type']).toBe('image/svg+xml');
    expect(svg.headers['cache-control']).toBe('no-cache');
    const head = await exchange(`${gw.adminUrl}/console/assets/app-Q1W2E3R4.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });

  it('answers unknown files and writes with JSON errors that still carry the headers', async () => {
    const missing = await exchange(`${gw.adminUrl}/console/assets/nope-12345678.js`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'not_found' } });
    expectConsoleHeaders(missing.headers);
    const post = await exchange(`${gw.adminUrl}/console/`, { method: 'POST', json: {} });
    expect(post.status).toBe(405);
    expectConsoleHeaders(post.headers);
    const api = await exchange(`${gw.adminUrl}/console/api/session`);
    expect(api.status).toBe(401);
    expectConsoleHeaders(api.headers);
  });
});

describe('path traversal', () => {
  // Sent byte for byte: an HTTP client would normalize most of these before they left.
  const attempts = [
    '/console/assets/../secret.txt',
    '/console/assets/../../outside.txt',
    '/console/assets/%2e%2e/secret.txt',
    '/console/assets/%2e%2e%2fsecret.txt',
    '/console/assets/..%2fsecret.txt',
    '/console/assets/..%5csecret.txt',
    '/console/assets/..\\secret.txt',
    '/console/assets/%252e%252e%252fsecret.txt',
    '/console/assets/.%2e/.%2e/outside.txt',
    '/console/assets//etc/passwd',
    '/console/assets/%2fetc%2fpasswd',
    '/console/assets/..%00/secret.txt',
    '/console/assets/secret.txt%00.js',
    '/console/../dist/outside.txt',
    '/console/secret.txt',
    '/console/assets/.',
    '/console/assets/',
  ];
  it.each(attempts)('%s reaches no file outside assets/', async (path) => {
    const { text } = await rawExchange(gw.adminPort, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    expect(text).toMatch(/^HTTP\/1\.1 (400|404) /);
    expect(text).not.toContain('NEXT-TO-ASSETS');
    expect(text).not.toContain('ABOVE-THE-CONSOLE');
    expect(text).not.toContain('root:');
  });
});

describe('config', () => {
  it('GET /console/api/config tells the page what it needs before sign-in', async () => {
    const r = await exchange(`${gw.adminUrl}/console/api/config`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      oidc: { enabled: false, loginUrl: '/console/oidc/login' },
      keys: { maxPerPrincipal: 7, defaultLifetime: '30d', maxLifetime: '90d' },
      // Names the page shows in connection details; never a secret (no org key, no signing key).
      credentials: { serviceKey: { enabled: false, orgHeader: 'API-Key' }, tokens: { enabled: false, path: '/auth/token' } },
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
    expectConsoleHeaders(r.headers);
    const oidc = await exchange(`${gw.adminUrl}/console/oidc/login`);
    expect(oidc.status).toBe(404);
  });
});

describe('a checkout where the console was not built', () => {
  it('answers 503 console_not_built saying how to build it, while the session API works', async () => {
    const r = await exchange(`${unbuilt.adminUrl}/console/`);
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ error: { code: 'console_not_built', message: expect.stringContaining('node scripts/build-console.ts') } });
    expectConsoleHeaders(r.headers);
    expect((await exchange(`${unbuilt.adminUrl}/console/api/session`, { method: 'POST', json: { token: TOKEN } })).status).toBe(200);
  });
});

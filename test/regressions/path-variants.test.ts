import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { adminApi } from '../helpers/admin.ts';
import { rawRequest } from '../helpers/sockets.ts';
import { until } from '../helpers/sockets.ts';
import { lenientPath } from '../helpers/lenient-path.ts';

/**
 * Issue 10 item 3: spellings of a path that keygate routed one way and a lenient upstream
 * resolved to another — a second percent-decoding, encoded `;` beside dot-segments, overlong
 * and invalid UTF-8, NFKC and best-fit look-alikes of `.`, `/`, `\`. Against a real upstream
 * that reads paths as leniently as common servers do together (test/helpers/lenient-path.ts),
 * each variant is shown to reach the protected resource when sent to it directly, and through
 * keygate to be refused with 400 `bad_path` before anything reaches it.
 */

const TOKEN = 'admin-token-for-path-variants-0123456789';

/** A real lenient upstream: it serves by the path it resolves, and says which. */
interface LenientUpstream {
  url: string;
  port: number;
  received: string[];
  close(): Promise<void>;
}

async function startLenientUpstream(): Promise<LenientUpstream> {
  const received: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '';
    received.push(url);
    const resolved = lenientPath(url);
    const q = url.indexOf('?');
    // ASCII-only JSON: the raw-socket client reads responses as latin1.
    const body = JSON.stringify({ raw: url, resolved, query: q === -1 ? '' : url.slice(q) })
      .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`, port, received,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

let up: LenientUpstream;
let gw: TestGateway;
let member = '';

beforeAll(async () => {
  up = await startLenientUpstream();
  gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
credentials: { bearer: true, query: { enabled: true, param: apiKey } }
upstreams: { app: { url: "${up.url}", timeout: 2s, connectTimeout: 1s } }
log: { level: silent }
roles:
  viewer: { actions: [application:view] }
routes:
  - { name: admin, path: "/admin/*", upstream: app, action: application:edit }
  - { name: app, path: "/api/applications/:appId/*", upstream: app, action: application:view, resource: { type: application, param: appId } }
  - { name: static, path: "/*", upstream: app, public: true }
`);
  const call = adminApi(gw.adminUrl, TOKEN);
  expect((await call('POST', '/v1/groups', { name: 'team-a', roles: ['viewer'], resources: { application: ['app-1'] } })).status).toBe(201);
  expect((await call('POST', '/v1/principals', { name: 'member', kind: 'user', roles: [], groups: ['team-a'] })).status).toBe(201);
  const k = await call<{ secret: string }>('POST', '/v1/keys', { principal: 'member' });
  expect(k.status).toBe(201);
  member = k.body.secret;
});
afterAll(async () => {
  await gw?.close();
  await up?.close();
});

let before = 0;
beforeEach(() => {
  before = up.received.length;
});

async function get(port: number, target: string, auth = ''): Promise<{ status: number; body: string; json: Record<string, unknown> | null }> {
  const authLine = auth === '' ? '' : `Authorization: Bearer ${auth}\r\n`;
  const r = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: gw.test\r\n${authLine}Connection: close\r\n\r\n`);
  let json: Record<string, unknown> | null = null;
  try { json = JSON.parse(r.body) as Record<string, unknown>; } catch { /* not JSON */ }
  return { status: r.status, body: r.body, json };
}

/** Through keygate: 400 bad_path, and the upstream received nothing. */
async function expectRefused(target: string, auth = ''): Promise<void> {
  const r = await get(gw.port, target, auth);
  expect([r.status, (r.json?.['error'] as { code?: string } | undefined)?.code], r.body).toEqual([400, 'bad_path']);
  expect(r.body).not.toContain('admin');
  await until(() => up.received.length > before, 100);
  expect(up.received.slice(before), 'requests that reached the upstream').toEqual([]);
}

/** Directly at the upstream, the variant resolves to `resolved`: it is a real bypass there. */
async function expectUpstreamResolves(target: string, resolved: string): Promise<void> {
  const r = await get(up.port, target);
  expect(r.json?.['resolved'], target).toBe(resolved);
}

describe('control: the canonical paths are protected, so a variant that reached them would be a bypass', () => {
  it('no credential on /admin/secret: 401, nothing forwarded', async () => {
    const r = await get(gw.port, '/admin/secret');
    expect(r.status).toBe(401);
    expect(up.received.length).toBe(before);
  });

  it('the member key on app-2: 403; on app-1: forwarded exactly', async () => {
    expect((await get(gw.port, '/api/applications/app-2/x', member)).status).toBe(403);
    const ok = await get(gw.port, '/api/applications/app-1/x', member);
    expect(ok.status).toBe(200);
    expect(up.received.slice(before)).toEqual(['/api/applications/app-1/x']);
  });

  it('a public path is forwarded', async () => {
    expect((await get(gw.port, '/static/site.css')).status).toBe(200);
    expect(up.received.slice(before)).toEqual(['/static/site.css']);
  });
});

// [class, variant, what the lenient upstream resolves it to]
const escapes: [string, string][] = [
  // decoded twice (or three times)
  ['double-encoded dots', '/static/%252e%252e/admin/secret'],
  ['double-encoded dots, upper case', '/static/%252E%252E/admin/secret'],
  ['one dot plain, one double-encoded', '/static/.%252e/admin/secret'],
  ['triple-encoded dots', '/static/%25252e%25252e/admin/secret'],
  ['double-encoded slash', '/static/..%252fadmin/secret'],
  ['double-encoded backslash', '/static/..%255cadmin/secret'],
  ['double-encoded backslashes around dots', '/static/%255c..%255cadmin/secret'],
  ['double-encoded letter', '/%2561dmin/secret'],
  ['second escape spelled with escaped hex digits', '/static/%25%32%65%25%32%65/admin/secret'],
  ['IIS %u after one decode', '/static/%25u002e%25u002e/admin/secret'],
  // encoded `;` beside dot-segments (decoded, then cut at `;` like Tomcat)
  ['encoded ";" after dots', '/static/..%3b/admin/secret'],
  ['encoded ";" with a parameter', '/static/..%3Bx=1/admin/secret'],
  ['encoded dots and ";"', '/static/%2e%2e%3b/admin/secret'],
  ['double-encoded ";"', '/static/..%253b/admin/secret'],
  ['encoded ";" on the protected segment', '/admin%3bx/secret'],
  // overlong and invalid UTF-8 that a lenient decoder still reads
  ['overlong dots', '/static/%c0%ae%c0%ae/admin/secret'],
  ['overlong slash', '/static/..%c0%afadmin/secret'],
  ['three-byte overlong dots', '/static/%e0%80%ae%e0%80%ae/admin/secret'],
  ['overlong backslash', '/static/..%c1%9cadmin/secret'],
  // compatibility forms (NFKC) and best-fit look-alikes
  ['fullwidth full stops', '/static/%ef%bc%8e%ef%bc%8e/admin/secret'],
  ['fullwidth solidus', '/static/..%ef%bc%8fadmin/secret'],
  ['fullwidth reverse solidus', '/static/..%ef%bc%bcadmin/secret'],
  ['one dot leader', '/static/%e2%80%a4%e2%80%a4/admin/secret'],
  ['two dot leader', '/static/%e2%80%a5/admin/secret'],
  ['small full stop', '/static/%ef%b9%92%ef%b9%92/admin/secret'],
  ['division slash', '/static/..%e2%88%95admin/secret'],
  ['fraction slash', '/static/..%e2%81%84admin/secret'],
  ['yen sign (0x5C in code page 932)', '/static/..%c2%a5admin/secret'],
  ['fullwidth letter', '/%ef%bd%81dmin/secret'],
  ['ideographic full stops', '/static/%e3%80%82%e3%80%82/admin/secret'],
];

describe('escape from a public route to /admin without a credential', () => {
  it.each(escapes)('%s: %s', async (_what, target) => {
    await expectUpstreamResolves(target, '/admin/secret');
    before = up.received.length;
    await expectRefused(target);
  });
});

describe('a group scoped to app-1 reaching app-2', () => {
  const crossApp = escapes
    .filter(([, t]) => t.startsWith('/static/'))
    .map(([what, t]): [string, string] => [what, t.replace('/static/', '/api/applications/app-1/').replace('admin/secret', 'app-2/findings')]);
  it.each(crossApp)('%s: %s', async (_what, target) => {
    await expectUpstreamResolves(target, '/api/applications/app-2/findings');
    before = up.received.length;
    await expectRefused(target, member);
  });
});

describe('what is accepted reaches the upstream as authorized, the query byte for byte', () => {
  it('valid UTF-8 and plain escapes: forwarded normalized, read by the upstream as keygate read it', async () => {
    const r = await get(gw.port, '/static/caf%c3%a9/50%25/%7euser/a%3Ab?q=%7e+%20&x=%2F..&y');
    expect(r.status).toBe(200);
    expect(up.received.slice(before)).toEqual(['/static/caf%C3%A9/50%25/~user/a%3Ab?q=%7e+%20&x=%2F..&y']);
    expect(r.json?.['resolved']).toBe('/static/café/50%/~user/a:b');
  });

  it('the credential parameter is removed and nothing else in the query changes', async () => {
    const target = `/api/applications/app-1/x?b=%7e&apiKey=${member}&c=a+b&d&e=%2f&&f=`;
    const r = await get(gw.port, target);
    expect(r.status).toBe(200);
    expect(up.received.slice(before)).toEqual(['/api/applications/app-1/x?b=%7e&c=a+b&d&e=%2f&&f=']);
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { IncomingMessage } from 'node:http';
import { loadConfigText } from '../../../src/config/load.ts';
import type { GatewayConfig } from '../../../src/config/types.ts';
import type { RequestContext } from '../../../src/context.ts';
import type { Generation } from '../../../src/generation.ts';
import type { KeyRecord, PrincipalRecord } from '../../../src/keystore/types.ts';
import { compileRoutes } from '../../../src/routing/match.ts';
import { matchRoute } from '../../../src/routing/stages.ts';
import { upstreamHeaders, type HeadersFor } from '../../../src/proxy/request-headers.ts';

/**
 * Header hygiene as properties (issue 10 #7-9): for any mix of names, cases, `_`/`-`
 * spellings, repeats and Connection-named headers, the header list sent upstream holds no
 * client identity header, no override keygate did not honour, no `_` name (by default), no
 * hop-by-hop header, and keygate's own headers exactly once each.
 */

function config(extra: string): GatewayConfig {
  const r = loadConfigText(`
server: { ${extra} }
upstreams: { app: { url: "http://127.0.0.1:1" } }
roles: { any: { actions: [x:read, x:delete] } }
routes:
  - { name: pub, path: "/pub/*", upstream: app, public: true }
  - { name: del, path: "/api/*", methods: [DELETE], upstream: app, action: x:delete, methodOverride: true }
  - { name: api, path: "/api/*", upstream: app, action: x:read }
`, '/t/keygate.yaml', {});
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}
const strict = config('');
const lenient = config('headers: { allowUnderscores: true }');

const principal = { id: 'p_1', name: 'alice', kind: 'user', roles: ['any'], groups: [], org: 'acme' } as unknown as PrincipalRecord;
const key = { id: 'key-1' } as unknown as KeyRecord;
/** What keygate injects for that principal, lower-cased name → value. */
const INJECTED = new Map([
  ['x-authenticated-user', 'alice'], ['x-authenticated-id', 'p_1'], ['x-authenticated-kind', 'user'],
  ['x-authenticated-key-id', 'key-1'], ['x-authenticated-roles', 'any'], ['x-authenticated-org', 'acme'],
]);

/** Names keygate strips, sets or reads, in their canonical spelling. */
const CONTROLLED = [
  ...[...INJECTED.keys()], 'X-Authenticated-Anything', 'X-Authenticated',
  'X-HTTP-Method-Override', 'X-Method-Override', 'X-HTTP-Method', 'X-Original-URL', 'X-Rewrite-URL', 'X-Forwarded-Prefix',
  'Forwarded', 'X-Forwarded-For', 'X-Forwarded-Proto', 'X-Forwarded-Host', 'X-Forwarded-Port', 'X-Real-IP', 'True-Client-IP', 'X-Client-IP',
  'Connection', 'Keep-Alive', 'Proxy-Connection', 'Proxy-Authorization', 'TE', 'Trailer', 'Transfer-Encoding', 'Upgrade', 'HTTP2-Settings',
  'X-Request-Id', 'Expect', 'Authorization', 'Host', 'Content-Length',
];
const OVERRIDES = new Set(['x-http-method-override', 'x-method-override', 'x-http-method', 'x-original-url', 'x-rewrite-url', 'x-forwarded-prefix']);
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings']);
const PROXY = ['forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-real-ip'];

/** A controlled name respelled: each letter in either case, each `-` possibly `_`. */
const respelled = fc.tuple(fc.constantFrom(...CONTROLLED), fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }))
  .map(([n, upper, under]) => [...n].map((c, i) => (c === '-' && under[i] ? '_' : upper[i] ? c.toUpperCase() : c.toLowerCase())).join(''));
const other = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,11}$/);
const headerName = fc.oneof({ weight: 3, arbitrary: respelled }, { weight: 1, arbitrary: other });
const headerValue = fc.oneof(fc.constantFrom('DELETE', 'delete', 'PUT', 'admin', '10.0.0.1', 'https', 'x-authenticated-user, upgrade'), fc.stringMatching(/^[!-~]{0,12}$/));
const header = fc.tuple(headerName, headerValue);
/** Sometimes a Connection header naming other headers of the request. */
const headerList = fc.array(header, { maxLength: 25 }).chain((hs) =>
  fc.subarray(hs.map(([n]) => n)).map((named) => (named.length === 0 ? hs : [...hs, ['Connection', named.join(', ')] as [string, string]])));

function context(cfg: GatewayConfig, method: string, path: string, raw: [string, string][], authenticated: boolean): RequestContext {
  const rawHeaders = raw.flat();
  const headers: Record<string, string> = {};
  for (const [n, v] of raw) headers[n.toLowerCase()] ??= v;
  const req = { method, url: path, rawHeaders, headers, socket: { remoteAddress: '127.0.0.1', localPort: 8080 } } as unknown as IncomingMessage;
  const gen = { config: cfg, router: compileRoutes(cfg.routes, cfg.upstreams, { caseSensitive: false }) } as unknown as Generation;
  const ctx = {
    id: 'req-1', gen, req, res: undefined, path, query: '', match: null, credential: null, orgKey: null, body: null,
    principal: authenticated ? principal : null, key: authenticated ? key : null, methodOverride: null, headerDrops: null,
  } as unknown as RequestContext;
  matchRoute(ctx);
  return ctx;
}

function names(list: string[]): string[] {
  return list.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
}
const count = (ns: string[], n: string) => ns.filter((x) => x === n).length;

/** The rules that hold whatever the client sent. */
function checkHygiene(out: string[], ctx: RequestContext, kind: HeadersFor, allowUnderscores: boolean): void {
  const ns = names(out);
  const fold = (n: string) => n.replaceAll('_', '-');
  // Identity: only what keygate injected, once each, with its values; nothing on a public route.
  const identity = ns.filter((n) => fold(n).startsWith('x-authenticated'));
  if (ctx.principal === null) expect(identity).toEqual([]);
  else {
    expect([...identity].sort()).toEqual([...INJECTED.keys()].sort());
    for (const [n, v] of INJECTED) expect(out[out.findIndex((x, i) => i % 2 === 0 && x.toLowerCase() === n) + 1]).toBe(v);
  }
  // Overrides: none, unless honoured, and then every method-override name once with that value.
  const overrides = ns.filter((n) => OVERRIDES.has(fold(n)));
  if (ctx.methodOverride === null) expect(overrides).toEqual([]);
  else expect([...overrides].sort()).toEqual(['x-http-method', 'x-http-method-override', 'x-method-override']);
  // `_` names: none by default; allowed, none that folds onto a controlled header.
  const underscored = ns.filter((n) => n.includes('_'));
  if (!allowUnderscores) expect(underscored).toEqual([]);
  else for (const n of underscored) expect(CONTROLLED.map((c) => c.toLowerCase())).not.toContain(fold(n));
  // Hop-by-hop: none, except the two a WebSocket handshake needs, set by keygate once.
  const hop = ns.filter((n) => HOP.has(n));
  expect(hop).toEqual(kind === 'upgrade' ? ['connection', 'upgrade'] : []);
  // keygate's own: once each.
  expect(count(ns, 'x-request-id')).toBe(1);
  for (const p of PROXY) expect(count(ns, p), p).toBe(1);
  expect(count(ns, 'host')).toBe(0);
  expect(count(ns, 'expect')).toBe(0);
  // X-Forwarded-Host is the Host routing used (the first), whatever Connection names.
  const raw = ctx.req.rawHeaders;
  const hostAt = raw.findIndex((n, i) => i % 2 === 0 && n.toLowerCase() === 'host');
  expect(out[out.indexOf('x-forwarded-host') + 1]).toBe(hostAt < 0 ? '' : raw[hostAt + 1]);
}

const RUNS = { numRuns: 400 };

describe('the forwarded header set', () => {
  it.each([
    ['a protected route', 'GET', '/api/x', true],
    ['a public route', 'GET', '/pub/x', false],
    ['a POST that may carry a method override', 'POST', '/api/x', true],
  ] as const)('%s: no identity, override, "_" or hop-by-hop header from the client; ours exactly once', (_what, method, path, authenticated) => {
    fc.assert(fc.property(headerList, fc.constantFrom<HeadersFor>('http', 'upgrade'), (raw, kind) => {
      const ctx = context(strict, method, path, raw, authenticated);
      checkHygiene(upstreamHeaders(ctx, kind), ctx, kind, false);
    }), RUNS);
  });

  it('with allowUnderscores, a "_" header passes only when it folds onto nothing keygate controls', () => {
    fc.assert(fc.property(headerList, fc.constantFrom('/api/x', '/pub/x'), (raw, path) => {
      const ctx = context(lenient, 'POST', path, raw, path === '/api/x');
      checkHygiene(upstreamHeaders(ctx), ctx, 'http', true);
    }), RUNS);
  });

  it('an honoured method override is the method the route was matched (and authorized) by', () => {
    const override = fc.tuple(fc.constantFrom('X-HTTP-Method-Override', 'x-method-override', 'X-HTTP-METHOD'), fc.constantFrom('DELETE', 'delete', 'PUT', 'GET', 'DELETE, PUT'));
    fc.assert(fc.property(fc.array(override, { maxLength: 4 }), headerList, (overrides, rest) => {
      const raw = [...rest, ...overrides];
      const ctx = context(strict, 'POST', '/api/x', raw, true);
      const out = upstreamHeaders(ctx);
      checkHygiene(out, ctx, 'http', false);
      const sent = raw.filter(([n]) => ['x-http-method-override', 'x-method-override', 'x-http-method'].includes(n.toLowerCase()));
      const values = new Set(sent.map(([, v]) => v.trim().toUpperCase()));
      // Honoured exactly when every override agrees on DELETE, the one method whose route opted in.
      const honoured = sent.length > 0 && values.size === 1 && values.has('DELETE');
      expect(ctx.methodOverride).toBe(honoured ? 'DELETE' : null);
      expect(ctx.match?.route.name).toBe(honoured ? 'del' : 'api');
    }), RUNS);
  });
});

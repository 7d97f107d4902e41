import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Received, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { acceptUpgrades, wsHandshake, type Handshake } from '../helpers/ws.ts';
import { newKey } from '../helpers/keys.ts';
import { rawRequest } from '../helpers/sockets.ts';
import { loadConfigText } from '../../src/config/load.ts';

/**
 * Issue 10 #9: client-address and proxy headers (Forwarded, X-Forwarded-For/-Proto/-Host/-Port,
 * X-Real-IP, True-Client-IP, X-Client-IP) follow one rule, `server.trustedProxies`. From any
 * other peer they are replaced by keygate's own view of the connection; from a trusted peer
 * they are kept, and X-Forwarded-For and Forwarded get this hop appended. Each reaches the
 * upstream exactly once. (Tests connect from 127.0.0.1.)
 */

const alice = newKey();
let up: TestUpstream;
let ws: ReturnType<typeof acceptUpgrades>;
let untrusted: TestGateway;
let elsewhere: TestGateway;
let trusted: TestGateway;

const config = (proxies: string) => `
upstreams: { app: { url: "${up.url}", timeout: 2s, connectTimeout: 1s, bodyTimeout: 2s, connections: 4 } }
server: { headersTimeout: 2s, requestTimeout: 5s${proxies} }
log: { level: silent }
roles: { editor: { actions: [application:view] } }
routes:
  - { name: health, path: "/health", upstream: app, public: true }
  - { name: app, path: "/api/*", upstream: app, action: application:view }
principals:
  - { name: alice, kind: user, roles: [editor], keys: [{ id: alice-1, hash: "${alice.hash}" }] }
`;

beforeAll(async () => {
  up = await startUpstream();
  ws = acceptUpgrades(up.server);
  untrusted = await startTestGateway(config(''));
  elsewhere = await startTestGateway(config(', trustedProxies: [10.0.0.0/8, "fd00::/8", 192.0.2.7]'));
  trusted = await startTestGateway(config(', trustedProxies: ["127.0.0.0/8", "::1", 10.0.0.0/8]'));
});
afterAll(async () => {
  await Promise.all([untrusted?.close(), elsewhere?.close(), trusted?.close()]);
  ws?.close();
  await up?.close();
});

/** What a client (or an upstream proxy) claims, in mixed case and with repeats. */
const CLAIMS = [
  'Forwarded: for=198.51.100.1;proto=https;host=evil.example',
  'x-forwarded-for: 198.51.100.1',
  'X-Forwarded-For: 10.1.1.1',
  'X-FORWARDED-PROTO: https',
  'X-Forwarded-Host: evil.example',
  'X-Forwarded-Port: 443',
  'X-Real-IP: 198.51.100.1',
  'True-Client-IP: 198.51.100.1',
  'X-Client-IP: 198.51.100.1',
];
const NAMES = ['forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-real-ip', 'true-client-ip', 'x-client-ip'];

async function through(gw: TestGateway, path: string, extra: string[]): Promise<Received> {
  const next = up.nextRequest();
  const auth = path.startsWith('/api') ? [`Authorization: Bearer ${alice.secret}`] : [];
  const r = await rawRequest(gw.port, [`GET ${path} HTTP/1.1`, 'Host: api.example.test', ...auth, ...extra, 'Connection: close', '', ''].join('\r\n'));
  expect(r.status).toBe(200);
  return next;
}

function proxyHeaders(h: Map<string, string[]>): Record<string, string[] | undefined> {
  return Object.fromEntries(NAMES.map((n) => [n, h.get(n)]));
}

describe('from an untrusted peer: replaced by keygate\'s view', () => {
  const own = (port: number) => ({
    'forwarded': ['for=127.0.0.1;host=api.example.test;proto=http'],
    'x-forwarded-for': ['127.0.0.1'],
    'x-forwarded-proto': ['http'],
    'x-forwarded-host': ['api.example.test'],
    'x-forwarded-port': [String(port)],
    'x-real-ip': ['127.0.0.1'],
    'true-client-ip': ['127.0.0.1'],
    'x-client-ip': ['127.0.0.1'],
  });

  it.each(['/api/x', '/health'])('no trusted proxies: %s', async (path) => {
    expect(proxyHeaders((await through(untrusted, path, CLAIMS)).headers)).toEqual(own(untrusted.port));
  });

  it('trusted proxies that do not include the peer', async () => {
    expect(proxyHeaders((await through(elsewhere, '/api/x', CLAIMS)).headers)).toEqual(own(elsewhere.port));
  });

  it('without claims the same view is set (True-Client-IP / X-Client-IP only replace what was sent)', async () => {
    const seen = proxyHeaders((await through(untrusted, '/api/x', [])).headers);
    expect(seen).toEqual({ ...own(untrusted.port), 'true-client-ip': undefined, 'x-client-ip': undefined });
  });

  it('a WebSocket handshake gets the same treatment', async () => {
    const n = ws.handshakes.length;
    expect(await wsHandshake(untrusted.port, '/api/socket', [`Authorization: Bearer ${alice.secret}`, ...CLAIMS], 'api.example.test')).toBe(101);
    expect(proxyHeaders((ws.handshakes[n] as Handshake).headers)).toEqual(own(untrusted.port));
  });
});

describe('from a trusted peer: kept and appended to', () => {
  it('X-Forwarded-For and Forwarded get this hop; the single-valued ones are the proxy\'s', async () => {
    expect(proxyHeaders((await through(trusted, '/api/x', CLAIMS)).headers)).toEqual({
      'forwarded': ['for=198.51.100.1;proto=https;host=evil.example, for=127.0.0.1;host=api.example.test;proto=http'],
      'x-forwarded-for': ['198.51.100.1, 10.1.1.1, 127.0.0.1'],
      'x-forwarded-proto': ['https'],
      'x-forwarded-host': ['evil.example'],
      'x-forwarded-port': ['443'],
      'x-real-ip': ['198.51.100.1'],
      'true-client-ip': ['198.51.100.1'],
      'x-client-ip': ['198.51.100.1'],
    });
  });

  it('without X-Real-IP, it is the right-most X-Forwarded-For hop that is not a trusted proxy', async () => {
    const seen = (await through(trusted, '/api/x', ['X-Forwarded-For: 203.0.113.5, 198.51.100.1, 10.1.1.1'])).headers;
    expect(seen.get('x-real-ip')).toEqual(['198.51.100.1']);
    expect(seen.get('x-forwarded-for')).toEqual(['203.0.113.5, 198.51.100.1, 10.1.1.1, 127.0.0.1']);
  });

  it('a trusted peer that sent nothing gets keygate\'s view', async () => {
    const seen = proxyHeaders((await through(trusted, '/health', [])).headers);
    expect(seen['x-forwarded-for']).toEqual(['127.0.0.1']);
    expect(seen['forwarded']).toEqual(['for=127.0.0.1;host=api.example.test;proto=http']);
    expect(seen['x-forwarded-proto']).toEqual(['http']);
  });

  it('a WebSocket handshake from a trusted peer is appended to as well', async () => {
    const n = ws.handshakes.length;
    expect(await wsHandshake(trusted.port, '/api/socket', [`Authorization: Bearer ${alice.secret}`, 'X-Forwarded-For: 198.51.100.1', 'X-Forwarded-Proto: https'], 'api.example.test')).toBe(101);
    const h = (ws.handshakes[n] as Handshake).headers;
    expect(h.get('x-forwarded-for')).toEqual(['198.51.100.1, 127.0.0.1']);
    expect(h.get('x-forwarded-proto')).toEqual(['https']);
  });
});

describe('server.trustedProxies is checked when the config is loaded', () => {
  const load = (list: string) => loadConfigText(`server: { trustedProxies: ${list} }\nupstreams: { app: { url: "http://127.0.0.1:1" } }\nroutes: [{ name: h, path: /h, upstream: app, public: true }]\n`, '/etc/keygate.yaml', {});

  it('accepts IPv4 and IPv6 addresses and CIDRs, and matches IPv4-mapped peers', () => {
    const r = load('["10.0.0.0/8", "192.0.2.7", "fd00::/8", "2001:db8::1"]');
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    const t = r.config.server.trusted!;
    expect(['10.9.8.7', '::ffff:10.9.8.7', '192.0.2.7', 'fd12::1', '2001:db8::1'].map((a) => t.has(a))).toEqual([true, true, true, true, true]);
    expect(['11.0.0.1', '192.0.2.8', 'fe80::1', '2001:db8::2', '127.0.0.1', '', 'not-an-ip'].map((a) => t.has(a))).toEqual([false, false, false, false, false, false, false]);
  });

  it('refuses what is not an address or CIDR, each with its line', () => {
    const r = load('["10.0.0.0/33", "fd00::/129", "10.0.0.0/x", example.com, "10.0.0"]');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => `${p.line} ${p.path}`)).toEqual([0, 1, 2, 3, 4].map((i) => `1 /server/trustedProxies/${i}`));
    expect(r.problems[0]?.message).toMatch(/prefix length outside 0-32/);
    expect(r.problems[3]?.message).toMatch(/not an IP address/);
  });

  it('the removed trustForwarded says what replaced it', () => {
    const r = loadConfigText('server: { trustForwarded: true }\nupstreams: { app: { url: "http://127.0.0.1:1" } }\nroutes: [{ name: h, path: /h, upstream: app, public: true }]\n', '/etc/keygate.yaml', {});
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]?.message).toMatch(/server\.trustedProxies/);
  });
});

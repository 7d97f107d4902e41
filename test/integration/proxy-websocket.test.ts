import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';
import { firstResponse, openRaw, until, type RawConnection } from '../helpers/sockets.ts';

/**
 * WebSocket upgrades go through the same chain as any request (401/403 before anything reaches
 * the upstream) and then become a byte-transparent tunnel, with the same identity headers.
 * Both sides speak the raw RFC 6455 handshake; the tunnel carries raw bytes.
 */

const alice = newKey();
const bob = newKey();
const acmeOrg = newKey();
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const accept = (key: string) => createHash('sha1').update(key + WS_GUID).digest('base64');

interface Upgrade {
  url: string;
  headers: Map<string, string[]>;
  data: Buffer[];
  socket: Socket;
}

let upstream: Server;
let upstreamPort: number;
const upgrades: Upgrade[] = [];
let upstreamConnections = 0;
let upstreamRequests = 0;
let gw: TestGateway;

beforeAll(async () => {
  upstream = createServer((_req, res) => {
    upstreamRequests++;
    res.end('not an upgrade');
  });
  upstream.on('connection', () => upstreamConnections++);
  upstream.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const headers = new Map<string, string[]>();
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const k = (req.rawHeaders[i] as string).toLowerCase();
      headers.set(k, [...(headers.get(k) ?? []), req.rawHeaders[i + 1] as string]);
    }
    const u: Upgrade = { url: req.url ?? '', headers, data: head.length > 0 ? [head] : [], socket };
    upgrades.push(u);
    socket.on('error', () => socket.destroy());
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept(req.headers['sec-websocket-key'] ?? '')}\r\n\r\n`);
    socket.write('server-hello;');
    socket.on('data', (d: Buffer) => {
      u.data.push(d);
      socket.write(d); // echo
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as AddressInfo).port;
  gw = await startTestGateway(`
upstreams: { app: { url: "http://127.0.0.1:${upstreamPort}", timeout: 2s, connectTimeout: 1s, bodyTimeout: 2s, connections: 4 } }
server: { headersTimeout: 2s, requestTimeout: 5s, maxHeaders: 50, maxHeaderBytes: 8192 }
log: { level: silent }
credentials: { serviceKey: { enabled: true, orgHeader: API-Key } }
orgs:
  acme: { keys: [{ id: acme-1, hash: "${acmeOrg.hash}" }] }
roles:
  editor: { actions: [application:view, application:edit] }
  nobody: { actions: [other:thing] }
routes:
  - { name: app, path: "/api/applications/:appId/*", upstream: app, action: application:view }
principals:
  - { name: alice, kind: user, roles: [editor], org: acme, keys: [{ id: alice-1, hash: "${alice.hash}" }] }
  - { name: bob, kind: user, roles: [nobody], keys: [{ id: bob-1, hash: "${bob.hash}" }] }
`);
});
afterAll(async () => {
  await gw?.close();
  for (const u of upgrades) u.socket.destroy();
  upstream?.closeAllConnections();
  await new Promise((r) => upstream?.close(r));
});


function handshake(path: string, key: string, extra: string[]): string {
  return [
    `GET ${path} HTTP/1.1`,
    'Host: ws.example.test',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    ...extra,
    '', '',
  ].join('\r\n');
}

/** The text after the response head. */
const afterHead = (text: string) => text.slice(text.indexOf('\r\n\r\n') + 4);

describe('an authorized upgrade', () => {
  let c: RawConnection;
  let up: Upgrade;
  const key = randomBytes(16).toString('base64');

  beforeAll(async () => {
    const before = upgrades.length;
    c = await openRaw(gw.port);
    c.write(handshake('/api/applications/7/ws?room=a', key, [
      `Authorization: Bearer ${alice.secret}`,
      `API-Key: ${acmeOrg.secret}`,
      'X-Authenticated-User: root',
      'x-authenticated-roles: admin',
      'X-Authenticated-Org: evil',
    ]));
    await c.waitFor((t) => t.includes('\r\n\r\n') && afterHead(t).includes('server-hello;'), 5000, 'the 101 and the upstream greeting');
    up = upgrades[before] as Upgrade;
  });
  afterAll(() => c?.destroy());

  it('answers 101 with the upstream handshake', () => {
    const r = firstResponse(c.text());
    expect(r.status).toBe(101);
    expect(r.headers.get('sec-websocket-accept')).toEqual([accept(key)]);
    expect(r.headers.get('upgrade')?.[0]?.toLowerCase()).toBe('websocket');
  });

  it('forwards the identity, not the credentials (user and org key) nor the spoofed identity headers', () => {
    expect(up.url).toBe('/api/applications/7/ws?room=a');
    expect(up.headers.get('x-authenticated-user')).toEqual(['alice']);
    expect(up.headers.get('x-authenticated-roles')).toEqual(['editor']);
    expect(up.headers.get('x-authenticated-key-id')).toEqual(['alice-1']);
    expect(up.headers.get('x-authenticated-org')).toEqual(['acme']);
    expect(up.headers.has('authorization')).toBe(false);
    expect(up.headers.has('api-key')).toBe(false);
    expect(up.headers.get('sec-websocket-key')).toEqual([key]);
    expect(up.headers.get('upgrade')?.[0]?.toLowerCase()).toBe('websocket');
  });

  it('carries bytes both ways unchanged', async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const payload = Buffer.concat([Buffer.from('client-bytes;'), all, randomBytes(64 * 1024)]);
    const sentAt = c.bytes().length;
    c.write(payload);
    // upstream received it exactly, and its echo came back exactly
    expect(await until(() => Buffer.concat(up.data).length >= payload.length, 5000)).toBe(true);
    expect(Buffer.concat(up.data).equals(payload)).toBe(true);
    expect(await until(() => c.bytes().length - sentAt >= payload.length, 5000)).toBe(true);
    expect(c.bytes().subarray(sentAt).equals(payload)).toBe(true);
    expect(c.isClosed()).toBe(false);
  });
});

describe('connection-level headers on an upgrade', () => {
  async function upgradeWith(extra: string[]): Promise<Upgrade> {
    const before = upgrades.length;
    const c = await openRaw(gw.port);
    try {
      c.write(handshake('/api/applications/7/ws', randomBytes(16).toString('base64'), [`Authorization: Bearer ${alice.secret}`, ...extra]));
      await c.waitFor((t) => t.includes('server-hello;'), 5000, 'the 101');
      expect(firstResponse(c.text()).status).toBe(101);
      return upgrades[before] as Upgrade;
    } finally {
      c.destroy();
    }
  }

  it('hop-by-hop request headers are not forwarded, as on plain requests', async () => {
    const up = await upgradeWith(['Proxy-Authorization: Basic dXNlcjpwYXNz', 'Proxy-Connection: keep-alive', 'Keep-Alive: timeout=30', 'TE: trailers']);
    expect(['proxy-authorization', 'proxy-connection', 'keep-alive', 'te'].filter((h) => up.headers.has(h))).toEqual([]);
  });

  it('client-sent X-Forwarded-For, -Proto and -Host are replaced (no trusted proxies), as on plain requests', async () => {
    const up = await upgradeWith(['X-Forwarded-For: 203.0.113.9', 'X-Forwarded-Proto: https', 'X-Forwarded-Host: evil.example']);
    expect(up.headers.get('x-forwarded-for')).toEqual(['127.0.0.1']);
    expect(up.headers.get('x-forwarded-proto')).toEqual(['http']);
    expect(up.headers.get('x-forwarded-host')).toEqual(['ws.example.test']);
  });
});

describe('a spoof through the Connection header', () => {
  it('Connection naming X-Authenticated-User does not remove the injected identity', async () => {
    const before = upgrades.length;
    const c = await openRaw(gw.port);
    try {
      c.write(handshake('/api/applications/7/ws', randomBytes(16).toString('base64'), [
        `Authorization: Bearer ${alice.secret}`,
        'Connection: Upgrade, X-Authenticated-User',
        'X-Authenticated-User: root',
      ]).replace('Connection: Upgrade\r\n', ''));
      await c.waitFor((t) => t.includes('server-hello;'), 5000, 'the 101');
      expect(firstResponse(c.text()).status).toBe(101);
      expect(upgrades[before]?.headers.get('x-authenticated-user')).toEqual(['alice']);
    } finally {
      c.destroy();
    }
  });
});

describe('refused upgrades never reach the upstream', () => {
  it.each([
    ['no credential', 401, 'missing_credentials', [] as string[]],
    ['an unknown key', 401, 'invalid_key', [`Authorization: Bearer ${newKey().secret}`]],
    ['a key without the route action', 403, 'forbidden', [`Authorization: Bearer ${bob.secret}`]],
  ])('%s: %i %s as JSON on the socket, then closed', async (_name, status, code, extra) => {
    const before = { upgrades: upgrades.length, connections: upstreamConnections, requests: upstreamRequests };
    const c = await openRaw(gw.port);
    try {
      c.write(handshake('/api/applications/7/ws', randomBytes(16).toString('base64'), extra));
      expect(await c.closed(5000)).toBe(true);
      const r = firstResponse(c.text());
      expect(r.status).toBe(status);
      expect(r.headers.get('content-type')).toEqual(['application/json']);
      expect(JSON.parse(r.body)).toMatchObject({ error: { code } });
      expect(afterHead(c.text())).toBe(r.body); // nothing after the error: no tunnel
      await until(() => upgrades.length > before.upgrades || upstreamConnections > before.connections, 200);
      expect(upgrades.length).toBe(before.upgrades);
      expect(upstreamConnections).toBe(before.connections);
      expect(upstreamRequests).toBe(before.requests);
    } finally {
      c.destroy();
    }
  });
});

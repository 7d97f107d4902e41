import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';
import { firstResponse, openRaw } from '../helpers/sockets.ts';

/**
 * console-cookie-upstream.test.ts: keygate's own cookies are kept from upstreams both ways. On a
 * WebSocket handshake the upstream's 101 (written by http-proxy-3, not by the plain proxy path)
 * still carried `Set-Cookie: keygate_session=…`, which a browser stores for the console's host.
 * It is now removed there too, and from a refusal answered on that path; the app's cookies pass.
 */
const alice = newKey();
let up: TestUpstream;
let gw: TestGateway;
const sockets: Socket[] = [];
const seenCookies: (string | undefined)[] = [];

beforeAll(async () => {
  up = await startUpstream();
  up.server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    sockets.push(socket);
    seenCookies.push(req.headers.cookie);
    socket.on('error', () => socket.destroy());
    if (req.url === '/ws/refuse') {
      socket.end('HTTP/1.1 403 Forbidden\r\nSet-Cookie: keygate_session=planted403; Path=/\r\nSet-Cookie: app=1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key'] ?? ''}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSet-Cookie: keygate_session=planted101; Path=/console/api\r\nSet-Cookie: app=2\r\n\r\n`);
  });
  gw = await startTestGateway(`
log: { level: silent }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: ws, path: "/ws/*", upstream: app, action: application:view }
principals:
  - { name: alice, kind: user, roles: [viewer], keys: [{ id: alice-1, hash: "${alice.hash}" }] }
`);
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await gw?.close();
  await up?.close();
});

async function handshake(path: string) {
  const c = await openRaw(gw.port);
  try {
    c.write([`GET ${path} HTTP/1.1`, 'Host: t', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13',
      `Authorization: Bearer ${alice.secret}`, 'Cookie: keygate_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; app=0', '', ''].join('\r\n'));
    return firstResponse(await c.waitFor((t) => t.includes('\r\n\r\n'), 5000, 'the handshake response'));
  } finally {
    c.destroy();
  }
}

describe('keygate\'s own cookies on the WebSocket path', () => {
  it('the 101 does not set keygate_session; the app\'s cookie passes; the upstream never got ours', async () => {
    const r = await handshake('/ws/socket');
    expect(r.status).toBe(101);
    expect(r.headers.get('set-cookie')).toEqual(['app=2']);
    expect(seenCookies.at(-1)).toBe('app=0');
  });

  it('nor does a refusal relayed on that path', async () => {
    const r = await handshake('/ws/refuse');
    expect(r.status).toBe(403);
    expect(r.headers.get('set-cookie')).toEqual(['app=1']);
  });
});

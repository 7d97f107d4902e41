import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'undici';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { adminApi } from '../helpers/admin.ts';
import { serverFrame, startWsUpstream, type TestWsUpstream } from '../helpers/ws-upstream.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Issue 10, item 6: a WebSocket is authorized at its handshake, and used to live on after its
 * principal was disabled or its key expired, revoked or rotated past the grace period. Now every
 * replica ends such sessions with a Close frame 1008 (policy violation), to the client and to
 * the upstream, as soon as the invalidation reaches it — or, for an expiry, when the time comes.
 * Two replicas on one real Redis: the change is made through one, sessions live on both.
 */
const TOKEN = 'admin-token-for-ws-revocation-01234';
/** The push-revocation bound: an invalidation crosses Redis pub/sub in milliseconds. */
const PUSH_BOUND_MS = 1000;
let redis: TestRedis;
let ws: TestWsUpstream;
let a: TestGateway;
let b: TestGateway;
let call: ReturnType<typeof adminApi>;

beforeAll(async () => {
  redis = await startRedis();
  ws = await startWsUpstream();
  const yaml = `
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}" }
upstreams: { live: { url: "${ws.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: live, path: "/live/*", upstream: live, action: application:view }
`;
  a = await startTestGateway(yaml);
  b = await startTestGateway(yaml);
  call = adminApi(a.adminUrl, TOKEN);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await ws?.close();
  await redis?.stop();
});

interface Client {
  socket: WebSocket;
  messages: string[];
  closed: Promise<{ code: number; reason: string; at: number }>;
}

async function connect(gw: TestGateway, secret: string, path = '/live/feed'): Promise<Client> {
  const socket = new WebSocket(`${gw.url.replace('http', 'ws')}${path}`, { headers: { authorization: `Bearer ${secret}` } });
  const messages: string[] = [];
  socket.addEventListener('message', (e) => messages.push(String(e.data)));
  const closed = new Promise<{ code: number; reason: string; at: number }>((r) =>
    socket.addEventListener('close', (e) => r({ code: e.code, reason: e.reason, at: Date.now() })));
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve());
    socket.addEventListener('error', () => reject(new Error('websocket failed to open')));
  });
  // Round trip through the upstream: the session works.
  socket.send('hello');
  await waitFor('echo', () => (messages.includes('hello') ? true : undefined));
  return { socket, messages, closed };
}

async function principalWithKey(name: string, key: Record<string, unknown> = {}): Promise<{ secret: string; id: string; principalId: string }> {
  const p = await call<{ id: string }>('POST', '/v1/principals', { name, kind: 'service', roles: ['viewer'] });
  expect(p.status).toBe(201);
  const k = await call<{ secret: string; key: { id: string } }>('POST', '/v1/keys', { principal: name, ...key });
  expect(k.status).toBe(201);
  return { secret: k.body.secret, id: k.body.key.id, principalId: p.body.id };
}

function upstreamSessionOf(principal: string) {
  return ws.sessions.filter((s) => s.headers['x-authenticated-user'] === principal);
}

describe('open WebSockets end when their credential stops being valid', () => {
  it('disabling the principal on one replica closes its sessions on both, with 1008, both ways', { timeout: 20_000 }, async () => {
    const k = await principalWithKey('ws-disabled');
    const bystander = await principalWithKey('ws-bystander');
    const onA = await connect(a, k.secret);
    const onB = await connect(b, k.secret);
    const other = await connect(b, bystander.secret);

    const t0 = Date.now();
    expect((await call('POST', `/v1/principals/ws-disabled/disable`)).status).toBe(200);
    for (const c of [onA, onB]) {
      const closed = await c.closed;
      expect(closed).toMatchObject({ code: 1008, reason: 'principal_disabled' });
      expect(closed.at - t0).toBeLessThan(PUSH_BOUND_MS);
    }
    // The upstream was told too, in the client's place (a masked Close it could parse).
    const ups = upstreamSessionOf('ws-disabled');
    expect(ups).toHaveLength(2);
    await waitFor('upstream sessions closed', () => (ups.every((s) => s.closedWith !== null && s.ended) ? true : undefined));
    expect(ups.map((s) => s.closedWith?.code)).toEqual([1008, 1008]);

    // Another principal's session is untouched and still carries messages.
    other.socket.send('still here');
    await waitFor('bystander echo', () => (other.messages.includes('still here') ? true : undefined));
    expect(other.socket.readyState).toBe(WebSocket.OPEN);
    other.socket.close();
  });

  it('expiring the key now closes it everywhere; a key past its expiry time closes with no write at all', { timeout: 20_000 }, async () => {
    const k = await principalWithKey('ws-expired');
    const onB = await connect(b, k.secret);
    expect((await call('POST', `/v1/keys/${k.id}/expire`)).status).toBe(200);
    expect(await onB.closed).toMatchObject({ code: 1008, reason: 'key_expired' });

    // Nothing is published when a clock passes a date: a timer per session does it.
    const soon = await principalWithKey('ws-expiring', { expiresIn: '2s' });
    const opened = Date.now();
    const onA = await connect(a, soon.secret);
    const onB2 = await connect(b, soon.secret);
    for (const c of [onA, onB2]) {
      const closed = await c.closed;
      expect(closed).toMatchObject({ code: 1008, reason: 'key_expired' });
      expect(closed.at - opened).toBeGreaterThanOrEqual(1500);
      expect(closed.at - opened).toBeLessThan(2000 + PUSH_BOUND_MS);
    }
  });

  it('rotating closes the old key\'s sessions when the grace period ends, not before', { timeout: 20_000 }, async () => {
    const k = await principalWithKey('ws-rotated');
    const onB = await connect(b, k.secret);
    const t0 = Date.now();
    const r = await call<{ secret: string }>('POST', `/v1/keys/${k.id}/rotate`, { grace: '2s' });
    expect(r.status).toBe(201);
    const withNew = await connect(a, r.body.secret);
    await new Promise((res) => setTimeout(res, 1000));
    expect(onB.socket.readyState).toBe(WebSocket.OPEN); // inside the grace period
    const closed = await onB.closed;
    expect(closed).toMatchObject({ code: 1008, reason: 'key_expired' });
    expect(closed.at - t0).toBeGreaterThanOrEqual(1500);
    expect(closed.at - t0).toBeLessThan(2000 + PUSH_BOUND_MS);
    expect(withNew.socket.readyState).toBe(WebSocket.OPEN); // the new key's session lives on
    withNew.socket.close();
  });

  it('deleting the key closes its sessions, and a frame in flight is delivered whole before the Close', { timeout: 20_000 }, async () => {
    const k = await principalWithKey('ws-deleted');
    const onB = await connect(b, k.secret);
    const up = upstreamSessionOf('ws-deleted')[0];
    if (up === undefined) throw new Error('no upstream session');
    // The upstream starts a 200 kB message and sends only its first half...
    const big = 'x'.repeat(200_000);
    const frame = serverFrame(0x1, Buffer.from(big));
    up.socket.write(frame.subarray(0, 100_000));
    await new Promise((res) => setTimeout(res, 100));
    expect((await call('DELETE', `/v1/keys/${k.id}`)).status).toBe(204);
    await new Promise((res) => setTimeout(res, 200));
    // ...and the rest after the revocation: keygate waits for the frame's end to send its Close.
    up.socket.write(frame.subarray(100_000));
    const closed = await onB.closed;
    expect(closed).toMatchObject({ code: 1008, reason: 'key_deleted' });
    expect(onB.messages.at(-1)).toBe(big);
  });
});

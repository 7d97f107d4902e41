import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';
import { firstResponse, openRaw, type RawConnection } from '../helpers/sockets.ts';

/**
 * On a route that reads a `userKey` from the body, every JSON body is read, up to
 * `credentials.body.maxBytes`, before anyone is authenticated. Nothing bounded the total: a
 * client opening many connections, each sending most of a maximal body and then stalling, made
 * keygate hold maxBytes per connection until the request timeout (1 MiB by default, 64 MiB at
 * most: thousands of connections, gigabytes). Bodies being read now share
 * `credentials.body.maxBufferedBytes`; past it a request is 503 `body_buffers_full` at once.
 */
const alice = newKey('alice_');
let up: TestUpstream;
let gw: TestGateway;
const open: RawConnection[] = [];

beforeAll(async () => {
  up = await startUpstream();
  gw = await startTestGateway(`
log: { level: silent }
server: { requestTimeout: 30s }
credentials: { body: { enabled: true, maxBytes: 4096, maxBufferedBytes: 8192 } }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes:
  - { name: mend, path: /api/v1.4, methods: [POST], upstream: app, action: application:view, credentials: [body] }
principals:
  - { name: alice, kind: user, roles: [viewer], keys: [{ id: alice-1, hash: "${alice.hash}" }] }
`);
});
afterAll(async () => {
  for (const c of open) c.destroy();
  await gw?.close();
  await up?.close();
});

/** A JSON upload declared 4000 bytes long, of which `sent` are sent; the rest never comes. */
async function stalled(sent: number): Promise<RawConnection> {
  const c = await openRaw(gw.port);
  open.push(c);
  c.write(`POST /api/v1.4 HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{"pad":"${'x'.repeat(sent - 9)}`);
  return c;
}

describe('bodies being read for a credential share one budget', () => {
  it('stalled uploads fill it; an upload past it is 503 at once, nothing forwarded', async () => {
    // Three uploads of 3500 bytes cannot all be held in 8192: whichever is read past the budget
    // is answered (the others wait for bytes that never come).
    const conns = [await stalled(3500), await stalled(3500), await stalled(3500)];
    const answered = await Promise.any(conns.map((c) => c.waitFor((t) => t.includes('\r\n\r\n'), 5000, 'a response to the upload past the budget')));
    const res = firstResponse(answered);
    expect(res.status).toBe(503);
    expect(answered).toContain('body_buffers_full');
    expect(up.received).toEqual([]);
  });

  it('once the stalled uploads are gone, a real request is read and forwarded', async () => {
    for (const c of open.splice(0)) c.destroy();
    // The budget is given back as each aborted upload is noticed: try until it has been.
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      const res = await request(`${gw.url}/api/v1.4`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userKey: alice.secret, x: 'y'.repeat(3000) }) });
      await res.body.dump();
      status = res.statusCode;
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe(200);
    expect(up.received).toHaveLength(1);
  });
});

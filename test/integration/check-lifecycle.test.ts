import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { loadConfigText } from '../../src/config/load.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Issue 13: the check listener lives and dies with the gateway. A reload changes its decisions
 * at once (routes, roles and keys are the generation's); its address is bound at start; a
 * shutdown lets an in-flight check finish, then closes the port.
 */
const viewer = newKey();
const body = Buffer.from(JSON.stringify({ requestType: 'scan', userKey: viewer.secret }));

function yaml(viewerActions: string, check = 'check: {}'): string {
  return `
${check}
credentials: { body: { enabled: true } }
roles: { viewer: { actions: [${viewerActions}] } }
routes:
  - { name: scan, path: /agent/scan, methods: [POST], action: application:view, credentials: [body] }
  - { name: apps, path: "/api/applications/:appId/*", action: application:view }
principals:
  - { name: ci-bot, kind: service, roles: [viewer], keys: [{ id: ci-bot-1, hash: "${viewer.hash}" }] }
`;
}

function configOf(text: string) {
  const loaded = loadConfigText(text, 'reload.yaml', {});
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.config;
}

async function checkStatus(base: string): Promise<number> {
  const res = await request(`${base}/check`, { headers: { 'x-original-method': 'GET', 'x-original-uri': '/api/applications/7/x', authorization: `Bearer ${viewer.secret}` } });
  await res.body.text();
  return res.statusCode;
}

describe('check listener lifecycle', () => {
  it('a reload changes decisions at once; a new check address is logged as needing a restart', async () => {
    const gw = await startTestGateway(yaml('application:view'));
    try {
      expect(await checkStatus(gw.checkUrl)).toBe(200);
      const next = configOf(yaml('application:other'));
      Object.assign(next.check, { port: 0, host: '127.0.0.1' });
      await gw.applyConfig(next);
      expect(await checkStatus(gw.checkUrl)).toBe(403);
      const moved = configOf(yaml('application:view', 'check: { port: 18081 }'));
      await gw.applyConfig(moved);
      // Still served where it listens, on the new generation's roles.
      expect(await checkStatus(gw.checkUrl)).toBe(200);
      expect(await gw.logs()).toContain('check listener address changes take effect on restart');
    } finally {
      await gw.close();
    }
  });

  it('shutdown answers an in-flight check, then the port is closed', async () => {
    const gw = await startTestGateway(yaml('application:view', 'check: { withRequestBody: true }'));
    const port = gw.checkPort as number;
    // An Envoy check whose buffered body is still arriving when the shutdown starts.
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(`POST /envoy/agent/scan HTTP/1.1\r\nHost: api.test\r\nContent-Type: application/json\r\nx-envoy-auth-partial-body: false\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body.subarray(0, 10));
    // Give the listener the request head before the shutdown starts.
    await new Promise((r) => setTimeout(r, 100));
    const stopped = gw.close();
    socket.write(body.subarray(10));
    await closed;
    await stopped;
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.toLowerCase()).toContain('x-authenticated-user: ci-bot');
    const refused = await new Promise<string>((r) => {
      const s = connect(port, '127.0.0.1');
      s.on('connect', () => { s.destroy(); r('connected'); });
      s.on('error', (e: NodeJS.ErrnoException) => r(e.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('a check that arrives while draining is answered at once with Connection: close', async () => {
    // Decisions on a cached key are answered in the tick that parsed them: the drain listener
    // must run before the answer is written, or setting Connection: close would throw.
    const gw = await startTestGateway(yaml('application:view', 'check: { withRequestBody: true }'));
    const port = gw.checkPort as number;
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    await new Promise<void>((r) => socket.once('connect', () => r()));
    // Warm the key cache, so the second check below decides synchronously.
    socket.write(`GET /check HTTP/1.1\r\nHost: api.test\r\nX-Original-Method: GET\r\nX-Original-URI: /api/applications/7/x\r\nAuthorization: Bearer ${viewer.secret}\r\n\r\n`);
    await waitFor('the first answer', () => (answer.includes('\r\n\r\n') ? true : undefined));
    // In flight when the shutdown starts: an Envoy check whose body is still arriving.
    socket.write(`POST /envoy/agent/scan HTTP/1.1\r\nHost: api.test\r\nContent-Type: application/json\r\nx-envoy-auth-partial-body: false\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body.subarray(0, 10));
    await new Promise((r) => setTimeout(r, 100));
    const stopped = gw.close();
    // The rest of the body and, pipelined behind it, a check node parses only once draining.
    socket.write(Buffer.concat([body.subarray(10), Buffer.from(`GET /check HTTP/1.1\r\nHost: api.test\r\nX-Original-Method: GET\r\nX-Original-URI: /api/applications/7/x\r\nAuthorization: Bearer ${viewer.secret}\r\n\r\n`)]));
    await closed;
    await stopped;
    const statuses = [...answer.matchAll(/^HTTP\/1\.1 (\d+) /gm)].map((m) => m[1]);
    expect(statuses).toEqual(['200', '200', '200']);
    expect(answer.toLowerCase().split('http/1.1 ').at(-1)).toContain('connection: close');
  });

  it('rate limits apply to decisions as to proxied requests (429 with Retry-After)', async () => {
    const gw = await startTestGateway(yaml('application:view').replace('roles: { viewer: { actions: [application:view] } }', 'limits: { tiny: { rate: 2/m } }\nroles: { viewer: { actions: [application:view], limit: tiny } }'));
    try {
      const statuses: number[] = [];
      let retryAfter: string | string[] | undefined;
      for (let i = 0; i < 4; i++) {
        const res = await request(`${gw.checkUrl}/check`, { headers: { 'x-original-method': 'GET', 'x-original-uri': '/api/applications/7/x', authorization: `Bearer ${viewer.secret}` } });
        await res.body.text();
        statuses.push(res.statusCode);
        if (res.statusCode === 429) retryAfter = res.headers['retry-after'];
      }
      expect(statuses).toEqual([200, 200, 429, 429]);
      expect(Number(retryAfter)).toBeGreaterThan(0);
    } finally {
      await gw.close();
    }
  });

  it('is not started without a check section', async () => {
    const gw = await startTestGateway(`
upstreams: { app: { url: "http://127.0.0.1:1" } }
routes:
  - { name: apps, path: "/api/*", upstream: app, public: true }
`);
    try {
      expect(gw.checkPort).toBeNull();
      expect(gw.checkUrl).toBe('');
      await waitFor('the gateway to answer', () => (gw.port > 0 ? true : undefined));
    } finally {
      await gw.close();
    }
  });
});

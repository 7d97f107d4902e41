/**
 * The refused-credential limit (issue 14) counts per client address: a guesser cannot dodge it
 * by sending a different X-Forwarded-For on each request (only trusted proxies are believed),
 * and behind a trusted proxy each original client has its own bucket, so one guesser does not
 * lock out everyone behind the same proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { newKey } from '../helpers/keys.ts';

const valid = newKey();

let up: TestUpstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(async () => {
  await up?.close();
});

const config = (trusted: string) => `
log: { level: silent }
server: { trustedProxies: [${trusted}] }
limiter: { refusedCredentials: { rate: 1/h, burst: 2 } }
upstreams: { app: { url: "${up.url}" } }
roles: { viewer: { actions: [application:view] } }
routes: [{ name: app, path: "/api/*", upstream: app, action: application:view }]
principals: [{ name: nat-user, kind: user, roles: [viewer], keys: [{ id: nat-1, hash: "${valid.hash}" }] }]
`;

async function guess(gw: TestGateway, i: number, xff: string): Promise<string> {
  const res = await request(`${gw.url}/api/x`, { headers: { authorization: `Bearer guess-${i}-${'x'.repeat(24)}`, 'x-forwarded-for': xff } });
  return (JSON.parse(await res.body.text()) as { error: { code: string } }).error.code;
}

describe('refused credentials are counted per client address', () => {
  it('from an untrusted peer, a new X-Forwarded-For per request changes nothing', async () => {
    const gw = await startTestGateway(config(''));
    try {
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push(await guess(gw, i, `203.0.113.${i}`));
      expect(codes).toEqual(['invalid_key', 'invalid_key', 'too_many_failed_credentials', 'too_many_failed_credentials']);
      // A valid key from the same (blocked) address is known without a lookup: still served.
      const ok = await request(`${gw.url}/api/x`, { headers: { authorization: `Bearer ${valid.secret}` } });
      await ok.body.dump();
      expect(ok.statusCode).toBe(200);
    } finally {
      await gw.close();
    }
  });

  it('behind a trusted proxy, each original client has its own bucket', async () => {
    const gw = await startTestGateway(config('"127.0.0.1"'));
    try {
      const a = [];
      for (let i = 0; i < 3; i++) a.push(await guess(gw, i, '203.0.113.7'));
      expect(a).toEqual(['invalid_key', 'invalid_key', 'too_many_failed_credentials']);
      expect(await guess(gw, 9, '198.51.100.1')).toBe('invalid_key');
    } finally {
      await gw.close();
    }
  });
});

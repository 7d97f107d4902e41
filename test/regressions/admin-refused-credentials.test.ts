/**
 * limiter.refusedCredentials held guesses back on the proxy, but the admin listener — reachable by
 * people once the console is offered to them — answered every wrong admin token or key, at line
 * rate, each unknown key a key-store lookup: an operator-chosen admin token could be guessed
 * online. Wrong admin credentials (Bearer on /v1, the console's sign-in form) now spend a
 * per-address budget the same way; the right admin token is still answered from that address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

const TOKEN = 'admin-refused-credentials-token-0123456';
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
log: { level: silent }
server: { trustedProxies: ["127.0.0.1"] }
limiter: { refusedCredentials: { rate: 1/h, burst: 2 } }
upstreams: { app: { url: "http://127.0.0.1:9" } }
routes: [{ name: health, path: /health, upstream: app, public: true }]
`);
});
afterAll(async () => {
  await gw?.close();
});

async function bearer(token: string, xff: string): Promise<{ status: number; code: string | null }> {
  const res = await request(`${gw.adminUrl}/v1/principals`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': xff } });
  const body = (await res.body.json()) as { error?: { code: string } };
  return { status: res.statusCode, code: body.error?.code ?? null };
}

async function signIn(token: string, xff: string): Promise<{ status: number; code: string | null }> {
  const res = await request(`${gw.adminUrl}/console/api/session`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': xff }, body: JSON.stringify({ token }) });
  const body = (await res.body.json()) as { error?: { code: string } };
  return { status: res.statusCode, code: body.error?.code ?? null };
}

describe('wrong admin credentials are counted per address', () => {
  it('/v1 Bearer guesses: 401 until the budget is spent, then 429; the right token still works', async () => {
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await bearer(`guess-${i}-${'x'.repeat(20)}`, '203.0.113.70')).code);
    expect(codes).toEqual(['unauthorized', 'unauthorized', 'too_many_failed_credentials', 'too_many_failed_credentials']);
    expect(await bearer(TOKEN, '203.0.113.70')).toEqual({ status: 200, code: null });
  });

  it('the console sign-in form spends the same budget; another address is not affected', async () => {
    expect((await signIn('guess-form-0123456789', '203.0.113.70')).code).toBe('too_many_failed_credentials');
    expect((await signIn('guess-form-0123456789', '198.51.100.70')).code).toBe('unauthorized');
    expect((await signIn(TOKEN, '203.0.113.70')).status).toBe(200);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/ports.ts';
import { adminApi } from '../helpers/admin.ts';
import { exchange, parseSetCookie, type ConsoleResponse } from '../helpers/console.ts';

/**
 * OpenID Connect sign-in against a real provider (the `oidc-provider` package on loopback),
 * driven the way a browser would, with plain HTTP requests: keygate's redirect, the provider's
 * authorization endpoint and interaction (answered here by a test-chosen account instead of a
 * login form), the redirect back with a code, keygate's callback and the session it opens.
 */
const TOKEN = 'oidc-admin-token-0123456789abcdef';
const SECRET = 'console-client-secret-0123456789abcdef';

/** Account id (the provider's `sub`) → its email claims. */
interface Account { email: string; email_verified: boolean }
const accounts = new Map<string, Account>([
  ['sub-alice', { email: 'alice@example.com', email_verified: true }],
  ['sub-carol', { email: 'carol@example.com', email_verified: true }],
  ['sub-mallory', { email: 'mallory@example.com', email_verified: false }],
  ['sub-svc', { email: 'ci@example.com', email_verified: true }],
]);
/** The account the next interaction signs in as (what a person would type at the provider). */
let nextAccount = 'sub-alice';

let idp: Server;
let issuer: string;
/** Email claim, creates users with a default role; confidential client. */
let byEmail: TestGateway;
/** `sub` matched against metadata.oidc_sub, no creation; public client (PKCE only). */
let bySub: TestGateway;
let admin: ReturnType<typeof adminApi>;

async function startProvider(redirects: { id: string; uri: string; secret?: string }[]): Promise<void> {
  let provider: Provider | undefined;
  idp = createServer((req, res) => {
    if (provider === undefined) return void res.writeHead(503).end();
    if (req.url?.startsWith('/interaction/')) {
      const p = provider;
      void (async () => {
        const details = await p.interactionDetails(req, res);
        // A person who says no at the provider (or a provider that fails), with words of its own.
        if (nextAccount.startsWith('error:')) {
          const [, error = '', description = ''] = nextAccount.split(':', 3);
          await p.interactionFinished(req, res, { error, error_description: description }, { mergeWithLastSubmission: false });
          return;
        }
        const grant = new p.Grant({ accountId: nextAccount, clientId: String(details.params['client_id']) });
        grant.addOIDCScope(String(details.params['scope']));
        const grantId = await grant.save();
        await p.interactionFinished(req, res, { login: { accountId: nextAccount }, consent: { grantId } }, { mergeWithLastSubmission: false });
      })().catch((e: unknown) => res.writeHead(500).end(String(e)));
      return;
    }
    provider.callback()(req, res);
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  provider = new Provider(issuer, {
    clients: redirects.map((c) => ({
      client_id: c.id,
      ...(c.secret === undefined ? { token_endpoint_auth_method: 'none' } : { client_secret: c.secret }),
      redirect_uris: [c.uri], grant_types: ['authorization_code'], response_types: ['code'],
    })),
    async findAccount(_ctx, id) {
      const a = accounts.get(id);
      if (a === undefined) return undefined;
      return { accountId: id, claims: () => ({ sub: id, email: a.email, email_verified: a.email_verified }) };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false } },
    cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
    pkce: { required: () => true },
  });
}

interface Login {
  /** keygate's answer to the callback. */
  callback: ConsoleResponse;
  /** The URL the provider redirected the browser to (code, state, iss), for replays. */
  callbackUrl: string;
  loginCookie: string;
}

/** One browser's sign-in: follows every redirect by hand, keeping the provider's cookies and keygate's login cookie. */
async function signInThroughIdp(gw: TestGateway, account: string): Promise<Login> {
  nextAccount = account;
  const start = await exchange(`${gw.adminUrl}/console/oidc/login`);
  expect(start.status).toBe(302);
  const bind = parseSetCookie(start.setCookies[0] as string);
  expect(bind.name).toBe('keygate_oidc');
  expect(bind.attrs.get('samesite')).toBe('Lax');
  expect(bind.attrs.has('httponly')).toBe(true);
  const loginCookie = `keygate_oidc=${bind.value}`;
  const auth = new URL(String(start.headers.location));
  expect(auth.origin).toBe(issuer);
  expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
  for (const p of ['state', 'nonce', 'code_challenge']) expect(auth.searchParams.get(p)).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  const jar = new Map<string, string>();
  let url = auth.href;
  for (let hop = 0; hop < 10; hop++) {
    const r = await exchange(url, { headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const line of r.setCookies) {
      const c = parseSetCookie(line);
      jar.set(c.name, c.value);
    }
    if (r.status < 300 || r.status >= 400) throw new Error(`provider answered ${r.status}: ${r.text.slice(0, 300)}`);
    const next = new URL(String(r.headers.location), url);
    if (next.origin === gw.adminUrl) {
      const callback = await exchange(next.href, { headers: { cookie: loginCookie } });
      return { callback, callbackUrl: next.href, loginCookie };
    }
    url = next.href;
  }
  throw new Error('too many redirects');
}

/** A failed sign-in sends the browser back to the console's sign-in screen with the code, and opens no session. */
function expectSignInError(r: ConsoleResponse, code: string): void {
  expect([r.status, r.headers.location], r.text).toEqual([302, `/console/#/sign-in?error=${code}`]);
  expect(r.headers['cache-control']).toBe('no-store');
  expect(r.setCookies.some((c) => parseSetCookie(c).name === 'keygate_session' && parseSetCookie(c).value !== '')).toBe(false);
}

function sessionCookieOf(r: ConsoleResponse): string {
  const c = r.setCookies.map(parseSetCookie).find((x) => x.name === 'keygate_session' && x.value !== '');
  if (c === undefined) throw new Error(`no session cookie: ${r.status} ${r.text}`);
  return `keygate_session=${c.value}`;
}

beforeAll(async () => {
  const [p1, p2] = [await freePort(), await freePort()];
  const cb1 = `http://127.0.0.1:${p1}/console/oidc/callback`;
  const cb2 = `http://127.0.0.1:${p2}/console/oidc/callback`;
  await startProvider([{ id: 'keygate-email', uri: cb1, secret: SECRET }, { id: 'keygate-sub', uri: cb2 }]);
  const common = `
admin: { token: "${TOKEN}" }
upstreams: { app: { url: "http://127.0.0.1:9" } }
roles:
  self-service: { actions: [keygate:admin:keys:own] }
  no-admin: { actions: [application:view] }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
`;
  byEmail = await startTestGateway(`${common}
console:
  oidc: { issuer: "${issuer}", clientId: keygate-email, clientSecret: "\${OIDC_SECRET}", redirectUri: "${cb1}", claim: email, createUsers: true, defaultRole: self-service }
`, { adminPort: p1, env: { OIDC_SECRET: SECRET } });
  bySub = await startTestGateway(`${common}
console:
  oidc: { issuer: "${issuer}", clientId: keygate-sub, redirectUri: "${cb2}", claim: sub, principalField: metadata.oidc_sub }
`, { adminPort: p2 });
  admin = adminApi(byEmail.adminUrl, TOKEN);
  await admin('POST', '/v1/principals', { name: 'alice@example.com', kind: 'user', roles: ['self-service'] });
  await admin('POST', '/v1/principals', { name: 'ci@example.com', kind: 'service', roles: ['self-service'] });
  const subAdmin = adminApi(bySub.adminUrl, TOKEN);
  expect((await subAdmin('POST', '/v1/principals', { name: 'alice.liddell', kind: 'user', roles: ['self-service'], metadata: { oidc_sub: 'sub-alice' } })).status).toBe(201);
  expect((await subAdmin('POST', '/v1/principals', { name: 'carol.noadmin', kind: 'user', roles: ['no-admin'], metadata: { oidc_sub: 'sub-carol' } })).status).toBe(201);
});
afterAll(async () => {
  await byEmail?.close();
  await bySub?.close();
  await new Promise((r) => idp?.close(r));
});

describe('OIDC sign-in', () => {
  it('config says OIDC is on', async () => {
    const r = await exchange(`${byEmail.adminUrl}/console/api/config`);
    expect(r.body).toMatchObject({ oidc: { enabled: true, loginUrl: '/console/oidc/login' } });
  });

  it('maps a verified email to the existing user principal and opens a session', async () => {
    const { callback } = await signInThroughIdp(byEmail, 'sub-alice');
    expect(callback.status, callback.text).toBe(302);
    expect(callback.headers.location).toBe('/console/');
    const session = callback.setCookies.map(parseSetCookie).find((c) => c.name === 'keygate_session');
    expect(session?.attrs.get('samesite')).toBe('Strict');
    expect(session?.attrs.has('httponly')).toBe(true);
    // The login cookie is spent.
    expect(callback.setCookies.map(parseSetCookie).find((c) => c.name === 'keygate_oidc')?.attrs.get('max-age')).toBe('0');
    const me = await exchange<{ principal: { name: string; kind: string }; permissions: string[]; csrfToken: string }>(`${byEmail.adminUrl}/console/api/session`, { headers: { cookie: sessionCookieOf(callback) } });
    expect(me.status).toBe(200);
    expect(me.body.principal).toMatchObject({ name: 'alice@example.com', kind: 'user' });
    expect(me.body.permissions).toEqual(['keygate:admin:keys:own']);
    // The session is a credential for "My keys".
    const made = await exchange<{ key: { principalId: string } }>(`${byEmail.adminUrl}/v1/keys`, {
      method: 'POST', json: { principal: 'alice@example.com', name: 'via oidc' }, headers: { cookie: sessionCookieOf(callback), 'x-csrf-token': me.body.csrfToken },
    });
    expect(made.status).toBe(201);
  });

  it('creates a first-time person with the default role, audited as oidc', async () => {
    expect((await admin('GET', '/v1/principals/carol@example.com')).status).toBe(404);
    const { callback } = await signInThroughIdp(byEmail, 'sub-carol');
    expect(callback.status).toBe(302);
    const p = await admin<{ id: string; kind: string; roles: string[] }>('GET', '/v1/principals/carol@example.com');
    expect(p.body).toMatchObject({ kind: 'user', roles: ['self-service'] });
    type Events = { items: { action: string; target: string; principalName: string }[] };
    let e: Events['items'][number] | undefined;
    for (let i = 0; i < 100 && e === undefined; i++) {
      e = (await admin<Events>('GET', '/v1/audit?kind=admin&limit=100')).body.items.find((x) => x.action === 'principal.create' && x.target === p.body.id);
      if (e === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(e?.principalName).toBe('oidc');
  });

  it('refuses an email the provider does not call verified, and creates nobody', async () => {
    const { callback } = await signInThroughIdp(byEmail, 'sub-mallory');
    expectSignInError(callback, 'oidc_email_unverified');
    expect(callback.setCookies.some((c) => parseSetCookie(c).name === 'keygate_session')).toBe(false);
    expect((await admin('GET', '/v1/principals/mallory@example.com')).status).toBe(404);
  });

  it('refuses a service principal of the same name', async () => {
    const { callback } = await signInThroughIdp(byEmail, 'sub-svc');
    expectSignInError(callback, 'oidc_not_user');
  });

  it('a callback is used once, and only in the browser that started the login', async () => {
    const first = await signInThroughIdp(byEmail, 'sub-alice');
    expect(first.callback.status).toBe(302);
    const replay = await exchange(first.callbackUrl, { headers: { cookie: first.loginCookie } });
    expectSignInError(replay, 'oidc_login_expired');
    // Another browser (no login cookie, or its own) presenting a code meant for someone else.
    nextAccount = 'sub-alice';
    const start = await exchange(`${byEmail.adminUrl}/console/oidc/login`);
    const elsewhere = await exchange(first.callbackUrl);
    expectSignInError(elsewhere, 'oidc_no_login');
    const otherBrowser = `keygate_oidc=${parseSetCookie(start.setCookies[0] as string).value}`;
    const stolen = await exchange(first.callbackUrl, { headers: { cookie: otherBrowser } });
    expectSignInError(stolen, 'oidc_state_mismatch');
  });

  it('a person who denies consent lands on the sign-in screen as oidc_denied; the provider\'s words are not passed on', async () => {
    const words = '<img src=x onerror=alert(1)> You said no';
    const { callback, callbackUrl } = await signInThroughIdp(byEmail, `error:access_denied:${words}`);
    // The provider did send its description back to keygate...
    expect(new URL(callbackUrl).searchParams.get('error_description')).toBe(words);
    // ...and keygate keeps it to itself.
    expectSignInError(callback, 'oidc_denied');
    expect(callback.text).not.toContain('onerror');
  });

  it('any other provider error is oidc_provider_error', async () => {
    const { callback } = await signInThroughIdp(byEmail, 'error:server_error:<script>alert(1)</script>');
    expectSignInError(callback, 'oidc_provider_error');
    expect(callback.text).not.toContain('script');
  });

  it('refuses a tampered state', async () => {
    nextAccount = 'sub-alice';
    const start = await exchange(`${byEmail.adminUrl}/console/oidc/login`);
    const cookie = `keygate_oidc=${parseSetCookie(start.setCookies[0] as string).value}`;
    const auth = new URL(String(start.headers.location));
    auth.searchParams.set('state', 'attacker-chosen-state-0000000000');
    const jar = new Map<string, string>();
    let url = auth.href;
    let back: URL | null = null;
    for (let hop = 0; hop < 10 && back === null; hop++) {
      const r = await exchange(url, { headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
      for (const line of r.setCookies) jar.set(parseSetCookie(line).name, parseSetCookie(line).value);
      const next = new URL(String(r.headers.location), url);
      if (next.origin === byEmail.adminUrl) back = next;
      url = next.href;
    }
    expect(back?.searchParams.get('state')).toBe('attacker-chosen-state-0000000000');
    const r = await exchange(String(back), { headers: { cookie } });
    expectSignInError(r, 'oidc_state_mismatch');
  });
});

describe('OIDC by sub, matched in metadata, public client', () => {
  it('signs in the principal whose metadata.oidc_sub is the sub', async () => {
    const { callback } = await signInThroughIdp(bySub, 'sub-alice');
    expect(callback.status, callback.text).toBe(302);
    const me = await exchange<{ principal: { name: string } }>(`${bySub.adminUrl}/console/api/session`, { headers: { cookie: sessionCookieOf(callback) } });
    expect(me.body.principal.name).toBe('alice.liddell');
  });

  it('refuses an unknown sub when creating users is off', async () => {
    const { callback } = await signInThroughIdp(bySub, 'sub-mallory');
    expectSignInError(callback, 'oidc_unknown_user');
  });

  it('refuses a person whose roles hold no admin action at all', async () => {
    const { callback } = await signInThroughIdp(bySub, 'sub-carol');
    expectSignInError(callback, 'oidc_no_admin_access');
  });
});

describe('OIDC provider unreachable', () => {
  it('login sends the browser back to the sign-in screen with oidc_unavailable (and sets no login cookie)', async () => {
    const dead = await freePort();
    const gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
upstreams: { app: { url: "http://127.0.0.1:9" } }
routes:
  - { name: app, path: "/api/*", upstream: app, action: application:view }
console:
  oidc: { issuer: "http://127.0.0.1:${dead}", clientId: kg, redirectUri: "http://127.0.0.1:1/console/oidc/callback" }
`);
    try {
      const r = await exchange(`${gw.adminUrl}/console/oidc/login`);
      expectSignInError(r, 'oidc_unavailable');
      expect(r.setCookies).toEqual([]);
    } finally {
      await gw.close();
    }
  });
});

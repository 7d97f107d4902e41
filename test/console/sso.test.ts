import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import type { BrowserContext, Page } from 'playwright-core';
import { proxiedStatus } from '../helpers/admin.ts';
import { freePort } from '../helpers/ports.ts';
import { cspViolations, openPage, seriousA11y, startRig, type ConsoleRig, type PageWatch } from './harness.ts';

/**
 * People sign in with "Sign in with SSO" (issue 15): the browser goes to a real OpenID Connect
 * provider (the `oidc-provider` package on loopback) and back, keygate creates their `user`
 * principal with the default role, and they land on My keys; a key they create there works
 * through the proxy as them. The provider's interaction is answered by the test (no login form):
 * the account is chosen here, as a person would choose it by typing a password.
 */
const CLIENT_SECRET = 'sso-client-secret-0123456789abcdef';
let idp: Server;
let rig: ConsoleRig;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;

async function startProvider(redirectUri: string): Promise<string> {
  let provider: Provider | undefined;
  idp = createServer((req, res) => {
    if (provider === undefined) return void res.writeHead(503).end();
    if (req.url?.startsWith('/interaction/')) {
      const p = provider;
      void (async () => {
        const details = await p.interactionDetails(req, res);
        const grant = new p.Grant({ accountId: 'sub-dana', clientId: String(details.params['client_id']) });
        grant.addOIDCScope(String(details.params['scope']));
        const grantId = await grant.save();
        await p.interactionFinished(req, res, { login: { accountId: 'sub-dana' }, consent: { grantId } }, { mergeWithLastSubmission: false });
      })().catch((e: unknown) => res.writeHead(500).end(String(e)));
      return;
    }
    provider.callback()(req, res);
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  provider = new Provider(issuer, {
    clients: [{ client_id: 'keygate-console', client_secret: CLIENT_SECRET, redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
    async findAccount(_ctx, id) {
      return { accountId: id, claims: () => ({ sub: id, email: 'dana@example.com', email_verified: true }) };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false } },
    cookies: { keys: ['sso-test-cookie-key-0123456789abcdef'] },
    pkce: { required: () => true },
  });
  return issuer;
}

beforeAll(async () => {
  const adminPort = await freePort();
  const callback = `http://127.0.0.1:${adminPort}/console/oidc/callback`;
  const issuer = await startProvider(callback);
  rig = await startRig({
    adminPort,
    extraYaml: `console:
  oidc: { issuer: "${issuer}", clientId: keygate-console, clientSecret: "${CLIENT_SECRET}", redirectUri: "${callback}", claim: email, createUsers: true, defaultRole: key-owner }`,
  });
  ({ context, page, watch } = await openPage(rig));
}, 60_000);

afterAll(async () => {
  await context?.close();
  await rig?.stop();
  await new Promise((r) => idp?.close(r));
});

describe('Sign in with SSO', () => {
  it('offers SSO beside the admin token, and goes to the provider and back into My keys', async () => {
    await page.goto(`${rig.adminUrl}/console/`);
    await page.getByLabel('Admin token').waitFor();
    expect(await seriousA11y(page)).toEqual([]);
    await page.getByRole('link', { name: 'Sign in with SSO' }).click();
    await page.getByRole('heading', { name: 'My keys' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/');
    await expect.poll(() => page.getByText('Signed in as dana@example.com').count()).toBe(1);
    // keygate created her principal with the default role.
    const { body } = await rig.admin<{ kind: string; roles: string[] }>('GET', '/v1/principals/dana@example.com');
    expect(body).toMatchObject({ kind: 'user', roles: ['key-owner'] });
  });

  it('creates a key of her own that works through the proxy as her', async () => {
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('dialog').getByLabel('Name').fill('dana-cli');
    await page.getByRole('dialog').getByRole('button', { name: 'Create', exact: true }).click();
    const secret = await page.getByLabel('Secret').inputValue();
    await page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
    const before = rig.upstream.received.length;
    expect((await proxiedStatus(rig.proxyUrl, secret)).status).toBe(200);
    expect(rig.upstream.received[before]?.headers.get('x-authenticated-user')).toEqual(['dana@example.com']);
  });

  it('signs out, and the console asks to sign in again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    await page.reload();
    await page.getByLabel('Admin token').waitFor();
    expect(await cspViolations(page, watch)).toEqual([]);
    expect(watch.errors).toEqual([]);
  });
});

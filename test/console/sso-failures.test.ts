import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import type { BrowserContext, Page } from 'playwright-core';
import { freePort } from '../helpers/ports.ts';
import { cspViolations, openPage, seriousA11y, startRig, type ConsoleRig, type PageWatch } from './harness.ts';

/**
 * A person whose "Sign in with SSO" fails lands back on the console's sign-in screen with a
 * message they can read (issue 15), not on a JSON page: an unknown user (keygate creates none
 * here), consent denied at a real OpenID Connect provider (`oidc-provider` on loopback), a
 * callback without a login, a state that does not match. Nothing the provider wrote reaches the
 * page, and a crafted `#/sign-in?error=` link cannot put words or markup on it.
 */
const CLIENT_SECRET = 'sso-failures-secret-0123456789abcdef';
const MARKUP = '<img src=x onerror=alert(1)>';
let idp: Server;
let issuer: string;
let rig: ConsoleRig;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;
/** What the provider's interaction does next: sign in as this account, or `deny`. */
let next = 'sub-erin';

async function startProvider(redirectUri: string): Promise<void> {
  let provider: Provider | undefined;
  idp = createServer((req, res) => {
    if (provider === undefined) return void res.writeHead(503).end();
    if (req.url?.startsWith('/interaction/')) {
      const p = provider;
      void (async () => {
        const details = await p.interactionDetails(req, res);
        if (next === 'deny') {
          // What the provider does when the person clicks "Cancel" at its consent screen, in its own words.
          await p.interactionFinished(req, res, { error: 'access_denied', error_description: `${MARKUP} End-User aborted interaction` }, { mergeWithLastSubmission: false });
          return;
        }
        const grant = new p.Grant({ accountId: next, clientId: String(details.params['client_id']) });
        grant.addOIDCScope(String(details.params['scope']));
        const grantId = await grant.save();
        await p.interactionFinished(req, res, { login: { accountId: next }, consent: { grantId } }, { mergeWithLastSubmission: false });
      })().catch((e: unknown) => res.writeHead(500).end(String(e)));
      return;
    }
    provider.callback()(req, res);
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  provider = new Provider(issuer, {
    clients: [{ client_id: 'keygate-console', client_secret: CLIENT_SECRET, redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
    async findAccount(_ctx, id) {
      return { accountId: id, claims: () => ({ sub: id, email: `${id.replace(/^sub-/, '')}@example.com`, email_verified: true }) };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false } },
    cookies: { keys: ['sso-failures-cookie-key-0123456789abcdef'] },
    pkce: { required: () => true },
  });
}

beforeAll(async () => {
  const adminPort = await freePort();
  const callback = `http://127.0.0.1:${adminPort}/console/oidc/callback`;
  await startProvider(callback);
  // createUsers off: only people an administrator created may sign in.
  rig = await startRig({
    adminPort,
    extraYaml: `console:
  oidc: { issuer: "${issuer}", clientId: keygate-console, clientSecret: "${CLIENT_SECRET}", redirectUri: "${callback}", claim: email, createUsers: false }`,
  });
  expect((await rig.admin('POST', '/v1/principals', { name: 'erin@example.com', kind: 'user', roles: ['key-owner'] })).status).toBe(201);
  ({ context, page, watch } = await openPage(rig));
}, 60_000);

afterAll(async () => {
  await context?.close();
  await rig?.stop();
  await new Promise((r) => idp?.close(r));
});

/** The sign-in screen keygate sent the browser to for `code`: the alert's text, with the token form still there. */
async function failureShown(code?: string): Promise<string> {
  if (code !== undefined) await page.waitForURL((u) => u.pathname === '/console/' && u.hash === `#/sign-in?error=${code}`);
  await page.getByRole('heading', { name: 'Sign-in with SSO failed' }).waitFor();
  await page.getByLabel('Admin token').waitFor();
  return (await page.getByRole('alert').textContent()) ?? '';
}

/**
 * "Sign in with SSO" as a person who has not signed in at the provider yet: its session cookies
 * (cookies ignore ports, so all of them) would otherwise let it answer for the previous person.
 */
async function clickSso(): Promise<void> {
  await context.clearCookies();
  await page.getByRole('link', { name: 'Sign in with SSO' }).click();
}

const signedIn = async () => (await page.request.get(`${rig.adminUrl}/console/api/session`)).status();
const imgCount = () => page.evaluate('document.querySelectorAll("img").length');

describe('a failed SSO sign-in lands on the sign-in screen with a readable message', () => {
  it('an unknown person (keygate creates no users here): told to ask an administrator, no session', async () => {
    next = 'sub-frank';
    await page.goto(`${rig.adminUrl}/console/`);
    await clickSso();
    expect(await failureShown('oidc_unknown_user')).toContain('You have no account in keygate yet. Ask an administrator to create your user.');
    expect(await signedIn()).toBe(401);
    expect(await seriousA11y(page)).toEqual([]);
    expect((await rig.admin('GET', '/v1/principals/frank@example.com')).status).toBe(404);
  });

  it('consent denied at the provider: said plainly; the provider\'s own words and markup stay out of the page', async () => {
    next = 'deny';
    await clickSso();
    expect(await failureShown('oidc_denied')).toContain('The sign-in was cancelled or consent was not given at the identity provider.');
    expect(await page.content()).not.toContain('aborted');
    expect(await imgCount()).toBe(0);
    expect(await signedIn()).toBe(401);
  });

  it('a callback with no login in progress, and one whose state does not match', async () => {
    await page.goto(`${rig.adminUrl}/console/oidc/callback?code=stolen-code&state=whatever&iss=${encodeURIComponent(issuer)}`);
    expect(await failureShown('oidc_no_login')).toContain('No sign-in was in progress in this browser');
    // Start a login in this browser (its login cookie set) but stop before the provider, then come back with another state.
    const begun = await page.request.get(`${rig.adminUrl}/console/oidc/login`, { maxRedirects: 0 });
    expect(begun.status()).toBe(302);
    expect(new URL(begun.headers()['location'] ?? '').searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect((await context.cookies()).map((c) => c.name)).toContain('keygate_oidc');
    await page.goto(`${rig.adminUrl}/console/oidc/callback?code=some-code&state=attacker-state-0000000000&iss=${encodeURIComponent(issuer)}`);
    expect(await failureShown('oidc_state_mismatch')).toContain('did not match the sign-in this browser started');
    expect(await signedIn()).toBe(401);
  });

  it('a crafted link cannot put words or markup on the sign-in screen', async () => {
    await page.goto(`${rig.adminUrl}/console/#/sign-in?error=${encodeURIComponent(MARKUP)}&message=${encodeURIComponent('Call 555-0100 for help')}`);
    expect(await failureShown()).toContain('The sign-in failed. Try again, or ask your administrator.');
    expect(await page.content()).not.toContain('555-0100');
    expect(await imgCount()).toBe(0);
  });

  it('after a failure the person can still sign in; the sign-in address is left behind', async () => {
    next = 'sub-erin';
    await page.goto(`${rig.adminUrl}/console/#/sign-in?error=oidc_denied`);
    await clickSso();
    await page.getByRole('heading', { name: 'My keys' }).waitFor();
    expect(new URL(page.url()).hash).not.toContain('sign-in');
    expect(await signedIn()).toBe(200);
    // With a token too, from the failure screen.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.goto(`${rig.adminUrl}/console/#/sign-in?error=oidc_unknown_user`);
    await page.getByLabel('Admin token').fill(rig.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Principals' }).waitFor();
    expect(new URL(page.url()).hash).not.toContain('sign-in');
  });

  it('no dialog, no CSP violation, no page error throughout', async () => {
    expect(watch.dialogs).toEqual([]);
    expect(await cspViolations(page, watch)).toEqual([]);
    expect(watch.errors).toEqual([]);
  });
});

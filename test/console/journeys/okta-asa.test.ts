import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { cspViolations, openPage, shot, signIn, startRig, type ConsoleRig, type PageWatch } from '../harness.ts';
import { clipboard, expectAccessible, expectNoCredential, identityOf, through, until } from './journey.ts';

/**
 * Okta Advanced Server Access's service users (seeds/okta-asa-service-users.txt), as its
 * administrators do it in the console: Create Service User, then "Create key" of type key pair:
 * the key ID and secret appear on that screen only, to copy. Automation exchanges the two for a
 * short-lived token at the token endpoint (docs/credentials.md: `POST /auth/token`) and sends it
 * as a Bearer token. "Expire now", confirmed, stops the key and every token already issued from it.
 */
const USER = 'asa-automation';
const SIGNING = 'okta-asa-journey-signing-key-0123456789abcdef';
let rig: ConsoleRig;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;
let keyId = '';
let secret = '';
const tokens: string[] = [];

async function exchange(id: string, s: string) {
  return through(rig, '/auth/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key_id: id, key_secret: s }) });
}
const withToken = (t: string) => () => through(rig, '/api/audit/events', { headers: { authorization: `Bearer ${t}` } });

beforeAll(async () => {
  rig = await startRig({ extraYaml: `tokens: { enabled: true, ttl: 1h, signingKeys: [{ id: k1, secret: "${SIGNING}" }] }` });
  ({ context, page, watch } = await openPage(rig));
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: rig.adminUrl });
  await signIn(page, rig);
}, 60_000);

afterAll(async () => {
  await context?.close();
  await rig?.stop();
});

describe('Okta ASA: a service user, its API key pair, tokens, and Expire now', () => {
  it('creates the service user', async () => {
    await page.getByText('New principal').click();
    await page.getByLabel('Name', { exact: true }).fill(USER);
    await page.getByLabel('Type').selectOption('service');
    await page.getByLabel('Roles').fill('viewer');
    await page.getByRole('button', { name: 'Create principal' }).click();
    await page.getByRole('heading', { name: USER }).waitFor();
  });

  it('"Create key" of type key pair: the key ID and the secret are shown once, each to copy', async () => {
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('elk-audit-export');
    await dialog.getByLabel(/Key pair/).check();
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();

    keyId = await dialog.getByLabel('Key ID').inputValue();
    secret = await dialog.getByLabel('Secret').inputValue();
    expect(secret).toMatch(/^\S{20,}$/);
    const listed = (await rig.admin<{ items: { id: string; type: string }[] }>('GET', `/v1/keys?principal=${USER}`)).body.items;
    expect(listed).toEqual([expect.objectContaining({ id: keyId, type: 'key_pair' })]);
    await expect.poll(() => dialog.textContent()).toMatch(/will not be shown again.*exchanged for short-lived tokens/);
    // How to get a token, with this key's id and the endpoint the gateway serves.
    const how = dialog.getByRole('region', { name: 'Getting a token' });
    await expect.poll(() => how.textContent()).toContain(`POST /auth/token`);
    expect(await how.textContent()).toContain(`"key_id": "${keyId}"`);
    expect(await how.textContent()).not.toContain(secret);
    await expectAccessible(page, 'key pair secret');
    await shot(page, 'key-pair', { doc: true });

    await dialog.getByRole('button', { name: 'Copy key ID' }).click();
    await expect.poll(() => clipboard(page)).toBe(keyId);
    await dialog.getByRole('button', { name: 'Copy', exact: true }).click();
    await expect.poll(() => clipboard(page)).toBe(secret);
    await dialog.getByRole('button', { name: 'Done' }).click();
    // Gone from the page for good once the dialog is closed.
    expect(await page.content()).not.toContain(secret);
  });

  it('exchanges the key ID and secret for a short-lived token, which works through the proxy', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await exchange(keyId, secret);
      expect(r.status).toBe(200);
      const body = JSON.parse(r.text) as { bearer_token: string; token_type: string; expires_in: number; expires_at: string };
      expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
      expect(Date.parse(body.expires_at)).toBeGreaterThan(Date.now());
      tokens.push(body.bearer_token);
    }
    for (const t of tokens) {
      const r = await withToken(t)();
      expect(r.status).toBe(200);
      expect(identityOf(r.seen)).toMatchObject({ user: USER, kind: 'service', keyId });
      expectNoCredential(r.seen, t, secret);
    }
    // The secret alone is no bearer credential, and a wrong secret gets no token.
    expect(await withToken(secret)()).toMatchObject({ status: 401, code: 'key_pair_secret_not_credential' });
    expect((await exchange(keyId, `${secret.slice(0, -2)}xx`)).status).toBe(401);
  });

  it('"Expire now" asks first; then the key and the tokens already issued are refused', async () => {
    await page.getByRole('link', { name: 'elk-audit-export' }).click();
    await page.getByRole('button', { name: 'Expire now' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.textContent()).toMatch(/cannot be undone/);
    // Cancelled (ASA's x button): nothing changes.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await withToken(tokens[0] ?? '')()).status).toBe(200);

    await page.getByRole('button', { name: 'Expire now' }).click();
    await dialog.getByRole('button', { name: 'Expire now' }).click();
    await expect.poll(() => page.locator('dd .badge').first().textContent()).toBe('expired');
    for (const t of tokens) {
      const r = await until(withToken(t), 401);
      // The token itself is valid for another hour: it is refused for the key it came from.
      expect(r, `token ${tokens.indexOf(t)} after Expire now`).toMatchObject({ status: 401, code: 'key_expired' });
    }
    // And no new token from the expired key.
    expect((await until(() => exchange(keyId, secret), 401)).status).toBe(401);
    expect(watch.errors).toEqual([]);
  });

  it('ran under the CSP without a violation', async () => {
    expect(await cspViolations(page, watch)).toEqual([]);
  });
});

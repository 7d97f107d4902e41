import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { newKey } from '../../helpers/keys.ts';
import { cspViolations, openPage, shot, signIn, startRig, type ConsoleRig, type PageWatch } from '../harness.ts';
import { clipboard, expectAccessible, expectNoCredential, identityOf, through } from './journey.ts';

/**
 * Contrast's "Create an API only user" (seeds/contrast-api-only-user.txt), as its administrators
 * do it in the console: an access group granting the applications the integration needs, Add
 * user with API access in the org, the API label in the Type column, then the connection strings
 * to copy (user name, service key, Authorization header, the org's API-Key header). The plug-in's
 * request (`Authorization: base64(user:key)` + `API-Key`) works through the proxy on the
 * applications its access group grants, and only those.
 */
const USER = 'jenkins-api@acme.example';
const ORG = newKey('acme_org_');
let rig: ConsoleRig;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;
let secret = '';
let authorization = '';
let keyId = '';

beforeAll(async () => {
  rig = await startRig({
    extraYaml: `
credentials:
  serviceKey: { enabled: true, orgHeader: API-Key, requireOrgKey: true }
orgs:
  acme: { keys: [{ id: acme-1, hash: "${ORG.hash}" }] }
`,
    routes: ['{ name: apps, path: "/api/applications/:appId/*", upstream: app, action: application:view, resource: { type: application, param: appId } }'],
  });
  ({ context, page, watch } = await openPage(rig));
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: rig.adminUrl });
  await signIn(page, rig);
}, 60_000);

afterAll(async () => {
  await context?.close();
  await rig?.stop();
});

describe('Contrast: an API-only user in an org, with access groups', () => {
  it('sets up the access group that grants the integration its applications', async () => {
    await page.getByRole('link', { name: 'Groups' }).click();
    await page.getByText('New group').click();
    await page.getByLabel('Name', { exact: true }).fill('payments-team');
    await page.getByLabel('Roles').first().fill('viewer');
    await page.getByLabel('Resources').first().fill('application: payments-api');
    await page.getByRole('button', { name: 'Create group' }).click();
    await expect.poll(async () => (await rig.admin<{ resources: unknown }>('GET', '/v1/groups/payments-team')).body.resources).toEqual({ application: ['payments-api'] });
  });

  it('adds the user with API access (Service, API-only) in the org, and the Type column says so', async () => {
    await page.getByRole('link', { name: 'Principals' }).first().click();
    await page.getByText('New principal').click();
    await page.getByLabel('Name', { exact: true }).fill(USER);
    await page.getByLabel('Type').selectOption({ label: 'Service (API-only)' });
    await page.getByLabel('Org').fill('acme');
    await page.getByRole('button', { name: 'Create principal' }).click();
    await page.getByRole('heading', { name: USER }).waitFor();
    // Contrast: assign the API-only user the access groups, not administrator roles.
    await page.getByLabel('Groups').fill('payments-team');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect.poll(async () => (await rig.admin<{ groups: string[] }>('GET', `/v1/principals/${USER}`)).body).toMatchObject({ kind: 'service', org: 'acme', roles: [], groups: ['payments-team'] });

    await page.getByRole('link', { name: 'Principals' }).first().click();
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: USER, exact: true }) });
    await expect.poll(() => row.getByRole('cell').allTextContents()).toEqual(expect.arrayContaining([USER, 'Service (API-only)', 'payments-team', 'acme']));
    await row.getByRole('link', { name: USER }).click();
    await page.getByRole('heading', { name: USER }).waitFor();
  });

  it('creates its service key and shows the connection details to copy', async () => {
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('jenkins plugin');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    secret = await dialog.getByLabel('Secret').inputValue();
    expect(secret).toMatch(/^\S{20,}$/);

    const details = dialog.getByRole('region', { name: 'Connection details' });
    expect(await details.getByLabel('Username').inputValue()).toBe(USER);
    authorization = await details.getByLabel('Authorization header').inputValue();
    expect(authorization).toBe(Buffer.from(`${USER}:${secret}`, 'utf8').toString('base64'));
    // The org key is the operator's: the header is named with the org, its secret is not there.
    await expect.poll(() => details.textContent()).toMatch(/API-Key:.*acme/);
    expect(await dialog.textContent()).not.toContain(ORG.secret);
    await expectAccessible(page, 'connection details');
    await shot(page, 'connection-details', { doc: true });

    await details.getByRole('button', { name: 'Copy Authorization header' }).click();
    await expect.poll(() => clipboard(page)).toBe(authorization);
    await details.getByRole('button', { name: 'Copy username' }).click();
    await expect.poll(() => clipboard(page)).toBe(USER);
    await dialog.getByRole('button', { name: 'Copy', exact: true }).click();
    await expect.poll(() => clipboard(page)).toBe(secret);
    // The connection strings are built in the page from the secret shown once: like it, they are
    // in no storage or URL, and gone once the dialog is closed.
    const stored = await page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })') as string;
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(authorization);
    expect(page.url()).not.toContain(authorization);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await page.reload();
    await page.getByRole('heading', { name: USER }).waitFor();
    const html = await page.content();
    expect(html).not.toContain(secret);
    expect(html).not.toContain(authorization);
    keyId = (await rig.admin<{ items: { id: string }[] }>('GET', `/v1/keys?principal=${encodeURIComponent(USER)}`)).body.items[0]?.id ?? '';
    expect(keyId).not.toBe('');
  });

  it('the plug-in\'s request with the copied Authorization and the org API-Key works through the proxy', async () => {
    const r = await through(rig, '/api/applications/payments-api/traces', { headers: { authorization, 'api-key': ORG.secret } });
    expect(r.status).toBe(200);
    expect(identityOf(r.seen)).toMatchObject({ user: USER, kind: 'service', org: 'acme', keyId });
    // Neither the service key, its header, nor the org key went on to the upstream.
    expectNoCredential(r.seen, secret, authorization, ORG.secret);
    expect(r.seen?.headers.has('api-key')).toBe(false);
  });

  it('its access group limits it to the applications the group grants (403 outside)', async () => {
    const other = await through(rig, '/api/applications/billing-api/traces', { headers: { authorization, 'api-key': ORG.secret } });
    expect(other).toMatchObject({ status: 403, code: 'forbidden' });
    // Its principal holds no role of its own: routes outside any group's grant are refused too.
    expect(await through(rig, '/api/console-check', { headers: { authorization, 'api-key': ORG.secret } })).toMatchObject({ status: 403, code: 'forbidden' });
  });

  it('needs the org key of its own org beside the service key', async () => {
    expect(await through(rig, '/api/applications/payments-api/traces', { headers: { authorization } })).toMatchObject({ status: 401, code: 'invalid_org_key' });
    // requireOrgKey is not a matter of the scheme: the same service key sent as Bearer needs it too.
    expect(await through(rig, '/api/applications/payments-api/traces', { headers: { authorization: `Bearer ${secret}` } })).toMatchObject({ status: 401, code: 'invalid_org_key' });
    const bearer = await through(rig, '/api/applications/payments-api/traces', { headers: { authorization: `Bearer ${secret}`, 'api-key': ORG.secret } });
    expect(bearer.status).toBe(200);
    expect(identityOf(bearer.seen)).toMatchObject({ user: USER, org: 'acme', keyId });
    expect(await through(rig, '/api/applications/payments-api/traces', { headers: { authorization, 'api-key': newKey('acme_org_').secret } })).toMatchObject({ status: 401, code: 'invalid_org_key' });
    // The same key under another user name is not a credential.
    const forged = Buffer.from(`someone-else:${secret}`, 'utf8').toString('base64');
    expect(await through(rig, '/api/applications/payments-api/traces', { headers: { authorization: forged, 'api-key': ORG.secret } })).toMatchObject({ status: 401, code: 'invalid_key' });
  });

  it('like Contrast\'s API-only users, it cannot sign in to the console', async () => {
    const other = await openPage(rig);
    try {
      await other.page.goto(`${rig.adminUrl}/console/`);
      await other.page.getByLabel('Admin token').fill(secret);
      await other.page.getByRole('button', { name: 'Sign in' }).click();
      await expect.poll(() => other.page.getByRole('alert').textContent()).toMatch(/forbidden/);
      expect(await other.page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
      expect(await other.context.cookies(rig.adminUrl)).toEqual([]);
    } finally {
      await other.context.close();
    }
  });

  it('ran under the CSP without a violation', async () => {
    expect(await cspViolations(page, watch)).toEqual([]);
    expect(watch.errors).toEqual([]);
  });
});

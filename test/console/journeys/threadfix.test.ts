import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { cspViolations, openPage, shot, signIn, startRig, type ConsoleRig, type PageWatch } from '../harness.ts';
import { expectAccessible, expectNoCredential, identityOf, through, until } from './journey.ts';

/**
 * ThreadFix's API Keys page (seeds/threadfix-api-keys.txt), as its administrators use it in the
 * console: "API keys" lists every user's keys; "Create key" with a user picked by typing part of
 * the name, and notes; the key shown once; Edit (notes) and Delete. The key authorizes with the
 * user's roles (`Authorization: APIKEY <key>`, ThreadFix's scheme), and, unlike ThreadFix, does
 * not outlive its user: disabling the user refuses the key at once.
 */
const USER = 'alice.tester';
let rig: ConsoleRig;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;
let secret = '';
let keyId = '';

const upload = () => through(rig, '/api/scans/upload', { method: 'POST', headers: { authorization: `APIKEY ${secret}`, 'content-type': 'application/json' }, body: '{"scan":"zap.xml"}' });

beforeAll(async () => {
  rig = await startRig({
    extraYaml: `
credentials:
  apiKey: { enabled: true, scheme: APIKEY }
`,
    roles: ['scanner: { actions: [application:view, scan:upload] }'],
    routes: ['{ name: upload, path: "/api/scans/*", methods: [POST], upstream: app, action: scan:upload }'],
  });
  // ThreadFix's users come from its user store (LDAP, SAML): here, the admin API.
  for (const [name, roles] of [[USER, ['scanner']], ['alina.viewer', ['viewer']], ['bob.builder', ['viewer']]] as const) {
    expect((await rig.admin('POST', '/v1/principals', { name, kind: 'user', roles })).status).toBe(201);
  }
  ({ context, page, watch } = await openPage(rig));
  await signIn(page, rig);
}, 60_000);

afterAll(async () => {
  await context?.close();
  await rig?.stop();
});

describe('ThreadFix: the API Keys page', () => {
  it('opens API keys from the navigation', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    await expect.poll(() => page.getByText('No keys yet.').count()).toBe(1);
    await expectAccessible(page, 'API keys, empty');
  });

  it('"Create key" for a user picked by typing part of the name, with notes; the key is shown once', async () => {
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.getByRole('dialog');
    const user = dialog.getByRole('combobox', { name: 'User' });
    await user.fill('ali');
    // The picker offers every user (the browser narrows them to those containing what was typed).
    expect(await dialog.locator('datalist option').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value))).toEqual(expect.arrayContaining([USER, 'alina.viewer', 'bob.builder']));
    await expectAccessible(page, 'create key with a user picker');
    // A name that is no principal is refused in the dialog, before anything is created.
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await expect.poll(() => dialog.getByRole('alert').textContent()).toMatch(/No principal is named "ali"/);
    await user.fill(USER);
    await dialog.getByLabel('Name').fill('jenkins');
    await dialog.getByLabel('Purpose').fill('Jenkins plugin, nightly scans');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    secret = await dialog.getByLabel('Secret').inputValue();
    expect(secret).toMatch(/^\S{20,}$/);
    await expect.poll(() => dialog.textContent()).toMatch(/will not be shown again/);
    await dialog.getByRole('button', { name: 'Done' }).click();

    const row = page.getByRole('table', { name: 'API keys' }).getByRole('row').filter({ hasText: 'jenkins' });
    await expect.poll(() => row.getByRole('cell').allTextContents()).toEqual(expect.arrayContaining(['jenkins', USER, 'Jenkins plugin, nightly scans', 'active']));
    const keys = (await rig.admin<{ items: { id: string; principalId: string }[] }>('GET', `/v1/keys?principal=${USER}`)).body.items;
    expect(keys).toHaveLength(1);
    keyId = keys[0]?.id ?? '';
    await expectAccessible(page, 'API keys');
    await shot(page, 'api-keys', { doc: true });
  });

  it('the key authorizes with its user\'s roles, through the proxy', async () => {
    const r = await upload();
    expect(r.status).toBe(200);
    expect(identityOf(r.seen)).toMatchObject({ user: USER, kind: 'user', roles: 'scanner', keyId });
    expectNoCredential(r.seen, secret);
    expect(JSON.parse(r.seen?.body.toString('utf8') ?? '')).toEqual({ scan: 'zap.xml' });
    // The user's roles, not the key's own: take scan:upload from the user, and its key loses it too.
    expect((await rig.admin('PATCH', `/v1/principals/${USER}`, { roles: ['viewer'] })).status).toBe(200);
    expect(await until(upload, 403)).toMatchObject({ status: 403, code: 'forbidden' });
    expect((await rig.admin('PATCH', `/v1/principals/${USER}`, { roles: ['scanner'] })).status).toBe(200);
    expect((await until(upload, 200)).status).toBe(200);
  });

  it('edits the key\'s notes in the Edit dialog', async () => {
    await page.getByRole('button', { name: `Edit/Delete key jenkins of ${USER}` }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit key jenkins' });
    const notes = dialog.getByLabel('Purpose / notes');
    expect(await notes.inputValue()).toBe('Jenkins plugin, nightly scans');
    await expectAccessible(page, 'edit key dialog');
    await notes.fill('Jenkins plugin, nightly and release scans');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    const row = page.getByRole('table', { name: 'API keys' }).getByRole('row').filter({ hasText: 'jenkins' });
    await expect.poll(() => row.textContent()).toContain('Jenkins plugin, nightly and release scans');
    expect((await rig.admin<{ purpose: string }>('GET', `/v1/keys/${keyId}`)).body.purpose).toBe('Jenkins plugin, nightly and release scans');
    expect((await upload()).status).toBe(200); // notes change nothing about what it may do
  });

  it('disabling the user refuses the key at once (it does not outlive its user, as in ThreadFix)', async () => {
    await page.getByRole('table', { name: 'API keys' }).getByRole('link', { name: USER }).click();
    await page.getByRole('heading', { name: USER }).waitFor();
    const sw = page.getByRole('switch', { name: 'Disabled' });
    await sw.click();
    await expect.poll(() => page.getByText('Disabled: its keys stop working at once.').count()).toBe(1);
    expect(await until(upload, 401)).toMatchObject({ status: 401, code: 'principal_disabled' });
    // Enabled again, the same key works again: it was refused for its user, not deleted.
    await sw.click();
    await expect.poll(() => page.getByText('Enabled.', { exact: true }).count()).toBe(1);
    expect((await until(upload, 200)).status).toBe(200);
  });

  it('deletes the key from the Edit dialog, after a confirmation', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('button', { name: `Edit/Delete key jenkins of ${USER}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete key jenkins?' });
    await expect.poll(() => confirm.textContent()).toMatch(/audit events stay/);
    await expectAccessible(page, 'delete confirmation');
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => page.getByText('No keys yet.').count()).toBe(1);
    expect((await rig.admin('GET', `/v1/keys/${keyId}`)).status).toBe(404);
    expect(await until(upload, 401)).toMatchObject({ status: 401, code: 'invalid_key' });
  });

  it('ran under the CSP without a violation', async () => {
    expect(await cspViolations(page, watch)).toEqual([]);
    expect(watch.errors).toEqual([]);
  });
});

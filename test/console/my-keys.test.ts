import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { proxiedStatus } from '../helpers/admin.ts';
import { cspViolations, openPage, seriousA11y, shot, signIn, startRig, type ConsoleRig, type PageWatch } from './harness.ts';

/**
 * "My keys" (issue 15, People): a person whose role holds only keygate:admin:keys:own manages
 * their own keys, up to keys.maxPerPrincipal live ones, and sees no one else's. They sign in here
 * with a key of their own (the bootstrap path; OIDC people land on the same screen).
 */
const MAX = 3;
let rig: ConsoleRig;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;
let bobKey = '';

beforeAll(async () => {
  rig = await startRig({ extraYaml: `keys: { maxPerPrincipal: ${MAX} }` });
  await rig.admin('POST', '/v1/principals', { name: 'alice', kind: 'user', roles: ['key-owner'] });
  await rig.admin('POST', '/v1/principals', { name: 'bob', kind: 'user', roles: ['key-owner'] });
  bobKey = (await rig.admin<{ key: { id: string } }>('POST', '/v1/keys', { principal: 'bob', name: 'bob-laptop' })).body.key.id;
  const alice = await rig.admin<{ secret: string }>('POST', '/v1/keys', { principal: 'alice', name: 'console sign-in' });
  ({ context, page, watch } = await openPage(rig));
  await signIn(page, rig, alice.body.secret);
}, 60_000);

afterAll(async () => {
  await context?.close();
  await rig?.stop();
});

describe('My keys, for a person holding keygate:admin:keys:own', () => {
  it('lands on My keys, without the administrators\' screens', async () => {
    await page.getByRole('heading', { name: 'My keys' }).waitFor();
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['My keys']);
    await expect.poll(() => page.getByText(`1 of ${MAX} live keys`).count()).toBe(1);
    expect(await seriousA11y(page)).toEqual([]);
  });

  it('creates a key of their own, which works through the proxy as them', async () => {
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('alice-script');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    const secret = await page.getByLabel('Secret').inputValue();
    await shot(page, 'my-keys-secret');
    await dialog.getByRole('button', { name: 'Done' }).click();
    const before = rig.upstream.received.length;
    expect((await proxiedStatus(rig.proxyUrl, secret)).status).toBe(200);
    expect(rig.upstream.received[before]?.headers.get('x-authenticated-user')).toEqual(['alice']);
    await expect.poll(() => page.getByText(`2 of ${MAX} live keys`).count()).toBe(1);
  });

  it('stops offering "Create key" at keys.maxPerPrincipal live keys', async () => {
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => page.getByText(`3 of ${MAX} live keys`).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Create key' }).isDisabled()).toBe(true);
    await shot(page, 'my-keys', { doc: true });
  });

  it('expires one of them, which frees a place', async () => {
    await page.getByRole('link', { name: 'alice-script' }).click();
    await page.getByRole('button', { name: 'Expire now' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Expire now' }).click();
    await expect.poll(() => page.locator('dd .badge').first().textContent()).toBe('expired');
    await page.getByRole('link', { name: 'Back to My keys' }).click();
    await page.getByRole('heading', { name: 'My keys' }).waitFor();
    await expect.poll(() => page.getByText(`2 of ${MAX} live keys`).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Create key' }).isDisabled()).toBe(false);
  });

  it('never shows anyone else\'s key: bob\'s key page answers "not found"', async () => {
    await page.goto(`${rig.adminUrl}/console/#/keys/${bobKey}`);
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/not_found/);
    expect(await page.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    expect(await page.content()).not.toContain('bob-laptop');
    expect((await rig.admin('GET', `/v1/keys/${bobKey}`)).status).toBe(200); // still there
  });

  it('ran under the CSP without a violation', async () => {
    expect(await cspViolations(page, watch)).toEqual([]);
    expect(watch.dialogs).toEqual([]);
  });
});

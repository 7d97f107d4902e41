import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { proxiedStatus } from '../helpers/admin.ts';
import { openPage, signIn, startRig, type ConsoleRig } from './harness.ts';

/**
 * "Last used" right after a use (issue 15): the console read "Never" while the key's 7-day count
 * was already 1, because last use reaches the store only at the next 10-second flush. The admin
 * API of the replica that served the request now answers with it at once, so the console shows
 * it on the next load, with no waiting (keygate serve on Redis, a real browser).
 */
let rig: ConsoleRig;
let context: BrowserContext;
let page: Page;
let keyId = '';
let secret = '';

beforeAll(async () => {
  rig = await startRig();
  await rig.admin('POST', '/v1/principals', { name: 'last-used-bot', kind: 'service', roles: ['viewer'] });
  const made = await rig.admin<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal: 'last-used-bot', name: 'nightly' });
  keyId = made.body.key.id;
  secret = made.body.secret;
  ({ context, page } = await openPage(rig));
  await signIn(page, rig);
}, 60_000);

afterAll(async () => {
  await context?.close();
  await rig?.stop();
});

/** What the key page showed after the use: the principal's table must agree. */
let shownOnKeyPage = '';
const lastUsedOnKeyPage = () => page.locator('dt:text-is("Last used") + dd').textContent();

describe('the key\'s Last used', () => {
  it('is Never before any use, and the time of the use on the very next load after it', async () => {
    await page.goto(`${rig.adminUrl}/console/#/keys/${keyId}`);
    await page.getByRole('heading', { name: 'Key nightly' }).waitFor();
    expect(await lastUsedOnKeyPage()).toBe('Never');

    const before = rig.upstream.received.length;
    expect((await proxiedStatus(rig.proxyUrl, secret)).status).toBe(200);
    expect(rig.upstream.received[before]?.headers.get('x-authenticated-user')).toEqual(['last-used-bot']);

    // One reload, no polling: the replica that served the request knows at once.
    await page.reload();
    await page.getByRole('heading', { name: 'Key nightly' }).waitFor();
    await page.locator('dt:text-is("Last used") + dd').waitFor();
    expect(await lastUsedOnKeyPage()).not.toBe('Never');
    shownOnKeyPage = (await lastUsedOnKeyPage()) ?? '';
    const api = await rig.admin<{ lastUsedAt?: string }>('GET', `/v1/keys/${keyId}`);
    expect(api.body.lastUsedAt).toEqual(expect.any(String));

    // And in the principal's key table.
    await page.goto(`${rig.adminUrl}/console/#/principals/last-used-bot`);
    const row = page.getByRole('table', { name: 'Keys of last-used-bot' }).getByRole('row').filter({ has: page.getByRole('link', { name: 'nightly', exact: true }) });
    await row.waitFor();
    const headers = await page.getByRole('table', { name: 'Keys of last-used-bot' }).getByRole('columnheader').allTextContents();
    const cells = await row.getByRole('cell').allTextContents();
    expect(headers).toContain('Last used');
    expect(cells[headers.indexOf('Last used')]).not.toBe('Never');
    expect(cells[headers.indexOf('Last used')]).toBe(shownOnKeyPage);
  });
});

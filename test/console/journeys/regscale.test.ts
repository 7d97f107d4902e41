import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { cspViolations, openPage, shot, signIn, startRig, type ConsoleRig, type PageWatch } from '../harness.ts';
import { expectAccessible, expectNoCredential, identityOf, through, until } from './journey.ts';

/**
 * RegScale's service accounts (seeds/regscale-service-accounts.txt), as its administrators do it
 * in the console: a service account, "Create key" with the duration in days and the purpose "for
 * auditing purposes", the token copied into `Authorization: Bearer …` of an HTTP request. The
 * expiry shown is the days asked for; past it, the token is refused.
 */
const ACCOUNT = 'compliance-export';
const DAYS = 90;
const DAY = 86_400_000;
let rig: ConsoleRig;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;
let secret = '';
let keyId = '';
let createdAt = 0;

const getAll = () => through(rig, '/api/issues/getAll', { headers: { Authorization: `Bearer ${secret}` } });

beforeAll(async () => {
  rig = await startRig({ extraYaml: 'keys: { maxLifetime: 365d }' });
  ({ context, page, watch } = await openPage(rig));
  await signIn(page, rig);
}, 60_000);

afterAll(async () => {
  await context?.close();
  await rig?.stop();
});

describe('RegScale: a service account and its long-running token', () => {
  it('creates the service account', async () => {
    await page.getByText('New principal').click();
    await page.getByLabel('Name', { exact: true }).fill(ACCOUNT);
    await page.getByLabel('Type').selectOption('service');
    await page.getByLabel('Roles').fill('viewer');
    await page.getByRole('button', { name: 'Create principal' }).click();
    await page.getByRole('heading', { name: ACCOUNT }).waitFor();
  });

  it('"Create key" with a duration in days and a purpose; no more days than the gateway allows', async () => {
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Purpose').fill('nightly compliance export to the data lake');
    // The field says the gateway's maximum, and the form holds to it (the API does too, tested in
    // test/integration: key_lifetime_exceeded).
    await expect.poll(() => dialog.textContent()).toContain('at most 365 days');
    const days = dialog.getByLabel('Expires in (days)');
    await days.fill('400');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    expect(await days.evaluate((el) => (el as unknown as { validity: { rangeOverflow: boolean } }).validity.rangeOverflow)).toBe(true);
    expect(await dialog.getByLabel('Secret').count()).toBe(0);
    expect((await rig.admin<{ items: unknown[] }>('GET', `/v1/keys?principal=${ACCOUNT}`)).body.items).toEqual([]);

    await days.fill(String(DAYS));
    createdAt = Date.now();
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    secret = await dialog.getByLabel('Secret').inputValue();
    expect(secret).toMatch(/^\S{20,}$/);
    await dialog.getByRole('button', { name: 'Done' }).click();
    const key = (await rig.admin<{ items: { id: string; purpose: string; expiresAt: string }[] }>('GET', `/v1/keys?principal=${ACCOUNT}`)).body.items[0];
    expect(key?.purpose).toBe('nightly compliance export to the data lake');
    keyId = key?.id ?? '';
    // The expiry is the days asked for, from when it was created.
    const expires = Date.parse(key?.expiresAt ?? '');
    expect(expires).toBeGreaterThanOrEqual(createdAt + DAYS * DAY - 1_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + DAYS * DAY + 1_000);
  });

  it('shows the expiry as that date, in that many days, in the keys table and on the key', async () => {
    const { expiresAt } = (await rig.admin<{ expiresAt: string }>('GET', `/v1/keys/${keyId}`)).body;
    // The date the page shows, formatted by the browser as the console formats dates.
    const date = await page.evaluate(`new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(${JSON.stringify(expiresAt)}))`) as string;
    const row = page.getByRole('table', { name: `Keys of ${ACCOUNT}` }).getByRole('row').filter({ hasText: 'nightly compliance export' });
    await expect.poll(() => row.getByRole('cell').nth(6).textContent()).toBe(`${date} (in ${DAYS} days)`);
    await shot(page, 'regscale-service-account');
    await row.getByRole('link').first().click();
    await page.getByRole('heading', { name: /^Key / }).waitFor();
    await expect.poll(() => page.locator('dt', { hasText: 'Expires' }).locator('xpath=following-sibling::dd[1]').textContent()).toBe(`${date} (in ${DAYS} days)`);
    await expectAccessible(page, 'key with an expiry');
  });

  it('the token works in the Authorization header as a Bearer token, and stops at keygate', async () => {
    const r = await getAll();
    expect(r.status).toBe(200);
    expect(identityOf(r.seen)).toMatchObject({ user: ACCOUNT, kind: 'service', keyId, roles: 'viewer' });
    expect(r.seen?.url).toBe('/api/issues/getAll');
    expectNoCredential(r.seen, secret);
  });

  it('past its expiry the token is refused (the expiry brought forward to seconds from now)', async () => {
    const soon = new Date(Date.now() + 2_000).toISOString();
    expect((await rig.admin('PATCH', `/v1/keys/${keyId}`, { expiresAt: soon })).status).toBe(200);
    expect(await until(getAll, 401, 10_000)).toMatchObject({ status: 401, code: 'key_expired' });
    await expect.poll(async () => {
      await page.reload();
      return page.locator('dd .badge').first().textContent();
    }, { timeout: 10_000, interval: 250 }).toBe('expired');
    // Once past, the page shows the date alone: no "in N days" for a time gone by.
    expect(await page.locator('dt', { hasText: 'Expires' }).locator('xpath=following-sibling::dd[1]').textContent()).not.toContain('(in');
  });

  it('ran under the CSP without a violation', async () => {
    expect(await cspViolations(page, watch)).toEqual([]);
    expect(watch.errors).toEqual([]);
  });
});

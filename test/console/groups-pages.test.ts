import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { cspViolations, openPage, signIn, startRig, type ConsoleRig, type PageWatch } from './harness.ts';

/**
 * The groups screen pages through GET /v1/groups (issue 15, item 3) as the principals list does:
 * the first 1,000 in name order, then "More groups" for the rest, each group once.
 */
const GROUPS = 1003;
const name = (i: number) => `g-${String(i).padStart(4, '0')}`;
let rig: ConsoleRig;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;

beforeAll(async () => {
  rig = await startRig();
  // Created in reverse, a few at a time: the store's order is not the name order the API pages in.
  const order = Array.from({ length: GROUPS }, (_, i) => GROUPS - 1 - i);
  for (let i = 0; i < order.length; i += 8) {
    const made = await Promise.all(order.slice(i, i + 8).map((n) => rig.admin('POST', '/v1/groups', { name: name(n), resources: { application: [`app-${n}`] } })));
    expect(made.map((r) => r.status)).toEqual(made.map(() => 201));
  }
  ({ context, page, watch } = await openPage(rig));
  await signIn(page, rig);
}, 180_000);

afterAll(async () => {
  await context?.close();
  await rig?.stop();
});

const names = () => page.getByRole('table', { name: 'Groups' }).locator('tbody tr td:first-child').allTextContents();

describe('the groups screen pages through the API', () => {
  it('shows the first 1,000 in name order, then More groups brings the rest, each once', async () => {
    await page.goto(`${rig.adminUrl}/console/#/groups`);
    await expect.poll(async () => (await names()).length, { timeout: 20_000 }).toBe(1000);
    expect(await names()).toEqual(Array.from({ length: 1000 }, (_, i) => name(i)));
    expect(await page.getByText('1000 groups loaded').count()).toBe(1);
    await page.getByRole('button', { name: 'More groups' }).click();
    await expect.poll(async () => (await names()).length, { timeout: 20_000 }).toBe(GROUPS);
    expect(await names()).toEqual(Array.from({ length: GROUPS }, (_, i) => name(i)));
    expect(await page.getByRole('button', { name: 'More groups' }).count()).toBe(0);
    expect(await page.getByText(`${GROUPS} groups`, { exact: true }).count()).toBe(1);
  });

  it('a group on the second page can be edited there; the list starts again from the first page', async () => {
    await page.getByRole('button', { name: `Edit group ${name(1002)}` }).click();
    await page.getByRole('table', { name: 'Groups' }).getByLabel('Resources').fill('application: moved');
    await page.getByRole('button', { name: 'Save group' }).click();
    await expect.poll(async () => (await rig.admin<{ resources: Record<string, string[]> }>('GET', `/v1/groups/${name(1002)}`)).body.resources).toEqual({ application: ['moved'] });
    await expect.poll(async () => (await names()).length, { timeout: 20_000 }).toBe(1000);
    expect(await page.getByRole('button', { name: 'More groups' }).count()).toBe(1);
    expect(watch.errors).toEqual([]);
    expect(await cspViolations(page, watch)).toEqual([]);
  });
});

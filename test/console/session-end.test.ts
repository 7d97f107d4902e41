import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { openPage, signIn, startRig, type ConsoleRig } from './harness.ts';

/**
 * A session that ends under the page (here the absolute timeout, `console.sessionMaxAge: 3s`, the idle one no longer)
 * sends the person back to the sign-in form with a word on why, instead of leaving screens that
 * fail one request at a time.
 */
let rig: ConsoleRig;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  rig = await startRig({ extraYaml: 'console: { sessionIdleTimeout: 3s, sessionMaxAge: 3s }' });
  ({ context, page } = await openPage(rig));
}, 60_000);

afterAll(async () => {
  await context?.close();
  await rig?.stop();
});

describe('a session that ends while the console is open', () => {
  it('returns to the sign-in form, saying why, and signing in again works', async () => {
    await signIn(page, rig);
    await page.getByRole('heading', { name: 'Principals' }).waitFor();
    // Wait (untimed) until the server itself says the session is over.
    await expect.poll(async () => (await page.evaluate(`fetch('/console/api/session').then((r) => r.status)`)), { timeout: 10_000, interval: 250 }).toBe(401);
    await page.getByRole('link', { name: 'Groups' }).click();
    await page.getByLabel('Admin token').waitFor();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Your session ended' }).count()).toBe(1);
    await signIn(page, rig);
    await page.getByRole('heading', { name: 'Principals' }).waitFor();
    expect(await page.getByText('Your session ended').count()).toBe(0);
  });
});

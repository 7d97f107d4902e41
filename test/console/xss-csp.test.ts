import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { cspViolations, openPage, seriousA11y, signIn, startRig, type ConsoleRig, type PageWatch } from './harness.ts';

/**
 * Issue 15's security list, on the UI's side: strings users typed render as text, never markup,
 * and the page runs under the strict CSP without a single violation.
 */
const XSS = '<img src=x onerror=alert(1)>';
let rig: ConsoleRig;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;
let keyId = '';

beforeAll(async () => {
  rig = await startRig();
  // Principal names are header-safe by schema, so the payload goes everywhere free text may:
  // the display name (a person's full name), metadata, a key's name and purpose, a group's resources.
  await rig.admin('POST', '/v1/principals', { name: 'xss-target', displayName: XSS, kind: 'user', roles: ['viewer'], metadata: { team: XSS } });
  const { body } = await rig.admin<{ key: { id: string } }>('POST', '/v1/keys', { principal: 'xss-target', name: XSS, purpose: XSS });
  keyId = body.key.id;
  await rig.admin('POST', '/v1/groups', { name: 'xss-group', roles: ['viewer'], resources: { application: [XSS] } });
  ({ context, page, watch } = await openPage(rig));
  await signIn(page, rig);
}, 60_000);

afterAll(async () => {
  await context?.close();
  await rig?.stop();
});

/** The console has no images at all: an <img> in the document is injected markup. */
const imgCount = () => page.evaluate('document.querySelectorAll("img").length');

describe('the console renders what users typed as text', () => {
  it('a key named and described as an <img onerror> tag: shown literally, nothing runs', async () => {
    await page.goto(`${rig.adminUrl}/console/#/principals/xss-target`);
    const table = page.getByRole('table', { name: 'Keys of xss-target' });
    await table.getByRole('link', { name: XSS, exact: true }).waitFor();
    await expect.poll(() => table.textContent()).toContain(`${XSS}${XSS}`); // name cell links, purpose cell
    await expect.poll(() => page.getByText(`team: ${XSS}`).count()).toBe(1); // metadata
    expect(await imgCount()).toBe(0);

    await table.getByRole('link', { name: XSS, exact: true }).click();
    await page.getByRole('heading', { name: `Key ${XSS}` }).waitFor();
    expect(await page.getByLabel('Purpose / notes').inputValue()).toBe(XSS);
    expect(await imgCount()).toBe(0);
    expect(keyId).not.toBe('');
  });

  it('a principal whose display name is exactly an <img onerror> tag: text in the principals table and on its page', async () => {
    await page.goto(`${rig.adminUrl}/console/#/principals`);
    const row = page.getByRole('table', { name: 'Principals' }).getByRole('row').filter({ has: page.getByRole('link', { name: 'xss-target', exact: true }) });
    await row.getByRole('cell', { name: XSS, exact: true }).waitFor();
    expect(await row.getByRole('cell', { name: XSS, exact: true }).textContent()).toBe(XSS);
    expect(await imgCount()).toBe(0);
    // The filter finds a principal by its display name too.
    await page.getByLabel('Filter').fill('onerror');
    await expect.poll(() => page.getByRole('table', { name: 'Principals' }).getByRole('link').allTextContents()).toEqual(['xss-target']);
    expect(await imgCount()).toBe(0);

    await page.goto(`${rig.adminUrl}/console/#/principals/xss-target`);
    await page.getByRole('heading', { name: 'xss-target' }).waitFor();
    await expect.poll(() => page.locator('dt:text-is("Display name") + dd').textContent()).toBe(XSS);
    expect(await page.getByLabel('Display name').inputValue()).toBe(XSS);
    expect(await imgCount()).toBe(0);
    expect(watch.dialogs).toEqual([]);
  });

  it('an admin edits the display name on the principal page: saved through the API, shown as text, and can remove it', async () => {
    const other = '<script>alert(2)</script><b onmouseover=alert(3)>Zoë</b>';
    await page.goto(`${rig.adminUrl}/console/#/principals/xss-target`);
    await page.getByLabel('Display name').fill(other);
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(async () => (await rig.admin<{ displayName?: string }>('GET', '/v1/principals/xss-target')).body.displayName).toBe(other);
    await expect.poll(() => page.locator('dt:text-is("Display name") + dd').textContent()).toBe(other);
    expect(await page.evaluate('document.querySelectorAll("main script, b").length')).toBe(0);
    // A control character is refused by the API, and the console says so.
    await page.getByLabel('Display name').fill('two\u0007bells');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('displayName');
    expect((await rig.admin<{ displayName?: string }>('GET', '/v1/principals/xss-target')).body.displayName).toBe(other);
    // Emptied: removed.
    await page.getByLabel('Display name').fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(async () => (await rig.admin<Record<string, unknown>>('GET', '/v1/principals/xss-target')).body).not.toHaveProperty('displayName');
    // The page reloads the principal after a save: wait for it before typing again.
    await expect.poll(() => page.locator('dt:text-is("Display name") + dd').textContent()).toBe('—');
    // Back to the payload for the checks that follow.
    await page.getByLabel('Display name').fill(XSS);
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(async () => (await rig.admin<{ displayName?: string }>('GET', '/v1/principals/xss-target')).body.displayName).toBe(XSS);
    expect(await imgCount()).toBe(0);
    expect(watch.dialogs).toEqual([]);
  });

  it('a group resource holding markup is text', async () => {
    await page.goto(`${rig.adminUrl}/console/#/groups`);
    await expect.poll(() => page.getByRole('table', { name: 'Groups' }).textContent()).toContain(`application: ${XSS}`);
    expect(await imgCount()).toBe(0);
  });

  it('a principal name holding markup is refused by the API, and the refusal is shown as text', async () => {
    await page.goto(`${rig.adminUrl}/console/#/principals`);
    await page.getByText('New principal').click();
    await page.getByLabel('Name', { exact: true }).fill(XSS);
    await page.getByRole('button', { name: 'Create principal' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/invalid_input/);
    expect(await imgCount()).toBe(0);
    expect((await rig.admin<{ items: { name: string }[] }>('GET', '/v1/principals')).body.items.map((p) => p.name)).not.toContain(XSS);
  });

  it('no dialog fired, no CSP violation, no page error; the console is served with the strict CSP', async () => {
    expect(watch.dialogs).toEqual([]);
    expect(await cspViolations(page, watch)).toEqual([]);
    expect(watch.errors).toEqual([]);
    const res = await fetch(`${rig.adminUrl}/console/`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
  });

  it('the CSP watch can fail: an inline style attribute set from markup is reported', async () => {
    // Proves the listener works, so the zeros above mean something.
    await page.evaluate('document.body.insertAdjacentHTML("beforeend", "<div style=\\"color:red\\">x</div>")');
    await expect.poll(async () => (await cspViolations(page, watch)).length).toBeGreaterThan(0);
  });

  it('has no serious or critical accessibility violation on the principal page', async () => {
    await page.goto(`${rig.adminUrl}/console/#/principals/xss-target`);
    await page.getByRole('table', { name: 'Keys of xss-target' }).waitFor();
    expect(await seriousA11y(page)).toEqual([]);
  });
});

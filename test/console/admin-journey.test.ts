import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { BrowserContext, Page } from 'playwright-core';
import { proxiedStatus } from '../helpers/admin.ts';
import { cspViolations, openPage, seriousA11y, shot, signIn, startRig, type ConsoleRig, type PageWatch } from './harness.ts';

/**
 * The administrators' journey of issue 15, end to end in Debian's chromium: sign in with the
 * admin token, create a service principal and a key, see the secret once, use the key through
 * the proxy (asserted at the upstream), edit its notes, read its history and usage, rotate it,
 * expire it (refused through the proxy), delete it. The tests share one page and run in order.
 */
let rig: ConsoleRig;
let context: BrowserContext;
let page: Page;
let watch: PageWatch;

const PRINCIPAL = 'ci-deployer';
let secret = '';
let keyId = '';

/** Every answer the page received from keygate, to find where a secret went. */
const bodies: Promise<{ url: string; text: string }>[] = [];

beforeAll(async () => {
  rig = await startRig();
  ({ context, page, watch } = await openPage(rig));
  page.on('response', (r) => {
    if (r.url().startsWith(rig.adminUrl) && r.request().resourceType() === 'fetch') {
      bodies.push(r.text().then((text) => ({ url: `${r.request().method()} ${r.url().slice(rig.adminUrl.length)}`, text }), () => ({ url: r.url(), text: '' })));
    }
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: rig.adminUrl });
}, 60_000);

afterAll(async () => {
  await context?.close();
  await rig?.stop();
});

/** Polls the proxy until it answers `status` for this secret (revocation is pushed, not instant). */
async function proxyAnswers(s: string, status: number, limitMs = 5_000): Promise<{ status: number; code: string | null }> {
  const start = Date.now();
  for (;;) {
    const r = await proxiedStatus(rig.proxyUrl, s);
    if (r.status === status || Date.now() - start > limitMs) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
}

async function expectAccessible(screen: string): Promise<void> {
  const serious = await seriousA11y(page);
  expect(serious, `${screen}: ${JSON.stringify(serious, null, 2)}`).toEqual([]);
}

describe('the console, for administrators', () => {
  it('signs in with the admin token (the token field is labelled "Admin token")', async () => {
    await page.goto(`${rig.adminUrl}/console/`);
    await page.getByLabel('Admin token').waitFor();
    await expectAccessible('sign-in');
    await shot(page, 'sign-in');
    // A wrong token is refused with the API's answer, as text.
    await page.getByLabel('Admin token').fill('not-the-token-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/\S/);
    await signIn(page, rig);
    await page.getByRole('heading', { name: 'Principals' }).waitFor();
    // The session is an HttpOnly cookie: script in the page cannot read it.
    expect(await page.evaluate('document.cookie')).toBe('');
    const cookies = await context.cookies(rig.adminUrl);
    expect(cookies.length).toBeGreaterThan(0);
    for (const c of cookies) {
      expect(c.httpOnly).toBe(true);
      expect(c.sameSite).toBe('Strict');
    }
  });

  it('creates a service principal, listed with its Type', async () => {
    await page.getByText('New principal').click();
    await page.getByLabel('Name', { exact: true }).fill(PRINCIPAL);
    await page.getByLabel('Type').selectOption('service');
    await page.getByLabel('Roles').fill('viewer');
    await page.getByRole('button', { name: 'Create principal' }).click();
    await page.getByRole('heading', { name: PRINCIPAL }).waitFor();
    await expectAccessible('principal');
    // It is real: the admin API has it.
    const { body } = await rig.admin<{ kind: string; roles: string[] }>('GET', `/v1/principals/${PRINCIPAL}`);
    expect(body).toMatchObject({ kind: 'service', roles: ['viewer'] });

    await page.getByRole('link', { name: 'Principals' }).first().click();
    const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: PRINCIPAL, exact: true }) });
    await expect.poll(() => row.getByRole('cell').nth(1).textContent()).toBe('Service (API-only)');
    await expectAccessible('principals');
    await shot(page, 'principals');
    await row.getByRole('link', { name: PRINCIPAL }).click();
    await page.getByRole('heading', { name: PRINCIPAL }).waitFor();
  });

  it('creates a key and shows its secret once, with Copy and a warning', async () => {
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('deploy');
    await dialog.getByLabel('Purpose').fill('CI deploys to staging');
    await dialog.getByLabel('Expires in (days)').fill('30');
    await expectAccessible('create-key dialog');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();

    const field = page.getByLabel('Secret');
    secret = await field.inputValue();
    expect(secret).toMatch(/^\S{20,}$/);
    await expect.poll(() => dialog.textContent()).toMatch(/will not be shown again/);
    await expectAccessible('secret dialog');
    await page.getByRole('button', { name: 'Copy' }).click();
    await expect.poll(() => page.evaluate('navigator.clipboard.readText()')).toBe(secret);
    await shot(page, 'secret-once', { doc: true });

    // Never in storage or the URL.
    expect(await page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })')).not.toContain(secret);
    expect(page.url()).not.toContain(secret);

    await page.getByRole('button', { name: 'Done' }).click();
    const keys = page.getByRole('table', { name: `Keys of ${PRINCIPAL}` });
    await keys.waitFor();
    const row = keys.getByRole('row').filter({ hasText: 'deploy' });
    await expect.poll(() => row.textContent()).toMatch(/CI deploys to staging.*active/);
    await expect.poll(() => row.textContent()).toContain('admin-token'); // created by

    // Reload: the secret is gone from the page for good.
    await page.reload();
    await page.getByRole('heading', { name: PRINCIPAL }).waitFor();
    await keys.waitFor();
    expect(await page.getByLabel('Secret').count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
    await shot(page, 'principal-keys', { doc: true });

    const { body } = await rig.admin<{ items: { id: string; name: string }[] }>('GET', `/v1/keys?principal=${PRINCIPAL}`);
    keyId = (body.items.find((k) => k.name === 'deploy') as { id: string }).id;

    // Of everything the page fetched (lists, the key, reloads), one answer carried the secret: the create.
    const seen = (await Promise.all(bodies)).filter((b) => b.text.includes(secret)).map((b) => b.url);
    expect(seen).toEqual(['POST /v1/keys']);
    expect((await Promise.all(bodies)).length).toBeGreaterThan(5);
  });

  it('the key authenticates through the proxy, and the upstream sees its principal', async () => {
    const before = rig.upstream.received.length;
    expect((await proxiedStatus(rig.proxyUrl, secret)).status).toBe(200);
    const got = rig.upstream.received.slice(before);
    expect(got).toHaveLength(1);
    expect(got[0]?.headers.get('x-authenticated-user')).toEqual([PRINCIPAL]);
    expect(got[0]?.headers.get('x-authenticated-key-id')).toEqual([keyId]);
    // The secret itself stops at keygate.
    expect(JSON.stringify(got[0]?.rawHeaders)).not.toContain(secret);
  });

  it('shows a key\'s rate limit and quota once it has them (the limits issue)', async () => {
    const set = await rig.admin('PATCH', `/v1/keys/${keyId}/limits`, { limit: { rate: '10/s', burst: 5, per: 'key' }, quota: { requests: 100, period: 'day' } });
    expect(set.status).toBe(200);
    expect((await proxiedStatus(rig.proxyUrl, secret)).status).toBe(200); // counted by the quota
    await page.reload();
    const keys = page.getByRole('table', { name: `Keys of ${PRINCIPAL}` });
    await expect.poll(() => keys.getByRole('columnheader').allTextContents()).toEqual(expect.arrayContaining(['Limit', 'Quota', 'Quota left']));
    const row = keys.getByRole('row').filter({ hasText: 'deploy' });
    await expect.poll(() => row.textContent()).toMatch(/rate: 10\/s, burst: 5, per: key.*requests: 100, period: day.*\d+ left/);

    await page.getByRole('link', { name: 'deploy', exact: true }).click();
    const limits = page.getByRole('region', { name: 'Limits' });
    await expect.poll(() => limits.textContent()).toMatch(/10\/s, burst 5, per key/);
    const quota = limits.getByRole('table', { name: 'Quotas' }).getByRole('row').nth(1);
    await expect.poll(() => quota.textContent()).toMatch(/key.*100 a day/);
    await expectAccessible('key with limits');
    await page.goBack();
    await keys.waitFor();
  });

  it('edits the key\'s notes, and shows its request history and usage chart', async () => {
    await page.getByRole('link', { name: 'deploy', exact: true }).click();
    await page.getByRole('button', { name: 'Rotate' }).waitFor();
    await page.getByLabel('Purpose / notes').fill('CI deploys to staging and prod');
    await page.getByRole('button', { name: 'Save notes' }).click();
    await expect.poll(async () => (await rig.admin<{ purpose: string }>('GET', `/v1/keys/${keyId}`)).body.purpose).toBe('CI deploys to staging and prod');

    // Usage is flushed to Redis every few seconds: reload until the chart counts the request.
    await expect.poll(async () => {
      await page.reload();
      return page.getByRole('img', { name: /Requests per day/ }).getAttribute('aria-label');
    }, { timeout: 20_000, interval: 500 }).toMatch(/: 2 in total/); // the two requests above
    await expectAccessible('key');
    await shot(page, 'key', { doc: true });

    await page.getByRole('link', { name: 'Request history of this key' }).click();
    const events = page.getByRole('table', { name: 'Events' });
    await expect.poll(() => events.getByRole('row').filter({ hasText: 'allowed' }).count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => events.textContent()).toContain('/api/console-check');
    await expectAccessible('history');
    await shot(page, 'history');

    // CSV export: a same-origin download carried by the session cookie.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    expect(csv.split('\n')[0]).toMatch(/time/);
    expect(csv).toContain(keyId);
    expect(csv).toContain('/api/console-check');
    expect(csv).not.toContain(secret);
    await page.goBack();
  });

  it('rotates with a grace period: the new secret shown once, both work meanwhile', async () => {
    await page.getByRole('button', { name: 'Rotate' }).waitFor();
    await page.getByRole('button', { name: 'Rotate' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Grace period').waitFor();
    await expectAccessible('rotate dialog');
    // Escape closes a dialog without doing anything (the native <dialog>'s cancel).
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    await page.getByRole('button', { name: 'Rotate' }).click();
    await dialog.getByLabel('Grace period').selectOption('1h');
    await dialog.getByRole('button', { name: 'Rotate' }).click();
    const fresh = await page.getByLabel('Secret').inputValue();
    expect(fresh).not.toBe(secret);
    await dialog.getByRole('button', { name: 'Done' }).click();
    expect((await proxiedStatus(rig.proxyUrl, fresh)).status).toBe(200);
    expect((await proxiedStatus(rig.proxyUrl, secret)).status).toBe(200); // within its grace period
    // During its grace period the old key is still active, and names its successor.
    const { body } = await rig.admin<{ status: string; rotatedTo: string; expiresAt: string }>('GET', `/v1/keys/${keyId}`);
    expect(body.status).toBe('active');
    expect(body.rotatedTo).toMatch(/\S/);
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(50 * 60_000);
    secret = fresh;
    keyId = body.rotatedTo;
  });

  it('"Expire now" asks first, then the key is refused through the proxy', async () => {
    await page.goto(`${rig.adminUrl}/console/#/keys/${encodeURIComponent(keyId)}`);
    await page.getByRole('button', { name: 'Expire now' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.textContent()).toMatch(/cannot be undone/);
    await expectAccessible('confirm dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await proxiedStatus(rig.proxyUrl, secret)).status).toBe(200); // cancelled: still works

    await page.getByRole('button', { name: 'Expire now' }).click();
    await dialog.getByRole('button', { name: 'Expire now' }).click();
    await expect.poll(() => page.locator('dd .badge').first().textContent()).toBe('expired');
    expect(await proxyAnswers(secret, 401)).toEqual({ status: 401, code: 'key_expired' });
  });

  it('deletes the key', async () => {
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('heading', { name: PRINCIPAL }).waitFor();
    expect((await rig.admin('GET', `/v1/keys/${keyId}`)).status).toBe(404);
    expect((await proxyAnswers(secret, 401)).status).toBe(401);
  });

  it('shows groups and the resources they grant', async () => {
    await rig.admin('POST', '/v1/groups', { name: 'team-a', roles: ['viewer'], resources: { application: ['app-1', 'app-2'] } });
    await page.getByRole('link', { name: 'Groups' }).click();
    const row = page.getByRole('table', { name: 'Groups' }).getByRole('row').filter({ hasText: 'team-a' });
    await expect.poll(() => row.textContent()).toMatch(/viewer.*application: app-1, app-2/);
    await page.getByText('New group').click();
    await page.getByLabel('Name', { exact: true }).fill('team-b');
    await page.getByLabel('Roles').first().fill('viewer');
    await page.getByLabel('Resources').first().fill('application: app-3');
    await page.getByRole('button', { name: 'Create group' }).click();
    await expect.poll(async () => (await rig.admin<{ resources: unknown }>('GET', '/v1/groups/team-b')).body.resources).toEqual({ application: ['app-3'] });
    await expectAccessible('groups');
    await shot(page, 'groups');
  });

  it('disables the principal with its switch, and its keys stop working', async () => {
    const { body } = await rig.admin<{ secret: string }>('POST', '/v1/keys', { principal: PRINCIPAL });
    expect((await proxiedStatus(rig.proxyUrl, body.secret)).status).toBe(200);
    await page.goto(`${rig.adminUrl}/console/#/principals/${PRINCIPAL}`);
    const sw = page.getByRole('switch', { name: 'Disabled' });
    // click, not check(): Preact resets a controlled checkbox until its re-render a moment later.
    await sw.click();
    await expect.poll(() => sw.isChecked()).toBe(true);
    await expect.poll(() => page.getByText('Disabled: its keys stop working at once.').count()).toBe(1);
    expect((await rig.admin<{ disabled: boolean }>('GET', `/v1/principals/${PRINCIPAL}`)).body.disabled).toBe(true);
    expect(await proxyAnswers(body.secret, 401)).toEqual({ status: 401, code: 'principal_disabled' });
  });

  it('signs out: the session ends server-side', async () => {
    const cookies = await context.cookies(rig.adminUrl);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    // Replaying the old cookie gets nothing: the server forgot the session.
    const header = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const res = await fetch(`${rig.adminUrl}/v1/principals`, { headers: { cookie: header } });
    expect(res.status).toBe(401);
  });

  it('loaded no resource and ran no inline code that the CSP refused', async () => {
    expect(await cspViolations(page, watch)).toEqual([]);
    expect(watch.dialogs).toEqual([]);
    expect(watch.errors).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page } from 'playwright-core';
import { openPage, signIn, startRig, type ConsoleRig } from './harness.ts';

/**
 * Issue 15's security list, in the browser: while an administrator is signed in, a page on another
 * site can neither post a write through their session nor frame the console. The other site is
 * `localhost` (the console is on 127.0.0.1): a different host is a different site to the browser,
 * so SameSite and Sec-Fetch-Site apply exactly as they would for evil.example.
 */
let rig: ConsoleRig;
let evil: Server;
let evilUrl = '';
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  rig = await startRig();
  evil = createServer((req, res) => {
    const target = `${rig.adminUrl}/v1/principals`;
    if (req.url === '/form') {
      // text/plain lets a form send a JSON-looking body: the classic CSRF on JSON APIs.
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>win a prize</title>
<form id="f" method="POST" action="${target}" enctype="text/plain">
<input name='{"name":"csrf-victim","kind":"service","x":"' value='"}'>
</form><script>document.getElementById('f').submit()</script>`);
      return;
    }
    if (req.url === '/frame') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>framed</title><iframe id="c" src="${rig.adminUrl}/console/"></iframe>`);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  evilUrl = `http://localhost:${(evil.address() as AddressInfo).port}`;
  ({ context, page } = await openPage(rig));
  await signIn(page, rig);
}, 60_000);

afterAll(async () => {
  await context?.close();
  await rig?.stop();
  await new Promise((r) => evil?.close(r));
});

describe('another site, while an administrator is signed in', () => {
  it('cannot create a principal with a cross-site form post', async () => {
    const tab = await context.newPage();
    const answer = tab.waitForResponse((r) => r.url() === `${rig.adminUrl}/v1/principals`);
    await tab.goto(`${evilUrl}/form`);
    const r = await answer;
    // No session cookie crosses sites (SameSite=Strict), and no CSRF token could: refused either way.
    expect([401, 403, 415]).toContain(r.status());
    await tab.close();
    expect((await rig.admin('GET', '/v1/principals/csrf-victim')).status).toBe(404);
    // The session itself is fine: the console still works in its own tab.
    await page.reload();
    await page.getByRole('heading', { name: 'Principals' }).waitFor();
  });

  it('cannot frame the console', async () => {
    const tab = await context.newPage();
    await tab.goto(`${evilUrl}/frame`);
    const frame = tab.frames().find((f) => f !== tab.mainFrame());
    expect(frame).toBeDefined();
    // Refused by frame-ancestors 'none' / X-Frame-Options: the frame holds an error page, not the console.
    await frame?.waitForLoadState('load');
    const framed = await frame?.evaluate('document.querySelector("#app") !== null').catch(() => false);
    expect(framed).toBe(false);
    expect(await tab.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    await tab.close();
  });
});

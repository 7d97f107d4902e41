/**
 * Cookies are not kept apart by port (RFC 6265 §8.5). An administrator signed in to the console
 * at 127.0.0.1:<admin port> (the default) who then opens an app behind the proxy on the same
 * host sends `keygate_session` there too, and keygate forwarded it: the upstream could then ask
 * the session API for the CSRF token and write to /v1 as the administrator. keygate's own
 * cookies are now removed from the Cookie header on the way upstream; the app's own pass. The
 * other way, an upstream's `Set-Cookie: keygate_session=…` planted its own session in the
 * console (cookie tossing); such a Set-Cookie is no longer passed to the client.
 * Real chromium, `keygate serve`, a real upstream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, openPage, signIn, startRig, type ConsoleRig } from '../console/harness.ts';
import { exchange, signIn as apiSignIn } from '../helpers/console.ts';

let rig: ConsoleRig;

beforeAll(async () => {
  rig = await startRig({ routes: ['{ name: app-public, path: "/pub/*", upstream: app, public: true }'] });
}, 120_000);
afterAll(async () => {
  await rig?.stop();
});

describe('the console session cookie never reaches an upstream', () => {
  it('a signed-in browser visiting the proxy on the same host: the upstream gets the app\'s cookie, not keygate_session', async () => {
    const { context, page } = await openPage(rig);
    try {
      await signIn(page, rig, ADMIN_TOKEN);
      const session = (await context.cookies()).find((c) => c.name === 'keygate_session');
      expect(session?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const proxy = new URL(rig.proxyUrl);
      await context.addCookies([{ name: 'app_pref', value: 'dark', url: proxy.origin }]);

      const before = rig.upstream.received.length;
      const res = await page.goto(`${proxy.origin}/pub/home`);
      expect(res?.status()).toBe(200);
      const seen = rig.upstream.received.slice(before);
      expect(seen).toHaveLength(1);
      const cookies = seen[0]?.headers.get('cookie') ?? [];
      // Chromium sends it to this port too (before the fix the upstream got keygate_session=…).
      expect(cookies.join('; ')).not.toContain('keygate_session');
      expect(cookies.join('; ')).not.toContain(session?.value ?? '-');
      expect(cookies).toEqual(['app_pref=dark']);

      // What an upstream could have done with it: the session API hands out the CSRF token.
      const stolen = await exchange<{ csrfToken?: string }>(`${rig.adminUrl}/console/api/session`, { headers: { cookie: `keygate_session=${session?.value}` } });
      expect(stolen.status).toBe(200);
      expect(typeof stolen.body.csrfToken).toBe('string');
    } finally {
      await context.close();
    }
  });

  it('an upstream cannot plant a keygate_session for the console', async () => {
    const { context, page } = await openPage(rig);
    try {
      await signIn(page, rig, ADMIN_TOKEN);
      const mine = (await context.cookies()).find((c) => c.name === 'keygate_session')?.value;
      const planted = await apiSignIn(rig.adminUrl, ADMIN_TOKEN);
      rig.upstream.setHandler((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': [`keygate_session=${planted.value}; Path=/console/api`, 'app_pref=light; Path=/'] });
        res.end('ok');
      });
      const res = await page.goto(`${new URL(rig.proxyUrl).origin}/pub/plant`);
      expect(res?.status()).toBe(200);
      const jar = await context.cookies();
      expect(jar.filter((c) => c.name === 'keygate_session').map((c) => c.value)).toEqual([mine]);
      expect(jar.find((c) => c.name === 'app_pref')?.value).toBe('light');
      // The console page still runs in its own session, not the planted one.
      await page.goto(`${rig.adminUrl}/console/`);
      const csrf = await page.evaluate(`fetch('/console/api/session').then((r) => r.json()).then((b) => b.csrfToken)`);
      expect(csrf).not.toBe(planted.csrf);
    } finally {
      rig.upstream.setHandler(null);
      await context.close();
    }
  });
});

import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import { request } from 'undici';
import type { Received } from '../../helpers/upstream.ts';
import { seriousA11y, type ConsoleRig } from '../harness.ts';

/**
 * What the seed journeys share: a request through the proxy with what reached the upstream, the
 * identity the upstream was given, and the credential it was not given.
 */
export interface Through {
  status: number;
  code: string | null;
  /** The request as the upstream received it; null when keygate refused it (then nothing reached it). */
  seen: Received | null;
  text: string;
}

/** The proxy's origin (`http://127.0.0.1:<port>`), from the rig's protected URL. */
export function proxyOrigin(rig: ConsoleRig): string {
  return new URL(rig.proxyUrl).origin;
}

/** Sends one request through the proxy; a refused one must not have reached the upstream. */
export async function through(rig: ConsoleRig, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Through> {
  const before = rig.upstream.received.length;
  const res = await request(`${proxyOrigin(rig)}${path}`, { method: (init.method ?? 'GET') as 'GET', headers: init.headers ?? {}, body: init.body ?? null });
  const text = await res.body.text();
  let code: string | null = null;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? null;
  } catch {
    // The upstream's body.
  }
  // The echo upstream records a request before it answers, so a 200 is recorded by now.
  const seen = res.statusCode === 200 ? (rig.upstream.received[before] ?? null) : null;
  if (res.statusCode !== 200) expect(rig.upstream.received.length, `refused (${res.statusCode} ${code}) but reached the upstream`).toBe(before);
  return { status: res.statusCode, code, seen, text };
}

/**
 * Repeats `send` until its answer has `status`, up to `limitMs` (revocation is pushed to the
 * proxy's cache, not synchronous with the admin call; docs/benchmarks.md measures the bound at
 * under 100 ms p99, so 5 s only absorbs a loaded machine). Returns the last answer.
 */
export async function until(send: () => Promise<Through>, status: number, limitMs = 5_000): Promise<Through> {
  const start = Date.now();
  for (;;) {
    const r = await send();
    if (r.status === status || Date.now() - start > limitMs) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** The identity headers keygate gave the upstream (one value each). */
export function identityOf(seen: Received | null): Record<string, string | undefined> {
  expect(seen, 'the request reached the upstream').not.toBeNull();
  const one = (name: string) => {
    const v = seen?.headers.get(name);
    expect(v?.length ?? 0, `${name} sent at most once`).toBeLessThanOrEqual(1);
    return v?.[0];
  };
  return {
    user: one('x-authenticated-user'),
    id: one('x-authenticated-id'),
    kind: one('x-authenticated-kind'),
    keyId: one('x-authenticated-key-id'),
    roles: one('x-authenticated-roles'),
    org: one('x-authenticated-org'),
  };
}

/** None of `secrets` (keys, tokens, org keys, a base64 of one) reached the upstream, in headers, URL or body. */
export function expectNoCredential(seen: Received | null, ...secrets: string[]): void {
  expect(seen).not.toBeNull();
  const all = `${seen?.url ?? ''}\n${JSON.stringify(seen?.rawHeaders ?? [])}\n${seen?.body.toString('utf8') ?? ''}`;
  for (const s of secrets) expect(all, 'a credential reached the upstream').not.toContain(s);
  expect(seen?.headers.has('authorization')).toBe(false);
}

/** axe-core on the screen as it is now: no serious or critical violation. */
export async function expectAccessible(page: Page, screen: string): Promise<void> {
  const serious = await seriousA11y(page);
  expect(serious, `${screen}: ${JSON.stringify(serious, null, 2)}`).toEqual([]);
}

/** The request history screen, reloaded until its Events table shows `text` (the audit trail is written behind the request). */
export async function historyShows(page: Page, text: string): Promise<void> {
  const events = page.getByRole('table', { name: 'Events' });
  await expect.poll(async () => {
    await page.reload();
    await page.getByRole('heading', { name: 'Request history' }).waitFor();
    await events.or(page.getByText('No events match.')).waitFor();
    return (await events.count()) === 0 ? '' : events.textContent();
  }, { timeout: 15_000, interval: 500 }).toContain(text);
}

/** Reads the clipboard of a context granted clipboard-read. */
export async function clipboard(page: Page): Promise<string> {
  return page.evaluate('navigator.clipboard.readText()') as Promise<string>;
}

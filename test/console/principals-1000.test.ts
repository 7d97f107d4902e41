import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { openPage, seriousA11y, shot, signIn, startRig, type ConsoleRig } from './harness.ts';

/**
 * The principals page with more than a page of principals: the admin API serves 1,000 a page, so
 * 1,010 principals are the first page plus what "More principals" loads. Every one is rendered,
 * with its Type, and the filter covers them all. How fast it renders is measured by
 * bench/console-principals.ts (docs/benchmarks.md), not here: tests assert behaviour, not timings.
 */
const N = 1010;
const PAGE = 1000;
let rig: ConsoleRig;
let context: BrowserContext;
let page: Page;
const names = Array.from({ length: N }, (_, i) => `svc-${String(i).padStart(4, '0')}`);

beforeAll(async () => {
  rig = await startRig();
  for (let i = 0; i < names.length; i += 25) {
    await Promise.all(names.slice(i, i + 25).map(async (name, j) => {
      const r = await rig.admin('POST', '/v1/principals', { name, kind: (i + j) % 3 === 0 ? 'user' : 'service', roles: ['viewer'] });
      if (r.status !== 201) throw new Error(`create ${name}: ${r.status}`);
    }));
  }
  ({ context, page } = await openPage(rig));
  await signIn(page, rig);
}, 180_000);

afterAll(async () => {
  await context?.close();
  await rig?.stop();
});

const table = () => page.getByRole('table', { name: 'Principals' });
/** The Name column's text, read in one evaluation (role queries over 1,000 rows are slow). */
const renderedNames = () => table().locator('[role=row] > [role=cell]:first-child').allTextContents();

describe('the principals page with more than a page of principals', () => {
  it('renders the first page of 1,000, and says more are to load', async () => {
    await page.getByRole('heading', { name: 'Principals' }).waitFor();
    await expect.poll(() => table().getByRole('row').count(), { timeout: 20_000 }).toBe(PAGE + 1); // and the header row
    await expect.poll(() => page.getByText(`${PAGE} of ${PAGE} loaded`).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'More principals' }).isVisible()).toBe(true);
    // In id order, not name order: which 1,000 are first is the API's business; that they are
    // 1,000 distinct principals of ours is the page's.
    const first = await renderedNames();
    expect(new Set(first).size).toBe(PAGE);
    for (const n of first) expect(names).toContain(n);
  });

  it('"More principals" loads the rest: every principal is rendered once, with its Type', async () => {
    await page.getByRole('button', { name: 'More principals' }).click();
    await expect.poll(() => page.getByText(`${N} of ${N}`, { exact: true }).count(), { timeout: 20_000 }).toBe(1);
    expect(await page.getByRole('button', { name: 'More principals' }).count()).toBe(0);
    const all = await renderedNames();
    expect([...all].sort()).toEqual(names);
    const typeCells = await table().locator('[role=row] > [role=cell]:nth-child(2)').allTextContents();
    expect(typeCells).toHaveLength(N);
    const kindOf = new Map(names.map((n, i) => [n, i % 3 === 0 ? 'User' : 'Service (API-only)']));
    expect(typeCells).toEqual(all.map((n) => kindOf.get(n)));
    await shot(page, 'principals-1000');
  });

  it('the filter covers every loaded page, and a principal found with it opens', async () => {
    await page.getByLabel('Filter').fill('svc-100');
    await expect.poll(() => table().getByRole('row').count()).toBe(10 + 1); // svc-1000 … svc-1009
    expect(await seriousA11y(page)).toEqual([]);
    await page.getByLabel('Filter').fill('svc-1007');
    await table().getByRole('link', { name: 'svc-1007', exact: true }).click();
    await page.getByRole('heading', { name: 'svc-1007' }).waitFor();
    expect((await rig.admin<{ name: string }>('GET', '/v1/principals/svc-1007')).body.name).toBe('svc-1007');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { openPage, seriousA11y, shot, signIn, startRig, type ConsoleRig } from './harness.ts';

/**
 * Issue 15's acceptance number: the principals page renders 1,000 principals in under 1 s in the
 * browser on loopback. Timed in the page (performance marks the console sets: from the request
 * to the frame that paints the rows), median of three loads; printed, and kept in docs/console.md.
 */
const N = 1000;
const ACCEPT_MS = 1_000;
let rig: ConsoleRig;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  rig = await startRig();
  const names = Array.from({ length: N }, (_, i) => `svc-${String(i).padStart(4, '0')}`);
  for (let i = 0; i < names.length; i += 25) {
    await Promise.all(names.slice(i, i + 25).map(async (name, j) => {
      const r = await rig.admin('POST', '/v1/principals', { name, kind: (i + j) % 3 === 0 ? 'user' : 'service', roles: ['viewer'] });
      if (r.status !== 201) throw new Error(`create ${name}: ${r.status}`);
    }));
  }
  ({ context, page } = await openPage(rig));
  await signIn(page, rig);
}, 120_000);

afterAll(async () => {
  await context?.close();
  await rig?.stop();
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

describe('the principals page with 1,000 principals', () => {
  it('lists all of them, and renders them in under a second (median of 3, in-browser)', async () => {
    const load: number[] = [];
    const render: number[] = [];
    const commit: number[] = [];
    for (let run = 0; run < 3; run++) {
      await page.goto(`${rig.adminUrl}/console/#/groups`);
      await page.getByRole('heading', { name: 'Groups' }).waitFor();
      await page.evaluate('performance.clearMarks(); performance.clearMeasures()');
      await page.evaluate('location.hash = "#/principals"');
      // Wait on the console's own mark, cheaply: role queries over 1,000 rows while it renders
      // would compete with it for the page's main thread and slow what is being timed.
      await expect.poll(() => page.evaluate(`performance.getEntriesByName('keygate:principals:load').length`), { timeout: 10_000, interval: 100 }).toBe(1);
      const rows = page.getByRole('table', { name: 'Principals' }).getByRole('row');
      expect(await rows.count()).toBe(N + 1); // and the header row
      const m = await page.evaluate(`({
        load: performance.getEntriesByName('keygate:principals:load')[0]?.duration,
        render: performance.getEntriesByName('keygate:principals:render')[0]?.duration,
        commit: performance.getEntriesByName('keygate:principals:commit')[0]?.duration,
      })`) as { load: number; render: number; commit: number };
      load.push(m.load);
      render.push(m.render);
      commit.push(m.commit);
    }
    const typeCells = await page.getByRole('table', { name: 'Principals' }).locator('[role=row] > [role=cell]:nth-child(2)').allTextContents();
    expect(typeCells).toHaveLength(N);
    expect(new Set(typeCells)).toEqual(new Set(['User', 'Service (API-only)']));
    console.log(`1,000 principals: fetch+render median ${median(load).toFixed(0)} ms (${load.map((x) => x.toFixed(0)).join(', ')}); render after data median ${median(render).toFixed(0)} ms (${render.map((x) => x.toFixed(0)).join(', ')}); DOM built median ${median(commit).toFixed(0)} ms`);
    await shot(page, 'principals-1000');
    // The acceptance number, held loosely: the median of three, in the page. Measured at
    // about 350 ms on a 2-core box at load 23, so a failure here is a real regression.
    expect(median(load)).toBeLessThan(ACCEPT_MS);
  });

  it('filters the list in the page', async () => {
    await page.getByLabel('Filter').fill('svc-099');
    const rows = page.getByRole('table', { name: 'Principals' }).getByRole('row');
    await expect.poll(() => rows.count()).toBe(10 + 1);
    expect(await seriousA11y(page)).toEqual([]);
  });
});

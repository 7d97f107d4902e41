/**
 * Issue 15's console figure: the principals page renders 1,000 principals in under 1 s in the
 * browser on loopback. Same harness as the console tests (test/console/harness.ts: the console
 * built by esbuild, `keygate serve` on a real Redis, Debian's chromium through playwright-core),
 * timed by the console's own performance marks (console/src/screens/principals.tsx):
 *
 *   keygate:principals:load    from the request for the page of principals to the frame that paints the rows
 *   keygate:principals:render  from the data in hand to that frame (the console's part)
 *   keygate:principals:commit  from the data in hand to the rows built in the DOM
 *
 * One unrecorded warm-up, then BENCH_ROUNDS (default 7, at least 5) loads of the screen; each
 * round navigates away and back, so the list is fetched and rendered from scratch. Reports the
 * median and spread (min–max, and the interquartile range) of each mark, with the machine's load
 * average, and writes its section of docs/benchmarks.md.
 *
 * Run: node bench/console-principals.ts   (or npm run bench:console)
 */
import { loadavg, cpus } from 'node:os';
import { openPage, signIn, startRig } from '../test/console/harness.ts';
import { fmt, machine, writeSection } from './lib/report.ts';

const N = 1000;
const TARGET_MS = 1_000;
const ROUNDS = Math.max(5, Number(process.env['BENCH_ROUNDS'] ?? 7));
const MARKS = ['load', 'render', 'commit'] as const;
type Mark = (typeof MARKS)[number];

function quantile(sorted: number[], q: number): number {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (i - lo);
}

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), min: s[0] as number, max: s[s.length - 1] as number, q1: quantile(s, 0.25), q3: quantile(s, 0.75) };
}

const load0 = loadavg();
const rig = await startRig();
// Stopped on TERM/INT too (bench/run.sh forwards them): chromium, keygate and redis-server are ours.
for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.once(sig, () => void rig.stop().finally(() => process.exit(143)));
}
try {
  const names = Array.from({ length: N }, (_, i) => `svc-${String(i).padStart(4, '0')}`);
  for (let i = 0; i < names.length; i += 25) {
    await Promise.all(names.slice(i, i + 25).map(async (name, j) => {
      const r = await rig.admin('POST', '/v1/principals', { name, kind: (i + j) % 3 === 0 ? 'user' : 'service', roles: ['viewer'] });
      if (r.status !== 201) throw new Error(`create ${name}: ${r.status}`);
    }));
  }
  const { context, page } = await openPage(rig);
  await signIn(page, rig);

  /** One load of the screen from another one; returns the three marks' durations in ms. */
  async function round(): Promise<Record<Mark, number>> {
    await page.goto(`${rig.adminUrl}/console/#/groups`);
    await page.getByRole('heading', { name: 'Groups' }).waitFor();
    await page.evaluate('performance.clearMarks(); performance.clearMeasures()');
    await page.evaluate('location.hash = "#/principals"');
    // Waits on the console's own mark, cheaply: role queries over 1,000 rows while it renders
    // would compete with it for the page's main thread and slow what is being timed.
    // (CDP evaluation, not waitForFunction: the console's CSP refuses the eval that one uses.)
    const start = Date.now();
    while (await page.evaluate(`performance.getEntriesByName('keygate:principals:load').length`) !== 1) {
      if (Date.now() - start > 30_000) throw new Error('the principals screen never set keygate:principals:load');
      await new Promise((r) => setTimeout(r, 100));
    }
    const m = await page.evaluate(`({
      load: performance.getEntriesByName('keygate:principals:load')[0].duration,
      render: performance.getEntriesByName('keygate:principals:render')[0].duration,
      commit: performance.getEntriesByName('keygate:principals:commit')[0].duration,
    })`) as Record<Mark, number>;
    // What was timed is the real thing: every principal is a row.
    const rows = await page.locator('[role=table][aria-label="Principals"] [role=row]').count();
    if (rows !== N + 1) throw new Error(`expected ${N} rows and the header, got ${rows}`);
    return m;
  }

  await round(); // warm-up: chromium's caches, the gateway's JIT
  const runs: Record<Mark, number>[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    runs.push(await round());
    process.stderr.write(`round ${i + 1}/${ROUNDS}: ${MARKS.map((k) => `${k} ${fmt(runs[i]?.[k] ?? NaN, 0)} ms`).join(', ')}\n`);
  }
  await context.close();
  const load1 = loadavg();
  const browser = rig.browser.version();

  const s = Object.fromEntries(MARKS.map((k) => [k, stats(runs.map((r) => r[k]))])) as Record<Mark, ReturnType<typeof stats>>;
  const row = (label: string, k: Mark) => {
    const x = s[k];
    return `| ${label} | **${fmt(x.median, 0)} ms** | ${fmt(x.min, 0)}–${fmt(x.max, 0)} ms | ${fmt(x.q1, 0)}–${fmt(x.q3, 0)} ms | ${runs.map((r) => fmt(r[k], 0)).join(', ')} |`;
  };
  const pass = s.render.median < TARGET_MS;
  const lines = [
    '## Console: 1,000 principals (issue 15)',
    '',
    `Command: \`npm run bench:console\` (= \`node bench/console-principals.ts\`; also run by \`npm run bench\` unless \`BENCH_QUICK=1\` or \`BENCH_SKIP_CONSOLE=1\`) · ${new Date().toISOString().slice(0, 10)} · ${machine()}, ${cpus().length} cores · chromium ${browser} headless · load average ${load0.map((x) => x.toFixed(1)).join(' / ')} (1/5/15 min) at the start, ${load1.map((x) => x.toFixed(1)).join(' / ')} at the end.`,
    '',
    `The console built by esbuild, \`keygate serve\` on a real redis-server, ${N} principals, Debian's chromium through playwright-core (test/console/harness.ts); one warm-up, then ${ROUNDS} rounds, each navigating to the principals screen from another one, so the page of ${N} is fetched and rendered from scratch. Times are the console's own performance marks, in the page.`,
    '',
    '| mark | median | min–max | interquartile | rounds |',
    '| --- | --- | --- | --- | --- |',
    row('data in hand → rows painted (`keygate:principals:render`)', 'render'),
    row('request → rows painted (`keygate:principals:load`)', 'load'),
    row('data in hand → rows in the DOM (`keygate:principals:commit`)', 'commit'),
    '',
    `Target: renders ${N} principals in under ${TARGET_MS / 1000} s (the median of \`render\`, the console's part; \`load\` adds the gateway's answer, which on a shared machine is mostly the store's and the scheduler's): **${pass ? 'PASS' : 'FAIL'}**.`,
  ];
  console.log(lines.join('\n'));
  writeSection('console-principals', lines.join('\n'));
} finally {
  await rig.stop();
}

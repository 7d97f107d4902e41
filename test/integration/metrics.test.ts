/**
 * /metrics after real traffic, read by a real Prometheus server (Debian's `prometheus`, scraping
 * the admin listener on loopback) and linted by `promtool check metrics`; and the shipped
 * dashboard and alert rules checked against the metrics the gateway actually registers, by
 * promtool (PromQL syntax, alert unit tests) and by evaluating every query on that Prometheus.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { createMetrics } from '../../src/metrics/metrics.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { adminApi } from '../helpers/admin.ts';
import { generateSecret } from '../../src/credentials/key-format.ts';

const OBS = fileURLToPath(new URL('../../deploy/observability/', import.meta.url));
const TOKEN = 'admin-token-for-metrics-tests-0123';

function need(tool: string): string {
  if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(`${tool} is not installed: apt-get install prometheus (Debian's package has prometheus and promtool)`);
  }
  return tool;
}

// ---- What the shipped dashboard and alerts query -------------------------------------------

interface Dashboard { panels: { title: string; type: string; targets?: { expr: string }[] }[]; templating: { list: { query?: unknown }[] } }
interface RuleFile { groups: { name: string; rules: { alert: string; expr: string }[] }[] }

const dashboard = JSON.parse(readFileSync(join(OBS, 'grafana-dashboard.json'), 'utf8')) as Dashboard;
const alerts = parseYaml(readFileSync(join(OBS, 'alerts.yaml'), 'utf8')) as RuleFile;

/** Grafana's variables, replaced by values Prometheus accepts. */
function concrete(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h').replaceAll('$route', '.*');
}

const dashboardExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `dashboard panel "${p.title}"`, expr: concrete(t.expr) })));
const alertExprs = alerts.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })));
const templateExprs = dashboard.templating.list.flatMap((v) => {
  const q = v.query as { query?: string } | string | undefined;
  const text = typeof q === 'object' ? q.query : undefined;
  const m = text === undefined ? null : /^label_values\((\w+), *(\w+)\)$/.exec(text);
  return m === null ? [] : [{ where: 'dashboard variable', expr: `${m[1]}{${m[2]}!=""}` }];
});
const allExprs = [...dashboardExprs, ...alertExprs, ...templateExprs];

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);

/** Metric selectors of a PromQL expression: `name{label matchers}`. Functions, keywords, grouping labels and strings are skipped. */
function selectors(expr: string): { metric: string; labels: string[] }[] {
  const text = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b\d+(?:\.\d+)?(?:ms|[smhdwy])?\b/g, ' ');
  const out: { metric: string; labels: string[] }[] = [];
  for (const m of text.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{[^}]*\})?(\s*\()?/g)) {
    const [, name = '', braces, call] = m;
    if (call !== undefined && braces === undefined) continue; // a function
    if (KEYWORDS.has(name.toLowerCase()) || /^[0-9]/.test(name)) continue;
    const labels = [...(braces ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)/g)].map((l) => l[1] as string);
    out.push({ metric: name, labels });
  }
  return out;
}

/** Every series name the gateway exposes, with the labels each carries. */
async function exposedSeries(): Promise<Map<string, Set<string>>> {
  const m = createMetrics();
  const series = new Map<string, Set<string>>();
  // Target labels Prometheus adds to everything it scrapes.
  const target = ['job', 'instance'];
  for (const metric of (await m.registry.getMetricsAsJSON()) as unknown as { name: string; type: string }[]) {
    const own = ((m.registry.getSingleMetric(metric.name) as unknown as { labelNames?: string[] } | undefined)?.labelNames ?? []);
    const labels = new Set([...own, ...target]);
    if (metric.type === 'histogram') {
      series.set(`${metric.name}_bucket`, new Set([...labels, 'le']));
      series.set(`${metric.name}_sum`, labels);
      series.set(`${metric.name}_count`, labels);
    } else series.set(metric.name, labels);
  }
  m.registry.clear();
  return series;
}

describe('deploy/observability: dashboard and alerts are built on metrics that exist', () => {
  it('finds queries to check', () => {
    expect(dashboardExprs.length).toBeGreaterThanOrEqual(25);
    expect(alertExprs.map((a) => a.where)).toEqual([
      'alert KeygateDenyRateSpike', 'alert KeygateKeyStoreDown', 'alert KeygateUpstreamErrors', 'alert KeygateRoute5xxRatio', 'alert KeygateAuditEventsDropped',
      'alert KeygateServingStale', 'alert KeygateSlowAuth', 'alert KeygateConfigReloadFailed',
    ]);
  });

  it('every metric and label a query names is registered by src/metrics/metrics.ts', async () => {
    const series = await exposedSeries();
    const problems: string[] = [];
    const used = new Set<string>();
    for (const { where, expr } of allExprs) {
      const found = selectors(expr);
      if (found.length === 0) problems.push(`${where}: no metric in ${expr}`);
      for (const s of found) {
        used.add(s.metric);
        const labels = series.get(s.metric);
        if (labels === undefined) problems.push(`${where}: unknown metric ${s.metric}`);
        else for (const l of s.labels) if (!labels.has(l)) problems.push(`${where}: ${s.metric} has no label ${l}`);
      }
    }
    expect(problems).toEqual([]);
    // And the dashboard shows every keygate metric.
    const keygate = [...series.keys()].filter((n) => n.startsWith('keygate_') && !n.endsWith('_sum'));
    const shown = (n: string) => used.has(n) || used.has(n.replace(/_count$/, '_bucket')) || used.has(n.replace(/_bucket$/, '_count'));
    expect(keygate.filter((n) => !shown(n))).toEqual([]);
  });

  it('the selector reader catches what it must', () => {
    expect(selectors('sum by (route) (rate(keygate_requests_total{status=~"5..",route=~".*"}[5m])) / on (job) nope_total')).toEqual([
      { metric: 'keygate_requests_total', labels: ['status', 'route'] }, { metric: 'nope_total', labels: [] },
    ]);
  });

  it('promtool: the alert rules are valid and their unit tests pass', () => {
    const promtool = need('promtool');
    const check = spawnSync(promtool, ['check', 'rules', 'alerts.yaml'], { cwd: OBS, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    const test = spawnSync(promtool, ['test', 'rules', 'alerts.test.yaml'], { cwd: OBS, encoding: 'utf8' });
    expect(test.status, test.stdout + test.stderr).toBe(0);
  });

  it('promtool: every dashboard query is valid PromQL', () => {
    const promtool = need('promtool');
    const dir = mkdtempSync(join(tmpdir(), 'keygate-dash-'));
    const rules = { groups: [{ name: 'dashboard', rules: dashboardExprs.map((d, i) => ({ record: `dashboard:query:${i}`, expr: d.expr })) }] };
    writeFileSync(join(dir, 'dashboard-rules.json'), JSON.stringify(rules)); // JSON is YAML
    const r = spawnSync(promtool, ['check', 'rules', join(dir, 'dashboard-rules.json')], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});

// ---- A real scrape after real traffic ------------------------------------------------------

interface Sample { metric: Record<string, string>; value: [number, string] }

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await get();
      if (ok(last)) return last;
    } catch {
      // Not yet.
    }
    if (Date.now() > end) throw new Error(`${what}: not reached in time (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A Prometheus server scraping one target every second, its data in a temp directory. */
async function startPrometheus(target: string): Promise<{ query(expr: string): Promise<Sample[]>; stop(): Promise<void>; log(): string }> {
  const bin = need('prometheus');
  const dir = mkdtempSync(join(tmpdir(), 'keygate-prom-'));
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify({
    // 2 s / 1.9 s: under a loaded full suite a 900 ms scrape timeout made single scrapes fail (up=0) though /metrics was fine.
    global: { scrape_interval: '2s', scrape_timeout: '1900ms', evaluation_interval: '2s' },
    scrape_configs: [{ job_name: 'keygate', static_configs: [{ targets: [target] }] }],
  }));
  const port = await freePort();
  const proc: ChildProcess = spawn(bin, [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  proc.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const base = `http://127.0.0.1:${port}`;
  await until('prometheus ready', async () => (await request(`${base}/-/ready`)).statusCode, (s) => s === 200).catch((e: Error) => {
    proc.kill('SIGKILL');
    throw new Error(`${e.message}\n${log}`);
  });
  return {
    async query(expr) {
      const res = await request(`${base}/api/v1/query?${new URLSearchParams({ query: expr }).toString()}`);
      const body = (await res.body.json()) as { status: string; error?: string; data?: { resultType: string; result: Sample[] } };
      if (body.status !== 'success') throw new Error(`${expr}: ${body.error ?? 'query failed'}`);
      return body.data?.resultType === 'vector' ? (body.data.result ?? []) : [];
    },
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
    log: () => log,
  };
}

let redis: TestRedis;
let app: TestUpstream;
let failing: TestUpstream;
let gw: TestGateway;
let prom: Awaited<ReturnType<typeof startPrometheus>>;
let exposition = '';

beforeAll(async () => {
  redis = await startRedis();
  app = await startUpstream();
  failing = await startUpstream();
  failing.setHandler((_req, res) => {
    res.writeHead(503, { 'content-type': 'text/plain' });
    res.end('upstream is unwell');
  });
  gw = await startTestGateway(`
log: { level: silent }
admin: { token: "${TOKEN}" }
store: { redis: "${redis.url}" }
upstreams:
  app: { url: "${app.url}" }
  failing: { url: "${failing.url}" }
  down: { url: "http://127.0.0.1:1", connectTimeout: 1s }
roles:
  viewer: { actions: [application:view] }
routes:
  - { name: health, path: /health, upstream: app, public: true }
  - { name: app-read, path: "/api/applications/:appId/*", methods: [GET], upstream: app, action: application:view }
  - { name: app-edit, path: "/api/applications/:appId/*", methods: [POST], upstream: app, action: application:edit }
  - { name: bad, path: "/bad/*", upstream: failing, action: application:view }
  - { name: gone, path: "/gone/*", upstream: down, action: application:view }
`);
  const call = adminApi(gw.adminUrl, TOKEN);
  await call('POST', '/v1/principals', { name: 'metrics-bot', kind: 'service', roles: ['viewer'] });
  const { body } = await call<{ secret: string }>('POST', '/v1/keys', { principal: 'metrics-bot' });
  const send = async (path: string, secret: string | null, method = 'GET') => {
    const res = await request(`${gw.url}${path}`, { method: method as 'GET', headers: secret === null ? {} : { authorization: `Bearer ${secret}` } });
    await res.body.dump();
    return res.statusCode;
  };
  const unknown = generateSecret(); // well-formed, never issued
  const statuses = [
    await send('/api/applications/1/a', body.secret),
    await send('/api/applications/1/b', body.secret),
    await send('/api/applications/2/c', body.secret),
    await send('/api/applications/1/a', unknown),
    await send('/api/applications/1/a', unknown),
    await send('/api/applications/1/a', body.secret, 'POST'),
    await send('/nothing/here', body.secret),
    await send('/health', null),
    await send('/bad/x', body.secret),
    await send('/gone/x', body.secret),
  ];
  expect(statuses).toEqual([200, 200, 200, 401, 401, 403, 404, 200, 503, 502]);
  const res = await request(`${gw.adminUrl}/metrics`);
  exposition = await res.body.text();
  prom = await startPrometheus(`127.0.0.1:${gw.adminPort}`);
  // The first scrape that saw the last request of the script.
  await until('scraped the traffic', () => prom.query('keygate_upstream_errors_total{upstream="down"}'), (r) => r.length === 1);
  // rate() needs two samples in its window; the dashboard's queries are checked with [1m].
  await until('three scrapes', () => prom.query('count_over_time(up{job="keygate"}[1m])'), (r) => Number(r[0]?.value[1] ?? 0) >= 3);
}, 60_000);

afterAll(async () => {
  await prom?.stop();
  await gw?.close();
  await app?.close();
  await failing?.close();
  await redis?.stop();
});

/** One instant query, as `labels → value` with the target labels left out. */
async function values(expr: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const s of await prom.query(expr)) {
    const { __name__: _n, job: _j, instance: _i, ...labels } = s.metric;
    out.set(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(','), Number(s.value[1]));
  }
  return out;
}

describe('/metrics after real traffic, as Prometheus reads it', () => {
  it('promtool parses the exposition and its lint is clean, default metrics included', () => {
    const r = spawnSync(need('promtool'), ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
    // Exit 1 is a parse failure, 3 a list of lint problems (test/regressions/metrics-lint.test.ts).
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });

  it('the target is up and scraped whole', async () => {
    expect(await values('up{job="keygate"}')).toEqual(new Map([['', 1]]));
    expect([...(await values('scrape_samples_scraped{job="keygate"}')).values()][0]).toBeGreaterThan(100);
  });

  it('keygate_requests_total by route, method and status; "unmatched" for the 404', async () => {
    expect(await values('keygate_requests_total')).toEqual(new Map([
      ['method=GET,route=app-read,status=200', 3],
      ['method=GET,route=app-read,status=401', 2],
      ['method=POST,route=app-edit,status=403', 1],
      ['method=GET,route=unmatched,status=404', 1],
      ['method=GET,route=health,status=200', 1],
      ['method=GET,route=bad,status=503', 1],
      ['method=GET,route=gone,status=502', 1],
    ]));
  });

  it('keygate_auth_total: decisions on protected routes only, by credential and result', async () => {
    expect(await values('keygate_auth_total')).toEqual(new Map([
      ['credential=bearer,result=allowed,route=app-read', 3],
      ['credential=bearer,result=unauthenticated,route=app-read', 2],
      ['credential=bearer,result=forbidden,route=app-edit', 1],
      ['credential=bearer,result=allowed,route=bad', 1],
      ['credential=bearer,result=allowed,route=gone', 1],
    ]));
    expect(await values('keygate_auth_duration_seconds_count')).toEqual(new Map([['credential=bearer', 8]]));
  });

  it('histograms: cumulative buckets ending in +Inf = count, per route', async () => {
    const buckets = [...(await values('keygate_request_duration_seconds_bucket{route="app-read"}'))]
      .map(([labels, v]) => ({ le: Number(/le=([^,]+)/.exec(labels)?.[1]?.replace('+Inf', 'Infinity')), v }))
      .sort((a, b) => a.le - b.le);
    expect(buckets.length).toBeGreaterThan(10);
    expect(buckets.at(-1)).toEqual({ le: Infinity, v: 5 });
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]?.v).toBeGreaterThanOrEqual(buckets[i - 1]?.v ?? 0);
    expect(await values('keygate_request_duration_seconds_count')).toEqual(new Map([
      ['route=app-read', 5], ['route=app-edit', 1], ['route=unmatched', 1], ['route=health', 1], ['route=bad', 1], ['route=gone', 1],
    ]));
    expect(await values('keygate_upstream_duration_seconds_count')).toEqual(new Map([['upstream=app', 4], ['upstream=failing', 1], ['upstream=down', 1]]));
  });

  it('upstream errors, key store, cache, audit drops', async () => {
    expect(await values('keygate_upstream_errors_total')).toEqual(new Map([['kind=unavailable,upstream=down', 1]]));
    expect(await values('keygate_keystore_up')).toEqual(new Map([['', 1]]));
    const cache = await values('keygate_keystore_cache_total');
    // The issued key resolved from Redis once, then 5 times from the cache (the 404 never got
    // to auth); the unknown key looked up once, then answered from its negative entry.
    expect(cache.get('event=miss')).toBe(2);
    expect(cache.get('event=hit')).toBe(5);
    expect(cache.get('event=negative_hit')).toBe(1);
    expect((await values('keygate_keystore_duration_seconds_count')).size).toBeGreaterThan(0);
    expect(await values('keygate_audit_events_dropped_total')).toEqual(new Map([['reason=queue_full', 0], ['reason=rate_limited', 0], ['reason=store_error', 0]]));
    expect([...(await values('process_cpu_seconds_total')).values()][0]).toBeGreaterThan(0);
  });

  it('every dashboard and alert query evaluates on this Prometheus; the traffic panels have data', async () => {
    const failures: string[] = [];
    const empty: string[] = [];
    for (const { where, expr } of allExprs) {
      try {
        if ((await prom.query(expr)).length === 0) empty.push(where);
      } catch (e) {
        failures.push(`${where}: ${(e as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
    for (const title of ['Requests/s by route', 'Requests/s by status', 'Auth decisions/s by result', 'Key store up by instance', 'Key cache events/s', 'Upstream errors/s by kind', 'Resident memory']) {
      expect(empty, title).not.toContain(`dashboard panel "${title}"`);
    }
  });
});

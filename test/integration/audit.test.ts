/**
 * The audit trail end to end: a scripted session of admin writes and proxied requests, read
 * back through GET /v1/audit (JSON and CSV) and `keygate audit`, complete and in order; key
 * usage through GET /v1/keys/{id}/usage, `keygate keys usage` and `keys list`. Redis store,
 * then the embedded store.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { request } from 'undici';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { adminApi } from '../helpers/admin.ts';
import { runCli } from '../helpers/cli.ts';
import { generateSecret } from '../../src/credentials/key-format.ts';
import { CSV_COLUMNS } from '../../src/audit/csv.ts';
import type { StoredAuditEvent } from '../../src/audit/event.ts';

const TOKEN = 'admin-token-for-audit-tests-012345';

function yaml(store: string): string {
  return `
log: { level: silent }
admin: { token: "${TOKEN}" }
${store}
audit: { flushInterval: 20ms }
credentials: { query: { enabled: true } }
upstreams: { app: { url: "${up.url}" } }
roles:
  viewer: { actions: [application:view] }
routes:
  - { name: health, path: /health, upstream: app, public: true }
  - { name: app-read, path: "/api/applications/:appId/*", methods: [GET], upstream: app, action: application:view, credentials: [bearer, query] }
  - { name: app-edit, path: "/api/applications/:appId/*", methods: [POST], upstream: app, action: application:edit }
`;
}

let up: TestUpstream;
let redis: TestRedis;

/** Python's csv module: an independent RFC 4180 reader. */
function parseCsv(text: string): string[][] {
  const r = spawnSync('python3', ['-c', 'import csv,sys,json; print(json.dumps(list(csv.reader(sys.stdin, strict=True))))'], { input: text, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as string[][];
}

/** An event as CSV cells, for comparing the CSV export with the JSON one. */
function asCells(e: StoredAuditEvent): string[] {
  return CSV_COLUMNS.map((c) => {
    const v = e[c];
    return v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface Session {
  gw: TestGateway;
  call: ReturnType<typeof adminApi>;
  keyId: string;
  secrets: string[];
  /** What the trail must hold, oldest first: [kind, requestId or action, decision, reason, status]. */
  expected: [string, string, string, string | null, number | null][];
}

/** The scripted session: admin writes and requests, each of which the trail must show. */
async function runSession(gw: TestGateway): Promise<Session> {
  const call = adminApi(gw.adminUrl, TOKEN);
  const expected: Session['expected'] = [];
  const send = async (id: string, path: string, secret: string | null, method = 'GET', where: 'header' | 'query' = 'header') => {
    const headers: Record<string, string> = { 'x-request-id': id };
    if (secret !== null && where === 'header') headers['authorization'] = `Bearer ${secret}`;
    const q = secret !== null && where === 'query' ? `?apiKey=${secret}` : '';
    const res = await request(`${gw.url}${path}${q}`, { method: method as 'GET', headers });
    await res.body.dump();
    return res.statusCode;
  };

  const p = await call<{ id: string }>('POST', '/v1/principals', { name: 'auditee', kind: 'service', roles: ['viewer'] });
  expected.push(['admin', 'principal.create', 'allowed', null, null]);
  const k = await call<{ key: { id: string }; secret: string }>('POST', '/v1/keys', { principal: 'auditee', name: 'ci' });
  expected.push(['admin', 'key.create', 'allowed', null, null]);
  const unknown = generateSecret();
  const script: [string, string, string | null, string, 'header' | 'query', number, string, string | null][] = [
    ['s-allowed', '/api/applications/1/x', k.body.secret, 'GET', 'header', 200, 'allowed', null],
    ['s-unknown', '/api/applications/1/x', unknown, 'GET', 'header', 401, 'denied', 'invalid_key'],
    ['s-forbidden', '/api/applications/1/x', k.body.secret, 'POST', 'header', 403, 'denied', 'forbidden'],
    ['s-none', '/api/applications/2/y', null, 'GET', 'header', 401, 'denied', 'missing_credentials'],
    ['s-public', '/health', null, 'GET', 'header', 200, '-', null], // not audited
    ['s-404', '/nowhere', k.body.secret, 'GET', 'header', 404, '-', null], // not audited
    ['s-query', '/api/applications/3/z', k.body.secret, 'GET', 'query', 200, 'allowed', null],
  ];
  for (const [id, path, secret, method, where, status, decision, reason] of script) {
    expect(await send(id, path, secret, method, where), id).toBe(status);
    if (decision !== '-') expected.push(['request', id, decision, reason, status]);
  }
  await call('POST', `/v1/keys/${k.body.key.id}/expire`);
  expected.push(['admin', 'key.expire', 'allowed', null, null]);
  expect(await send('s-expired', '/api/applications/1/x', k.body.secret)).toBe(401);
  expected.push(['request', 's-expired', 'denied', 'key_expired', 401]);
  void p;
  return { gw, call, keyId: k.body.key.id, secrets: [k.body.secret, unknown], expected };
}

/** Every event of the trail through the API, following cursors; newest first. */
async function readAll(s: Session, query: string, limit = 3): Promise<{ items: StoredAuditEvent[]; pages: number }> {
  const items: StoredAuditEvent[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const r: { status: number; body: { items: StoredAuditEvent[]; nextCursor: string | null } } =
      await s.call('GET', `/v1/audit?${query}&limit=${limit}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
    expect(r.status).toBe(200);
    items.push(...r.body.items);
    cursor = r.body.nextCursor;
    pages++;
  } while (cursor !== null && pages < 1000);
  return { items, pages };
}

const summary = (e: StoredAuditEvent) => [e.kind, e.kind === 'admin' ? e.action : e.requestId, e.decision, e.reason, e.status];

function sessionTests(name: string, start: () => Promise<TestGateway>): void {
  describe(name, () => {
    let s: Session;
    beforeAll(async () => {
      s = await runSession(await start());
      // Written asynchronously: wait until the last event of the script is readable.
      await until(async () => (await s.call<{ items: StoredAuditEvent[] }>('GET', '/v1/audit?limit=1')).body.items[0]?.requestId === 's-expired');
    });
    afterAll(async () => {
      await s?.gw.close();
    });

    it('holds every decision and admin write of the session, complete and in order (newest first)', async () => {
      const { items, pages } = await readAll(s, 'since=10m');
      expect(pages).toBe(3); // 9 events, 3 per page
      expect(items.map(summary)).toEqual([...s.expected].reverse());
      const allowed = items.find((e) => e.requestId === 's-allowed');
      expect(allowed).toMatchObject({
        kind: 'request', principalName: 'auditee', keyId: s.keyId, credential: 'bearer', route: 'app-read', method: 'GET',
        path: '/api/applications/1/x', status: 200, decision: 'allowed', reason: null, client: '127.0.0.1', action: null,
      });
      expect(allowed?.latencyMs).toBeGreaterThan(0);
      expect(Date.now() - Date.parse(allowed?.time ?? '')).toBeLessThan(60_000);
      expect(items.find((e) => e.requestId === 's-query')).toMatchObject({ credential: 'query', path: '/api/applications/3/z' });
      expect(items.find((e) => e.action === 'key.create')).toMatchObject({ kind: 'admin', principalName: 'admin-token', target: s.keyId });
    });

    it('never holds a secret (not even from ?apiKey=)', async () => {
      const { items } = await readAll(s, 'since=10m', 1000);
      const text = JSON.stringify(items);
      for (const secret of s.secrets) expect(text).not.toContain(secret);
      expect(text).not.toContain('apiKey');
    });

    it('filters: principal by name or id, key, route, decision, kind', async () => {
      const ids = async (q: string) => (await readAll(s, q, 1000)).items.map((e) => e.requestId);
      // s-expired is the same key, refused after it expired: the refusal keeps its key and principal (issue 10, item 18).
      expect(await ids('principal=auditee')).toEqual(['s-expired', 's-query', 's-forbidden', 's-allowed']);
      const principalId = (await s.call<{ id: string }>('GET', '/v1/principals/auditee')).body.id;
      expect(await ids(`principal=${principalId}`)).toEqual(['s-expired', 's-query', 's-forbidden', 's-allowed']);
      expect(await ids(`key=${s.keyId}&kind=request`)).toEqual(['s-expired', 's-query', 's-forbidden', 's-allowed']);
      expect(await ids('decision=denied')).toEqual(['s-expired', 's-none', 's-forbidden', 's-unknown']);
      expect(await ids('route=app-edit')).toEqual(['s-forbidden']);
      expect((await readAll(s, 'kind=admin', 1000)).items.map((e) => e.action)).toEqual(['key.expire', 'key.create', 'principal.create']);
      expect((await readAll(s, `until=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`, 1000)).items).toEqual([]);
    });

    it('refuses bad parameters with the field', async () => {
      for (const [q, field] of [['since=yesterday', 'since'], ['limit=5000', 'limit'], ['decision=maybe', 'decision'], ['cursor=bogus', 'cursor'], ['format=xml', 'format']]) {
        const r = await s.call<{ error: { code: string; field: string } }>('GET', `/v1/audit?${q}`);
        expect([r.status, r.body.error.code, r.body.error.field], q).toEqual([400, 'invalid_input', field]);
      }
    });

    it('CSV with format=csv or Accept: text/csv: the same events, RFC 4180, a Link to the next page', async () => {
      const json = (await readAll(s, 'since=10m', 1000)).items;
      const byFormat = await request(`${s.gw.adminUrl}/v1/audit?since=10m&format=csv&limit=1000`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(byFormat.headers['content-type']).toBe('text/csv; charset=utf-8; header=present');
      const rows = parseCsv(await byFormat.body.text());
      expect(rows[0]).toEqual([...CSV_COLUMNS]);
      expect(rows.slice(1)).toEqual(json.map(asCells));

      const byAccept = await request(`${s.gw.adminUrl}/v1/audit?since=10m&limit=2`, { headers: { authorization: `Bearer ${TOKEN}`, accept: 'text/csv' } });
      expect(byAccept.statusCode).toBe(200);
      expect(parseCsv(await byAccept.body.text()).slice(1)).toEqual(json.slice(0, 2).map(asCells));
      const link = String(byAccept.headers['link']);
      const next = /^<(\/v1\/audit\?[^>]+)>; rel="next"$/.exec(link)?.[1];
      expect(next).toBeDefined();
      const page2 = await request(`${s.gw.adminUrl}${next}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(parseCsv(await page2.body.text()).slice(1)).toEqual(json.slice(2, 4).map(asCells));
    });

    it('keygate audit: follows the pages; csv, json and table', async () => {
      const env = { KEYGATE_ADMIN_URL: s.gw.adminUrl, KEYGATE_ADMIN_TOKEN: TOKEN };
      const json = (await readAll(s, 'since=10m', 1000)).items;
      const csv = await runCli(['audit', '--since', '10m', '--format', 'csv'], { env });
      expect(csv.code, csv.stderr).toBe(0);
      expect(parseCsv(csv.stdout)).toEqual([[...CSV_COLUMNS], ...json.map(asCells)]);
      const mine = await runCli(['audit', '--principal', 'auditee', '--since', '24h', '--format', 'json'], { env });
      expect(mine.code, mine.stderr).toBe(0);
      expect((JSON.parse(mine.stdout) as StoredAuditEvent[]).map((e) => e.requestId)).toEqual(['s-expired', 's-query', 's-forbidden', 's-allowed']);
      const two = await runCli(['audit', '--decision', 'denied', '--limit', '2', '--json'], { env });
      expect((JSON.parse(two.stdout) as StoredAuditEvent[]).map((e) => e.requestId)).toEqual(['s-expired', 's-none']);
      const table = await runCli(['audit', '--route', 'app-edit'], { env });
      expect(table.stdout).toMatch(/^TIME +DECISION +REASON +STATUS +PRINCIPAL/);
      expect(table.stdout).toContain('forbidden');
      const bad = await runCli(['audit', '--format', 'xml'], { env });
      expect(bad.code).toBe(2);
      const refused = await runCli(['audit', '--since', 'yesterday'], { env });
      expect([refused.code, refused.stderr.trim()]).toEqual([4, 'keygate: 400 invalid_input: since: an ISO 8601 time with a zone (2026-05-01T12:00:00Z) or a duration ago (24h, 30m, 7d)']);
    });

    it('usage: per-day counts of the key, in the API, keys usage and keys list', async () => {
      const today = new Date().toISOString().slice(0, 10);
      // s-allowed, s-forbidden, s-query authenticated with the key (the 404 never reached auth; after expiry it is refused before).
      const r = await s.call<{ keyId: string; days: { date: string; count: number }[]; total: number }>('GET', `/v1/keys/${s.keyId}/usage?days=7`);
      expect(r.status).toBe(200);
      expect(r.body.days).toHaveLength(7);
      expect(r.body.days.at(-1)).toEqual({ date: today, count: 3 });
      expect(r.body.total).toBe(3);
      expect((await s.call('GET', '/v1/keys/key_nope/usage')).status).toBe(404);
      expect((await s.call('GET', `/v1/keys/${s.keyId}/usage?days=0`)).status).toBe(400);
      const list = await s.call<{ items: { id: string; requests7d: number | null }[] }>('GET', '/v1/keys?principal=auditee');
      expect(list.body.items.find((k) => k.id === s.keyId)?.requests7d).toBe(3);

      const env = { KEYGATE_ADMIN_URL: s.gw.adminUrl, KEYGATE_ADMIN_TOKEN: TOKEN };
      const cli = await runCli(['keys', 'usage', s.keyId, '--days', '2'], { env });
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.stdout.split('\n')[0]).toMatch(/^DATE +REQUESTS$/);
      expect(cli.stdout).toMatch(new RegExp(`${today} +3\\n`));
      expect(cli.stdout).toMatch(/total +3\n/);
      const listed = await runCli(['keys', 'list', '--principal', 'auditee'], { env });
      expect(listed.stdout.split('\n')[0]).toContain('7D REQUESTS');
    });

    it('is described in the OpenAPI document, CSV included', async () => {
      const doc = (await s.call<{ paths: Record<string, { get?: { responses: Record<string, { content: Record<string, unknown> }> } }> }>('GET', '/v1/openapi.json')).body;
      expect(Object.keys(doc.paths['/v1/audit']?.get?.responses['200']?.content ?? {})).toEqual(['application/json', 'text/csv']);
      expect(doc.paths['/v1/keys/{id}/usage']?.get).toBeDefined();
    });
  });
}

beforeAll(async () => {
  up = await startUpstream();
  redis = await startRedis();
});
afterAll(async () => {
  await up?.close();
  await redis?.stop();
});

sessionTests('audit trail on the Redis store (a stream)', () => startTestGateway(yaml(`store: { redis: "${redis.url}", prefix: audit-e2e }`)));
sessionTests('audit trail on the embedded store (a ring)', () => startTestGateway(yaml('')));

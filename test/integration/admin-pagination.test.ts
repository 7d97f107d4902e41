/**
 * Cursor pagination of GET /v1/principals, /v1/keys and /v1/groups over the real admin API, and the CLI
 * listing everything by following the cursors (issue 11, item 6). The stores' page semantics
 * (id order, concurrent inserts and deletes) are in test/contract/keystore.contract.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryKeyStore } from '../../src/keystore/memory-store.ts';
import type { KeyRecord, PrincipalRecord } from '../../src/keystore/types.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { adminApi } from '../helpers/admin.ts';
import { runCli } from '../helpers/cli.ts';

const TOKEN = 'pagination-admin-token-0123456789ab';
const PRINCIPALS = 1005; // more than one page at the maximum limit, so the CLI must follow a cursor
let gw: TestGateway;
let call: ReturnType<typeof adminApi>;
type Rec = Record<string, unknown>;
interface Page { items: Rec[]; nextCursor: string | null }

const principal = (i: number): PrincipalRecord => ({
  // Ids and names in opposite orders: the API pages by id, the CLI shows by name.
  id: `p_${String(i).padStart(4, '0')}`, name: `n${String(PRINCIPALS - i).padStart(4, '0')}`, kind: 'service', roles: [], groups: [],
  disabled: false, createdAt: new Date(Date.UTC(2030, 0, 1) + i), metadata: {}, source: 'api',
});

const GROUPS = 1003;
// Written in reverse so the store's insertion order is not the name order the API pages in.
const group = (i: number) => ({ name: `g-${String(GROUPS - 1 - i).padStart(4, '0')}`, roles: [], resources: { application: [`app-${i}`] }, createdAt: new Date(Date.UTC(2030, 0, 1)) });

beforeAll(async () => {
  const store = new MemoryKeyStore();
  for (let i = 0; i < PRINCIPALS; i++) await store.createPrincipal(principal(i));
  for (let i = 0; i < GROUPS; i++) await store.putGroup(group(i), { create: true });
  const t = Date.now();
  for (let i = 0; i < 30; i++) {
    const k: KeyRecord = {
      id: `key_${String(29 - i).padStart(2, '0')}`, principalId: 'p_0007', hash: String(i).padStart(64, 'b'), prefix: 'kg_x',
      createdAt: new Date(t - 60_000 + i), type: 'api_key', ...(i % 2 === 0 ? { expiresAt: new Date(t - 1000) } : {}),
    };
    await store.createKey(k, { maxLive: 1000, now: new Date(t) });
  }
  gw = await startTestGateway(`
admin: { token: "${TOKEN}" }
upstreams: { app: { url: "http://127.0.0.1:9" } }
routes: [{ name: app, path: "/*", upstream: app, action: app:use }]
`, { store });
  call = adminApi(gw.adminUrl, TOKEN);
});
afterAll(async () => {
  await gw?.close();
});

/** Every page from `cursor` (default: the start) to the end. */
async function everyPage(path: string, from: string | null = null): Promise<Page[]> {
  const pages: Page[] = [];
  let cursor = from;
  for (let n = 0; n < 100; n++) {
    const sep = path.includes('?') ? '&' : '?';
    const r: { status: number; body: Page } = await call<Page>('GET', `${path}${cursor === null ? '' : `${sep}cursor=${cursor}`}`);
    expect(r.status).toBe(200);
    pages.push(r.body);
    cursor = r.body.nextCursor;
    if (cursor === null) return pages;
  }
  throw new Error(`${path}: no last page after 100`);
}

describe('GET /v1/principals pages', () => {
  it('100 a page by default, in id order, each principal once, nextCursor null on the last', async () => {
    const pages = await everyPage('/v1/principals');
    expect(pages.map((p) => p.items.length)).toEqual([...Array(10).fill(100), 5]);
    const ids = pages.flatMap((p) => p.items.map((i) => i['id']));
    expect(ids).toEqual(Array.from({ length: PRINCIPALS }, (_, i) => principal(i).id));
    expect(pages.at(-1)?.nextCursor).toBeNull();
  });

  it('the cursor is opaque base64url; limit up to 1000', async () => {
    const first = (await call<Page>('GET', '/v1/principals?limit=1000')).body;
    expect(first.items).toHaveLength(1000);
    expect(first.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const rest = (await call<Page>('GET', `/v1/principals?limit=1000&cursor=${first.nextCursor}`)).body;
    expect([rest.items.length, rest.nextCursor]).toEqual([5, null]);
  });

  it('principals created between pages do not shift the others', async () => {
    const first = (await call<Page>('GET', '/v1/principals?limit=500')).body;
    // Random ids (p_<uuid>): some sort before the cursor, some after.
    for (let i = 0; i < 20; i++) expect((await call('POST', '/v1/principals', { name: `late-${i}`, kind: 'user' })).status).toBe(201);
    const rest = await everyPage('/v1/principals?limit=500', first.nextCursor);
    const ids = [...first.items, ...rest.flatMap((p) => p.items)].map((i) => i['id'] as string);
    expect(new Set(ids).size).toBe(ids.length);
    const got = new Set(ids);
    expect(Array.from({ length: PRINCIPALS }, (_, i) => principal(i).id).filter((id) => !got.has(id))).toEqual([]);
    expect(ids).toEqual([...ids].sort());
    expect(ids.length).toBeGreaterThan(PRINCIPALS); // some of the late ones sorted after the cursor
  });
});

describe('GET /v1/groups pages (by name: a group\'s name is its id)', () => {
  it('100 a page by default, in name order, each group once, nextCursor null on the last', async () => {
    const pages = await everyPage('/v1/groups');
    expect(pages.map((p) => p.items.length)).toEqual([...Array(10).fill(100), 3]);
    const names = pages.flatMap((p) => p.items.map((g) => g['name'] as string));
    expect(names).toEqual(Array.from({ length: GROUPS }, (_, i) => `g-${String(i).padStart(4, '0')}`));
    expect(pages[0]?.items[0]).toEqual({ name: 'g-0000', roles: [], resources: { application: [`app-${GROUPS - 1}`] }, createdAt: '2030-01-01T00:00:00.000Z' });
  });

  it('limit 1 to 1000, an opaque cursor, and groups created between pages do not shift the others', async () => {
    const first = (await call<Page>('GET', '/v1/groups?limit=1000')).body;
    expect(first.items).toHaveLength(1000);
    expect(first.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect((await call('POST', '/v1/groups', { name: 'a-late' })).status).toBe(201); // sorts before the cursor
    expect((await call('POST', '/v1/groups', { name: 'z-late' })).status).toBe(201); // after it
    const rest = (await call<Page>('GET', `/v1/groups?limit=1000&cursor=${first.nextCursor}`)).body;
    expect([rest.items.map((g) => g['name']), rest.nextCursor]).toEqual([['g-1000', 'g-1001', 'g-1002', 'z-late'], null]);
    expect((await call<Page>('GET', '/v1/groups?limit=1')).body.items.map((g) => g['name'])).toEqual(['a-late']);
    for (const q of ['limit=0', 'limit=1001', 'cursor=%21']) {
      const r = await call<{ error: { code: string; field: string } }>('GET', `/v1/groups?${q}`);
      expect([r.status, r.body.error.code, r.body.error.field], q).toEqual([400, 'invalid_input', q.split('=')[0]]);
    }
    expect((await call('DELETE', '/v1/groups/a-late')).status).toBe(204);
    expect((await call('DELETE', '/v1/groups/z-late')).status).toBe(204);
  });
});

describe('GET /v1/keys pages', () => {
  it('a status filter fills each page until the keys run out', async () => {
    const pages = await everyPage('/v1/keys?principal=p_0007&status=expired&limit=4');
    expect(pages.map((p) => p.items.length)).toEqual([4, 4, 4, 3]);
    const items = pages.flatMap((p) => p.items);
    expect(items.every((k) => k['status'] === 'expired')).toBe(true);
    expect(items.map((k) => k['id'])).toEqual([...items.map((k) => k['id'] as string)].sort());
    expect(items).toHaveLength(15);
  });

  it('unusedFor filters across pages too', async () => {
    // The 30 keys were created a minute ago and never used.
    const idle = (await everyPage('/v1/keys?principal=p_0007&unusedFor=30s&limit=8')).flatMap((p) => p.items);
    expect(idle).toHaveLength(30);
    expect(await everyPage('/v1/keys?principal=p_0007&unusedFor=1d&limit=8')).toEqual([{ items: [], nextCursor: null }]);
  });

  it('every key of every principal, by id', async () => {
    const items = (await everyPage('/v1/keys?limit=7')).flatMap((p) => p.items);
    expect(items.map((k) => k['id'])).toEqual(Array.from({ length: 30 }, (_, i) => `key_${String(i).padStart(2, '0')}`));
  });
});

describe('the CLI follows the cursors', () => {
  const env = () => ({ KEYGATE_ADMIN_URL: gw.adminUrl, KEYGATE_ADMIN_TOKEN: TOKEN });

  it('principals list shows every principal (more than one page of 1000), by name', async () => {
    const r = await runCli(['principals', 'list', '--json'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const names = (JSON.parse(r.stdout) as { items: Rec[] }).items.map((p) => p['name'] as string);
    expect(names.length).toBeGreaterThanOrEqual(PRINCIPALS);
    expect(names).toEqual([...names].sort());
    for (const i of [0, 999, 1000, PRINCIPALS - 1]) expect(names).toContain(principal(i).name);
  });

  it('groups list shows every group (more than one page of 1000), by name, as { items }', async () => {
    const r = await runCli(['groups', 'list', '--json'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout) as Rec;
    expect(Object.keys(body)).toEqual(['items']); // the shape scripts read before groups were paged
    const names = (body['items'] as Rec[]).map((g) => g['name'] as string);
    expect(names).toEqual(Array.from({ length: GROUPS }, (_, i) => `g-${String(i).padStart(4, '0')}`));
    const table = await runCli(['groups', 'list'], { env: env() });
    expect(table.stdout).toContain('g-1002');
    expect(table.stdout).toContain('application:app-0');
  });

  it('keys list shows every key oldest first; keys update changes and clears the expiry', async () => {
    const r = await runCli(['keys', 'list', '--principal', 'n0998', '--json'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const ids = (JSON.parse(r.stdout) as { items: Rec[] }).items.map((k) => k['id']);
    expect(ids).toEqual(Array.from({ length: 30 }, (_, i) => `key_${String(29 - i).padStart(2, '0')}`));
    const active = 'key_28'; // i = 1: no expiry
    const set = await runCli(['keys', 'update', active, '--expires-in', '2d', '--json'], { env: env() });
    expect(set.code, set.stderr).toBe(0);
    expect(Date.parse((JSON.parse(set.stdout) as Rec)['expiresAt'] as string) - Date.now()).toBeGreaterThan(86_400_000);
    const cleared = await runCli(['keys', 'update', active, '--no-expiry', '--json'], { env: env() });
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(JSON.parse(cleared.stdout)).not.toHaveProperty('expiresAt');
    const both = await runCli(['keys', 'update', active, '--no-expiry', '--expires-in', '1d'], { env: env() });
    expect(both.code).not.toBe(0);
    expect(both.stderr).toContain('one of --expires-in, --expires-at, --no-expiry');
  });
});
